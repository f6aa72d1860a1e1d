/**
 * Cold start: process spawn → GET /ping Healthy → first streamed token, for each server, starts
 * interleaved (A B, B A, ...) so both see the same machine load.
 */
import { newThreadId, runInput, timedRun } from './agui-client';
import { spawnServer, waitHealthy } from './processes';
import { median, ratio, round1 } from './stats';

export interface ColdTarget {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

export async function measureColdStarts(
  targets: ColdTarget[],
  starts: number,
  prompt: string,
  log: (s: string) => void,
) {
  const samples = new Map(
    targets.map((t) => [t.name, { healthyMs: [] as number[], firstTokenMs: [] as number[] }]),
  );
  for (let i = 0; i < starts; i++) {
    const order = i % 2 ? [...targets].reverse() : targets;
    for (const t of order) {
      const server = await spawnServer(t.command, t.args, t.env);
      try {
        const healthyAt = await waitHealthy(server, 30_000, 2);
        const run = await timedRun(
          server.url,
          runInput(newThreadId('cold'), [{ role: 'user', content: prompt }]),
        );
        if (run.firstTokenMs === undefined) throw new Error(`${t.name} streamed no text on a cold start`);
        const s = samples.get(t.name)!;
        s.healthyMs.push(healthyAt - server.spawnedAt);
        s.firstTokenMs.push(healthyAt - server.spawnedAt + run.firstTokenMs);
      } finally {
        await server.stop();
      }
    }
    log(`  start ${i + 1}/${starts}`);
  }
  return Object.fromEntries(
    [...samples].map(([name, s]) => [
      name,
      {
        starts: s.healthyMs.length,
        healthyMedianMs: round1(median(s.healthyMs)),
        firstTokenMedianMs: round1(median(s.firstTokenMs)),
      },
    ]),
  );
}

export const coldRatios = (
  ours: { healthyMedianMs: number; firstTokenMedianMs: number },
  official: typeof ours,
) => ({
  healthy: ratio(ours.healthyMedianMs, official.healthyMedianMs),
  firstToken: ratio(ours.firstTokenMedianMs, official.firstTokenMedianMs),
});
