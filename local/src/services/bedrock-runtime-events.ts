import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const str = (value: string) => ({ type: 'string' as const, value });

/** One `application/vnd.amazon.eventstream` event frame: `{ <eventType>: payload }` once the SDK parses it. */
export function eventFrame(eventType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': str('event'),
      ':event-type': str(eventType),
      ':content-type': str('application/json'),
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

/** A modeled exception frame (`throttlingException`, …): the SDK throws it as a typed error from `for await`. */
export function exceptionFrame(exceptionType: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': str('exception'),
      ':exception-type': str(exceptionType),
      ':content-type': str('application/json'),
    },
    body: fromUtf8(JSON.stringify({ message })),
  });
}
