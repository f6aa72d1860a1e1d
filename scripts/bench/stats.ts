/** Order statistics over samples (nearest-rank percentiles: no interpolation between samples). */
export function percentile(samples: number[], p: number): number {
  if (!samples.length) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export const median = (samples: number[]) => percentile(samples, 50);

/** Round for reports: 0.1 ms resolution is plenty for loopback timings. */
export const round1 = (n: number) => Math.round(n * 10) / 10;

/** ours / theirs, rounded to two decimals. */
export const ratio = (ours: number, theirs: number) => Math.round((ours / theirs) * 100) / 100;
