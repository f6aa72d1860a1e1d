/**
 * Overhead on the first token: (POST → first TEXT_MESSAGE_CONTENT at the client) minus the twin model's
 * fixed first-token delay, for each server at each concurrency, rounds interleaved so both see the same
 * machine load.
 */
import { Agent } from 'node:http';
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
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

/**
 * What the guardrail itself adds before the first chunk, as the twin emulates Bedrock (input scan, and
 * in sync mode the buffered first window and its scan): the median first-chunk time of guarded minus
 * unguarded ConverseStream calls straight from the real SDK client, alternating, one at a time. It is
 * service time, like the model's own first-token delay, so it is shown beside the agent's overhead.
 */
export async function measureGuardrailTime(
  env: Record<string, string>,
  modelId: string,
  guardrail: { id: string; version: string },
  samples: number,
): Promise<number> {
  const client = new BedrockRuntimeClient({
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN,
    },
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true }) }),
  });
  const firstChunk = async (guarded: boolean) => {
    const started = performance.now();
    const out = await client.send(
      new ConverseStreamCommand({
        modelId,
        messages: [{ role: 'user', content: [{ text: 'Tell me about blue/green deployments.' }] }],
        ...(guarded && {
          guardrailConfig: {
            guardrailIdentifier: guardrail.id,
            guardrailVersion: guardrail.version,
            streamProcessingMode: 'sync',
            trace: 'enabled',
          },
        }),
      }),
    );
    let first: number | undefined;
    for await (const event of out.stream ?? []) {
      if (first === undefined && event.contentBlockDelta?.delta?.text) first = performance.now() - started;
    }
    return first ?? NaN;
  };
  try {
    const plain: number[] = [];
    const guarded: number[] = [];
    await firstChunk(false);
    await firstChunk(true);
    for (let i = 0; i < samples; i++) {
      plain.push(await firstChunk(false));
      guarded.push(await firstChunk(true));
    }
    return round1(percentile(guarded, 50) - percentile(plain, 50));
  } finally {
    client.destroy();
  }
}
