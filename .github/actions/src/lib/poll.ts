/** Time source for waits, so long-running steps stay testable with tiny intervals. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class TimeoutError extends Error {}

export interface PollOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Longest pause between two checks; the first checks come sooner (250 ms, doubling). */
  intervalMs: number;
  clock?: Clock;
  /** What is being waited for, for the timeout message. */
  what: string;
}

/**
 * Call `check` until it returns a value (not undefined). Intervals start short and double up to
 * `intervalMs`, so fast transitions are seen quickly and slow ones are not polled too often.
 */
export async function pollUntil<T>(check: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.timeoutMs;
  let wait = Math.min(250, options.intervalMs);
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    const left = deadline - clock.now();
    if (left <= 0) {
      throw new TimeoutError(
        `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${options.what}`,
      );
    }
    await clock.sleep(Math.min(wait, left));
    wait = Math.min(wait * 2, options.intervalMs);
  }
}
