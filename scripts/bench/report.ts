/** The benchmark results: their JSON shape and the markdown section appended to docs/benchmarks.md. */
import type { ImageFigures } from './image';
import type { LoadFigures } from './load';
import { ratio, round1 } from './stats';
import type { OverheadFigures } from './ttft';

interface Pair<T> {
  ours: T;
  official: T;
}

interface ColdFigures {
  starts: number;
  healthyMedianMs: number;
  firstTokenMedianMs: number;
}

export interface BenchResults {
  command: string;
  date: string;
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    os: string;
    node: string;
    loadAverageAtStart: number[];
  };
  settings: {
    modelFirstTokenMs: number;
    rounds1: number;
    rounds20: number;
    coldStarts: number;
    loadStepMs?: number;
    /** The Node the warm servers ran on. */
    warmNode?: string;
    /** --baseline: a prebuilt bundle measured beside ours (before/after in one run). */
    baseline?: string;
    prompt: string;
  };
  firstTokenOverhead?: {
    /** The guardrail's own time before the first chunk (twin's emulation of Bedrock), median ms. */
    guardrailMs: number;
  } & Record<
    'concurrency1' | 'concurrency20',
    Pair<OverheadFigures> & {
      /** Ours as in production: memory and guardrail on. */
      oursProduction: OverheadFigures;
      /** Production less the guardrail's own time: what the agent adds. */
      oursProductionAgent: OverheadFigures;
      /** Ours (memory and guardrail off) exporting every span to the twin's X-Ray OTLP endpoint. */
      oursTracing: OverheadFigures;
      ratio: { p50: number; p99: number };
      ratioProduction: { p50: number; p99: number };
      ratioProductionAgent: { p50: number; p99: number };
      /** Tracing on / tracing off, both ours. */
      ratioTracing: { p50: number; p99: number };
    }
  >;
  load?: Partial<Pair<LoadFigures> & { baseline: LoadFigures }>;
  /** --baseline: the baseline bundle in the overhead rounds, off and in production, interleaved with ours. */
  baselineOverhead?: Record<
    'concurrency1' | 'concurrency20',
    {
      baseline: OverheadFigures;
      baselineProduction: OverheadFigures;
      baselineProductionAgent: OverheadFigures;
    }
  >;
  coldStart?: (Pair<ColdFigures> & {
    node: string;
    ratio: { healthy: number; firstToken: number };
    floor: { emptyScriptExitMs: number; bareHttpHealthyMs: number };
  })[];
  image?: ImageFigures;
  promptCache?: {
    perTurn: {
      turn: number;
      inputTokens: number;
      cacheReadTokens: number;
      cacheWriteTokens: number;
      share: number;
    }[];
    turns2to5Share: number;
  };
  pipeline?: {
    rehearsal:
      | { available: false; note: string }
      | {
          available: true;
          exitCode: number;
          wallMs: number;
          stepsTotalMs: number;
          steps: { step: string; ms: number; ok: boolean }[];
          smokeGate: { step: string; ms: number }[];
          rollback: { step: string; ms: number }[];
          promote: { step: string; ms: number }[];
        };
    actions: {
      action: string;
      startMedianMs: number;
      runs: number;
      exitCode: number;
      error: string;
      bytes: number;
      gzipBytes: number;
      /** What loads before run() starts: the entry and the chunks it imports statically. */
      startBytes: number;
      /** The workflow whose inputs the first-request run uses. */
      from: string;
      byNode: {
        node: string;
        floorExit: { wallMs: number; cpuMs: number };
        floorRequest: { wallMs: number; cpuMs: number };
        exit: { wallMs: number; cpuMs: number };
        firstRequest: { wallMs: number; cpuMs: number; request: string };
      }[];
    }[];
    synth: { exitCode: number; wallMs: number; stacks: number; error?: string };
    bundles: Record<string, { file: string; bytes: number; gzipBytes: number }>;
  };
  totalSeconds?: number;
}

const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const table = (head: string[], rows: (string | number)[][]) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const out: string[] = [
    `## ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`${r.command}\``,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; load average at start ${m.loadAverageAtStart.join(' / ')} (a shared development machine: other work ran at the same time, so read the ratios, measured side by side, rather than the absolute figures).`,
    '',
    `Twin model first-token delay: ${r.settings.modelFirstTokenMs} ms. Warm servers (overhead, load, prompt caching) run on ${r.settings.warmNode ?? "this machine's Node"}. "Official" = the official TypeScript SDK's runtime server (npm \`bedrock-agentcore\`, \`BedrockAgentCoreApp\`) with an equivalent minimal streaming handler (scripts/bench/official-server.ts); "ours" = the minified agent bundle, memory and guardrail off (same work as the official handler: one ConverseStream, streamed as AG-UI events).`,
  ];
  if (r.firstTokenOverhead) {
    const o = r.firstTokenOverhead;
    const both = (k: 'concurrency1' | 'concurrency20', pct: 'p50' | 'p99') => {
      const f = o[k];
      const ms = `${pct}Ms` as const;
      return { f, c: k === 'concurrency1' ? 1 : 20, ms };
    };
    const keys = ['concurrency1', 'concurrency20'] as const;
    const pcts = ['p50', 'p99'] as const;
    const rows = keys.flatMap((k) =>
      pcts.map((pct) => {
        const { f, c, ms } = both(k, pct);
        return [
          c,
          pct,
          f.ours[ms],
          f.oursProduction[ms],
          f.oursProductionAgent[ms],
          f.official[ms],
          f.ratio[pct],
          f.ratioProduction[pct],
          f.ratioProductionAgent[pct],
          pct === 'p50'
            ? `${f.ours.samples} / ${f.oursProduction.samples} / ${f.oursTracing.samples} / ${f.official.samples}`
            : '',
        ];
      }),
    );
    const tracingRows = keys.flatMap((k) =>
      pcts.map((pct) => {
        const { f, c, ms } = both(k, pct);
        return [
          c,
          pct,
          f.ours[ms],
          f.oursTracing[ms],
          round1(f.oursTracing[ms] - f.ours[ms]),
          f.ratioTracing[pct],
        ];
      }),
    );
    out.push(
      '',
      '### Overhead on the first token',
      '',
      `Time from POST to the first TEXT_MESSAGE_CONTENT at the client, minus the model's own first-token delay (added ms). "Production" = ours with long-term memory (the session's events and three record retrievals before the model call, the turn written after) and the guardrail on (sync mode), as deployed. The guardrail's own time before the first chunk, as the twin emulates Bedrock's (input scan, then the first buffered window and its scan), measured straight from the SDK: ${o.guardrailMs} ms; "agent's share" is production less that service time.`,
      '',
      table(
        [
          'streams',
          'percentile',
          'ours (ms)',
          'production (ms)',
          "production, agent's share (ms)",
          'official (ms)',
          'ratio ours/official',
          'ratio production/official',
          "ratio agent's share/official",
          'samples (ours / production / tracing / official)',
        ],
        rows,
      ),
      ...(r.baselineOverhead
        ? [
            '',
            `Before/after in the same interleaved rounds: "baseline" = ${r.settings.baseline ?? 'the --baseline bundle'}, off and in production.`,
            '',
            table(
              [
                'streams',
                'percentile',
                'ours (ms)',
                'baseline (ms)',
                'production (ms)',
                'baseline production (ms)',
                "agent's share (ms)",
                "baseline agent's share (ms)",
              ],
              keys.flatMap((k) =>
                pcts.map((pct) => {
                  const { f, c, ms } = both(k, pct);
                  const b = r.baselineOverhead![k];
                  return [
                    c,
                    pct,
                    f.ours[ms],
                    b.baseline[ms],
                    f.oursProduction[ms],
                    b.baselineProduction[ms],
                    f.oursProductionAgent[ms],
                    b.baselineProductionAgent[ms],
                  ];
                }),
              ),
            ),
          ]
        : []),
      '',
      '### Telemetry cost on the first token',
      '',
      "Ours (memory and guardrail off) with tracing exporting every span (batched, SigV4-signed OTLP/HTTP to the twin's X-Ray endpoint, as AGENT_OBSERVABILITY_ENABLED does on AgentCore) beside ours with tracing off, in the same interleaved rounds. Logs and EMF metric lines are written in both.",
      '',
      table(
        ['streams', 'percentile', 'tracing off (ms)', 'tracing on (ms)', 'difference (ms)', 'ratio on/off'],
        tracingRows,
      ),
    );
  }
  if (r.load) {
    const entries = (['ours', 'official', 'baseline'] as const).flatMap((name) => {
      const l = r.load![name];
      return l ? [[name, l] as const] : [];
    });
    const ratioLine =
      r.load.ours && r.load.official && r.load.official.sustainedPerSecond > 0
        ? ` Ratio ours/official: ${ratio(r.load.ours.sustainedPerSecond, r.load.official.sustainedPerSecond)} (higher is better).`
        : '';
    out.push(
      '',
      `### Load: sustained invocations per second in one process`,
      '',
      `Open loop: invocations start at a fixed rate for ${r.settings.loadStepMs ?? '?'} ms per step, each on a new session; the rate doubles from 5/s until first-token p99 (POST → first token, the model's ${r.settings.modelFirstTokenMs} ms included) exceeds twice the idle p99 or a run fails, then bisects. Resident memory: after warm-up, idle; and the highest sampled (every 100 ms) during the steps. Ours with memory and guardrail off, like the official handler.${ratioLine} CPU per invocation, as the kernel counts it (/proc user + system, 10 ms ticks): over a fixed batch of ${r.load.ours?.cpu?.invocations ?? '?'} invocations (${r.load.ours?.cpu?.concurrency ?? '?'} at once, closed loop, the same for every server), of the server, of the twin answering its model calls (on the same cores), and of this client; per step in brackets after its p99 (server / twin).${r.load.baseline ? ` "baseline" = ${r.settings.baseline ?? 'the --baseline bundle'}.` : ''}`,
      '',
      table(
        [
          'server',
          'sustained (invocations/s)',
          'idle first-token p99 (ms)',
          'limit (ms)',
          'RSS idle (MB)',
          'RSS loaded (MB)',
          'CPU/invocation: server (ms)',
          'twin (ms)',
          'client (ms)',
          'steps (rate: p99 [CPU server / twin], ok)',
        ],
        entries.map(([name, l]) => [
          name,
          l.sustainedPerSecond,
          l.idleP99Ms,
          l.limitMs,
          l.rssIdleMB,
          l.rssLoadedMB,
          l.cpu?.server ?? 'n/a',
          l.cpu?.twin ?? 'n/a',
          l.cpu?.client ?? 'n/a',
          l.steps
            .map(
              (x) =>
                `${x.rate}/s: ${x.p99Ms}${x.cpu ? ` [${x.cpu.server ?? '?'} / ${x.cpu.twin ?? '?'}]` : ''}${x.errors ? ` (${x.errors} errors)` : ''} ${x.ok ? 'ok' : 'over'}`,
            )
            .join('; '),
        ]),
      ),
    );
  }
  if (r.coldStart) {
    for (const c of r.coldStart) {
      out.push(
        '',
        `### Cold start on ${c.node} (median of ${c.ours.starts} starts each, interleaved)`,
        '',
        table(
          ['', 'ours (ms)', 'official (ms)', 'ratio ours/official'],
          [
            [
              'process start → /ping Healthy',
              c.ours.healthyMedianMs,
              c.official.healthyMedianMs,
              c.ratio.healthy,
            ],
            [
              `process start → first streamed token (incl. the model's ${r.settings.modelFirstTokenMs} ms)`,
              c.ours.firstTokenMedianMs,
              c.official.firstTokenMedianMs,
              c.ratio.firstToken,
            ],
          ],
        ),
        '',
        `Floor on the same Node: \`node -e ''\` start → exit ${c.floor.emptyScriptExitMs} ms; a bare \`node:http\` server start → /ping ${c.floor.bareHttpHealthyMs} ms.`,
      );
    }
  }
  if (r.image) {
    const i = r.image;
    const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
    out.push('', '### Agent image (linux/arm64)', '');
    out.push(
      i.available
        ? `\`${i.tag}\`: ${mb(i.bytes)} (podman's size, uncompressed): the runtime root file system ${mb(i.baseBytes)}, our own layers ${mb(i.ourBytes)}.`
        : `Not measured: ${i.note}.`,
    );
  }
  if (r.promptCache) {
    out.push(
      '',
      `### Prompt caching (5-turn conversation): turns 2–5 read ${(r.promptCache.turns2to5Share * 100).toFixed(1)}% of their input tokens from cache`,
      '',
      table(
        ['turn', 'input tokens', 'cache read', 'cache write', 'share read'],
        r.promptCache.perTurn.map((t) => [
          t.turn,
          t.inputTokens,
          t.cacheReadTokens,
          t.cacheWriteTokens,
          `${(t.share * 100).toFixed(1)}%`,
        ]),
      ),
    );
  }
  if (r.pipeline) {
    const p = r.pipeline;
    out.push('', '### Pipeline', '');
    if (p.rehearsal.available) {
      const h = p.rehearsal;
      out.push(
        `Rehearsal (\`npm run rehearse\`, exit ${h.exitCode}): ${s(h.wallMs)} wall, ${s(h.stepsTotalMs)} in steps. Smoke gate: ${h.smokeGate.map((x) => `${x.step} ${s(x.ms)}`).join('; ') || 'no step named smoke'}. Rollback (repoint): ${h.rollback.map((x) => `${x.step} ${s(x.ms)}`).join('; ') || 'no step named rollback'}. Promotion (repoint of live): ${h.promote.map((x) => `${x.step} ${s(x.ms)}`).join('; ') || 'no step named promote'}.`,
        '',
        table(
          ['step', 'time', 'ok'],
          h.steps.map((x) => [x.step, s(x.ms), x.ok ? 'ok' : 'FAIL']),
        ),
      );
    } else {
      out.push(`Rehearsal: not measured (${p.rehearsal.note}).`);
    }
    out.push(
      '',
      `Synth of all environments (\`npm run synth\`, exit ${p.synth.exitCode}): ${s(p.synth.wallMs)}, ${p.synth.stacks} stacks.`,
      '',
      `Action start-up (medians of ${p.actions[0]?.runs ?? 0} runs, wall ms with CPU ms in brackets, each Node interleaved): _exit_ = spawned with no inputs until it exits with its missing-input error; _first request_ = spawned with the inputs its workflow passes until its first request (AWS, GitHub API or OIDC, served on loopback) or command; the floors on the same Node are \`node -e ''\` and a script that sends one request. "Loaded before run()" is the entry and the chunks it imports statically.`,
      '',
      table(
        [
          'action',
          'node',
          'exit',
          'floor exit',
          'first request',
          'floor request',
          'first request is',
          'loaded before run()',
        ],
        p.actions.flatMap((a) =>
          a.byNode.map((n) => [
            a.action,
            n.node,
            `${n.exit.wallMs} (${n.exit.cpuMs})`,
            `${n.floorExit.wallMs} (${n.floorExit.cpuMs})`,
            `${n.firstRequest.wallMs} (${n.firstRequest.cpuMs})`,
            `${n.floorRequest.wallMs} (${n.floorRequest.cpuMs})`,
            n.firstRequest.request.replace(/\|/g, '\\|'),
            kib(a.startBytes),
          ]),
        ),
      ),
      '',
      table(
        ['bundle', 'size', 'gzip'],
        Object.values(p.bundles).map((b) => [b.file, kib(b.bytes), kib(b.gzipBytes)]),
      ),
    );
  }
  if (r.totalSeconds !== undefined) out.push('', `Whole run: ${r.totalSeconds} s.`);
  return out.join('\n');
}
