import { pino, type Logger } from 'pino';
import { stdoutLines } from './output';

export type { Logger } from 'pino';

/**
 * JSON lines on stdout; the runtime ships them to CloudWatch Logs. A failing stdout never stops the
 * agent (see output.ts); `logger.flush(cb)` calls back once the lines reached stdout's reader.
 */
export function createLogger(
  level: string,
  environment: string,
  destination: pino.DestinationStream = stdoutLines(),
): Logger {
  return pino(
    {
      level,
      base: { service: 'agent', environment },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Credentials must never reach a log line.
      redact: {
        paths: ['authorization', 'headers.authorization', '*.authorization', 'token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
