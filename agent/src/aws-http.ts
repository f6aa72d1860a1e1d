import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * HTTP/1.1 with keep-alive for the agent's AWS clients, one pool per client.
 * The Bedrock runtime client defaults to HTTP/2 with one connection per call (the SDK isolates each
 * event stream, for InvokeModelWithBidirectionalStream, which the agent does not use): every answer
 * and every background call then paid for a new connection. ConverseStream, Converse and
 * ApplyGuardrail stream over HTTP/1.1 (chunked responses), so pooled sockets are reused instead.
 */
export function keepAliveHandler(): NodeHttpHandler {
  const agent = { keepAlive: true, maxSockets: 50 };
  return new NodeHttpHandler({ httpAgent: new HttpAgent(agent), httpsAgent: new HttpsAgent(agent) });
}
