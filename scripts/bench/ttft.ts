/**
 * Overhead on the first token: (POST → first TEXT_MESSAGE_CONTENT at the client) minus the twin model's
 * fixed first-token delay, for each server at each concurrency, rounds interleaved so both see the same
 * machine load.
 */
import { newThreadId, runInput, timedRun } from './agui-client';
import { percentile, ratio, round1 } from './stats';

export interface Target {
  name: string;
  url: string;
}

export interface OverheadOptions {
  concurrency: number;
  rounds: number;
  modelFirstTokenMs: number;
  /** Stop starting new rounds after this long (the samples so far are reported). */
  budgetMs: number;
  prompt: string;
  log: (line: string) => void;
}

export interface OverheadFigures {
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

async function oneRound(target: Target, o: OverheadOptions): Promise<number[]> {
  const runs = await Promise.all(
    Array.from({ length: o.concurrency }, () =>
      timedRun(target.url, runInput(newThreadId('bench'), [{ role: 'user', content: o.prompt }])),
    ),
  );
  return runs.map((r) => {
    if (r.firstTokenMs === undefined) {
      throw new Error(
        `${target.name} streamed no TEXT_MESSAGE_CONTENT: ${JSON.stringify(r.events.slice(-2))}`,
      );
    }
    return r.firstTokenMs - o.modelFirstTokenMs;
  });
}

export async function measureOverhead(targets: Target[], o: OverheadOptions) {
  const added = new Map(targets.map((t) => [t.name, [] as number[]]));
  // Warm-up: JIT, connection pools and the twin's first requests are not what we measure.
  for (const t of targets) await oneRound(t, { ...o, concurrency: Math.min(o.concurrency, 5) });
  const deadline = performance.now() + o.budgetMs;
  let round = 0;
  for (; round < o.rounds && performance.now() < deadline; round++) {
    const order = round % 2 ? [...targets].reverse() : targets;
    for (const t of order) added.get(t.name)!.push(...(await oneRound(t, o)));
    if ((round + 1) % 5 === 0 || round + 1 === o.rounds)
      o.log(`  c=${o.concurrency}: round ${round + 1}/${o.rounds}`);
  }
  if (round < o.rounds) o.log(`  c=${o.concurrency}: time budget reached after ${round} rounds`);
  const figures = Object.fromEntries(
    [...added].map(([name, s]) => [
      name,
      {
        samples: s.length,
        p50Ms: round1(percentile(s, 50)),
        p99Ms: round1(percentile(s, 99)),
      } satisfies OverheadFigures,
    ]),
  );
  return figures;
}

export const ratios = (ours: OverheadFigures, official: OverheadFigures) => ({
  p50: ratio(ours.p50Ms, official.p50Ms),
  p99: ratio(ours.p99Ms, official.p99Ms),
});
