import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { realClock, type Clock } from './poll';

type SdkError = Parameters<typeof isThrottlingError>[0];

/** Throttling, 5xx and network errors: worth another try. Everything else is permanent. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as SdkError;
  return isThrottlingError(e) || isTransientError(e) || isServerError(e) || isNetworkError(error);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);
function isNetworkError(error: Error): boolean {
  const code = (error as { code?: string }).code ?? (error.cause as { code?: string } | undefined)?.code;
  return !!code && NETWORK_CODES.has(code);
}

export interface RetryOptions {
  /** Total time budget across all attempts, sleeps included. */
  totalMs: number;
  /** First backoff; doubles per attempt with full jitter. */
  baseMs?: number;
  clock?: Clock;
  random?: () => number;
  /** Which errors to retry (default: isRetryable). */
  retryable?: (error: unknown) => boolean;
  onRetry?: (attempt: number, error: unknown, delayMs: number) => void;
}

/** Run `fn`, retrying only retryable errors with jittered exponential backoff, within a total time bound. */
export async function withRetries<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const base = options.baseMs ?? 200;
  const deadline = clock.now() + options.totalMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!(options.retryable ?? isRetryable)(error)) throw error;
      const delay = Math.round(random() * base * 2 ** (attempt - 1));
      if (clock.now() + delay >= deadline) throw error;
      options.onRetry?.(attempt, error, delay);
      await clock.sleep(delay);
    }
  }
}
