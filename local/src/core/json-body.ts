import { AwsError } from './respond';
import type { TwinRequest } from './router';

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
