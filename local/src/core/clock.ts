/**
 * The twin's sense of time. It runs with the wall clock, and a test (or `twin.clock.advance`) can
 * move it forward to reach what AWS does after days, such as expiring inactive runtime versions
 * after 45 days, without waiting. Every status transition reads this clock.
 */
export class TwinClock {
  private offsetMs = 0;

  /** Epoch milliseconds, wall clock plus whatever was advanced. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }

  /** Move time forward by `ms` (never backwards: AWS's clocks do not rewind). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new Error(`clock.advance needs a non-negative number of ms, got ${ms}`);
    this.offsetMs += ms;
  }
}
