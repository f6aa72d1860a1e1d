import { percentile as nearestRank } from '../../.github/actions/src/lib/stats';

/** Nearest-rank percentile (the smoke gate's); NaN for no samples, so a report shows the gap. */
export const percentile = (samples: number[], p: number) => (samples.length ? nearestRank(samples, p) : NaN);

export const median = (samples: number[]) => percentile(samples, 50);

/** Round for reports: 0.1 ms resolution is plenty for loopback timings. */
export const round1 = (n: number) => Math.round(n * 10) / 10;

/** ours / theirs, rounded to two decimals. */
export const ratio = (ours: number, theirs: number) => Math.round((ours / theirs) * 100) / 100;
