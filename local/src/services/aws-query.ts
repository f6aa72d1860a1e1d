import { randomUUID } from 'node:crypto';
import { xmlEscape } from '../core/respond';
import type { TwinResponse } from '../core/router';

/**
 * The awsQuery protocol (CloudFormation, IAM, STS): the request is a form whose keys flatten the input
 * (`Parameters.member.1.ParameterKey=...`), the answer is XML where lists are `<member>` elements.
 * https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
 */
export function parseQueryInput(body: Buffer): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
    if (key === 'Action' || key === 'Version') continue;
    const parts = key.split('.');
    let node: Record<string, unknown> = root;
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const part = parts[i];
      // `X.member.N` is element N of list X (1-based); `X.entry.N.key/value` would be a map.
      if (parts[i + 1] === 'member' && i + 2 < parts.length) {
        const list = (node[part] ??= []) as unknown[];
        const index = Number(parts[i + 2]) - 1;
        if (i + 2 === parts.length - 1) {
          list[index] = value;
          break;
        }
        node = (list[index] ??= {}) as Record<string, unknown>;
        i += 2;
        continue;
      }
      if (last) node[part] = value;
      else node = (node[part] ??= {}) as Record<string, unknown>;
    }
  }
  return root;
}

/** An XML element for each member; arrays become `<member>` lists, Dates ISO 8601, booleans true/false. */
export function toXml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => `<member>${toXml(v)}</member>`).join('');
  if (typeof value === 'object')
    return Object.entries(value)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join('');
  return xmlEscape(String(value));
}

export function sendQueryResult(res: TwinResponse, action: string, namespace: string, result: unknown) {
  const text =
    `<${action}Response xmlns="${namespace}"><${action}Result>${toXml(result)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
  res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
