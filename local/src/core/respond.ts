import type { TwinResponse } from './router';

/** Errors a handler throws to answer in its service's wire protocol. */
export class AwsError extends Error {
  /** The awsQuery code an awsQueryCompatible service sends in `x-amzn-query-error`, when it differs from `code`. */
  queryCode?: string;
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Members the error shape adds besides `message` (e.g. ValidationException `reason`, `fieldList`). */
    readonly members: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: TwinResponse, status: number, body: unknown, contentType = 'application/json') {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** restJson1 (AgentCore, Bedrock Runtime): the code travels in `x-amzn-errortype`. */
export function sendRestJsonError(res: TwinResponse, err: AwsError) {
  const text = JSON.stringify({ message: err.message, ...err.members });
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'x-amzn-errortype': `${err.code}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** awsJson1_0 / 1_1 (ECR, CloudWatch): the code travels in `__type`. */
export function sendAwsJsonError(
  res: TwinResponse,
  err: AwsError,
  contentType: string,
  queryCompatible = false,
) {
  const text = JSON.stringify({ __type: err.code, message: err.message, ...err.members });
  const headers: Record<string, string | number> = {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
  };
  if (queryCompatible)
    headers['x-amzn-query-error'] =
      `${err.queryCode ?? err.code};${err.status >= 500 ? 'Receiver' : 'Sender'}`;
  res.writeHead(err.status, headers);
  res.end(text);
}

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/** awsQuery (STS): XML error document. */
export function sendQueryError(res: TwinResponse, err: AwsError) {
  const text =
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${err.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
    `<Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error>` +
    `<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`;
  res.writeHead(err.status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export { xmlEscape };
