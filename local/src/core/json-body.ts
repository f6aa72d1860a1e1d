import { AwsError, sendJson } from './respond';
import type { Router, TwinRequest } from './router';

/** The request body as JSON (`{}` when empty); malformed JSON is the SDK's SerializationException. */
export function jsonBody<T = Record<string, unknown>>(req: TwinRequest): T {
  const text = req.body.toString('utf8').trim();
  if (!text) return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new AwsError(
      'SerializationException',
      `The request body is not valid JSON: ${(e as Error).message}`,
    );
  }
}

/**
 * Registers the operations of an awsJson service: `op('PutImage', (input) => output)` answers
 * `x-amz-target: <prefix>.PutImage` with the returned object (`{}` for nothing) as `contentType`.
 */
export function jsonOperations<I>(router: Router, prefix: string, contentType: string) {
  return (name: string, fn: (input: I) => unknown) =>
    router.target(`${prefix}.${name}`, (req, res) =>
      sendJson(res, 200, fn(jsonBody<I>(req)) ?? {}, contentType),
    );
}
