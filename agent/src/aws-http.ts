import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** How long a client waits for a TCP (and TLS) connection, and for any byte once connected. */
export interface HttpTimeouts {
  connectMs: number;
  /**
   * Socket inactivity, not a total: the timer restarts with every byte, so a long answer streaming
   * its tokens is never cut, while an endpoint that accepts and then says nothing fails the call.
   */
  idleMs: number;
}

/**
 * HTTP/1.1 with keep-alive for the agent's AWS clients, one pool per client.
 * The Bedrock runtime client defaults to HTTP/2 with one connection per call (the SDK isolates each
 * event stream, for InvokeModelWithBidirectionalStream, which the agent does not use): every answer
 * and every background call then paid for a new connection. ConverseStream, Converse and
 * ApplyGuardrail stream over HTTP/1.1 (chunked responses), so pooled sockets are reused instead.
 *
 * Without timeouts the SDK waits forever (its default `connectionTimeout`, `socketTimeout` and
 * `requestTimeout` are all 0): a failed call is retried by the client's own policy instead.
 * @smithy/node-http-handler's `socketTimeout` is the inactivity timer (`socket.setTimeout`, for the
 * whole response, body included); `requestTimeout` would only bound the wait for the response headers
 * and, without `throwOnRequestTimeout`, only warns.
 */
export function keepAliveHandler(timeouts: HttpTimeouts): NodeHttpHandler {
  // No cap on sockets (Node's default): an answer holds its socket for the whole stream, so with a cap
  // the next answers would queue behind the longest ones and wait for a socket before their first token.
  // Idle ones are kept (maxFreeSockets, 256) and reused.
  const agent = { keepAlive: true, maxSockets: Infinity };
  return new NodeHttpHandler({
    httpAgent: new HttpAgent(agent),
    httpsAgent: new HttpsAgent(agent),
    connectionTimeout: timeouts.connectMs,
    socketTimeout: timeouts.idleMs,
  });
}

/** What warming needs of an SDK v3 client: its resolved config's memoised providers. */
interface ResolvableClient {
  config: { credentials: () => Promise<unknown>; region: () => Promise<string> };
}

/**
 * Resolve a client's credentials and region now, without sending a request: the providers are
 * memoised (credentials until they near expiry), so the first real call signs at once. On a fresh
 * microVM the default chain fetches the role's credentials over HTTP, which otherwise lands on the
 * first request's time budget. Rejects with the provider's error (the first real call would meet it too).
 */
export async function warmUp(client: ResolvableClient): Promise<void> {
  await Promise.all([client.config.credentials(), client.config.region()]);
}
