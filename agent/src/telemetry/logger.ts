import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** JSON lines on stdout; the runtime ships them to CloudWatch Logs. */
export function createLogger(
  level: string,
  environment: string,
  destination?: pino.DestinationStream,
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
