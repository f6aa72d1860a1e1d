/**
 * Cold start: process spawn → GET /ping Healthy → first streamed token, for each server, starts
 * interleaved (A B, B A, ...) so both see the same machine load.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { newThreadId, runInput, timedRun } from './agui-client';
import { spawnServer, waitHealthy } from './processes';
import { median, ratio, round1 } from './stats';

export interface ColdTarget {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** A floor (a bare node:http server): only start → /ping is timed, it streams nothing. */
  pingOnly?: boolean;
}

/** A bare node:http server answering every request with a Healthy /ping body: the floor for a server. */
export const BARE_HTTP_SERVER = [
  '-e',
  `require('node:http').createServer((q, s) => s.end('{"status":"Healthy"}')).listen(+process.env.PORT, process.env.HOST)`,
];

/** Median of process spawn → exit for `command args` (e.g. node -e ''), the floor of any start. */
export async function measureExit(command: string, args: string[], starts: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < starts; i++) {
    const started = performance.now();
    const child = spawn(command, args, { stdio: 'ignore' });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
    samples.push(performance.now() - started);
  }
  return round1(median(samples));
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
        const s = samples.get(t.name)!;
        s.healthyMs.push(healthyAt - server.spawnedAt);
        if (t.pingOnly) continue;
        const run = await timedRun(
          server.url,
          runInput(newThreadId('cold'), [{ role: 'user', content: prompt }]),
        );
        if (run.firstTokenMs === undefined) throw new Error(`${t.name} streamed no text on a cold start`);
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
