/** The benchmark results: their JSON shape and the markdown section appended to docs/benchmarks.md. */
import type { ImageFigures } from './image';
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
    prompt: string;
  };
  firstTokenOverhead?: Record<
    'concurrency1' | 'concurrency20',
    Pair<OverheadFigures> & {
      /** Ours as in production: memory and guardrail on. */
      oursProduction: OverheadFigures;
      ratio: { p50: number; p99: number };
      ratioProduction: { p50: number; p99: number };
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
    `Twin model first-token delay: ${r.settings.modelFirstTokenMs} ms. "Official" = the official TypeScript SDK's runtime server (npm \`bedrock-agentcore\`, \`BedrockAgentCoreApp\`) with an equivalent minimal streaming handler (scripts/bench/official-server.ts); "ours" = the minified agent bundle, memory and guardrail off (same work as the official handler: one ConverseStream, streamed as AG-UI events).`,
  ];
  if (r.firstTokenOverhead) {
    const rows = (['concurrency1', 'concurrency20'] as const).flatMap((k) => {
      const f = r.firstTokenOverhead![k];
      const c = k === 'concurrency1' ? 1 : 20;
      return [
        [
          c,
          'p50',
          f.ours.p50Ms,
          f.oursProduction.p50Ms,
          f.official.p50Ms,
          f.ratio.p50,
          f.ratioProduction.p50,
          `${f.ours.samples} / ${f.oursProduction.samples} / ${f.official.samples}`,
        ],
        [
          c,
          'p99',
          f.ours.p99Ms,
          f.oursProduction.p99Ms,
          f.official.p99Ms,
          f.ratio.p99,
          f.ratioProduction.p99,
          '',
        ],
      ];
    });
    out.push(
      '',
      '### Overhead on the first token',
      '',
      'Time from POST to the first TEXT_MESSAGE_CONTENT at the client, minus the model\'s own first-token delay (added ms). "Production" = ours with long-term memory (three retrievals before the model call, two event writes after) and the guardrail on, as deployed.',
      '',
      table(
        [
          'streams',
          'percentile',
          'ours (ms)',
          'ours, production (ms)',
          'official (ms)',
          'ratio ours/official',
          'ratio production/official',
          'samples',
        ],
        rows,
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
      'Action start-up: each bundle in .github/actions/dist spawned with no inputs, timed until it exits with its missing-input error.',
      '',
      table(
        ['action', 'start → exit (median ms)', 'exit', 'error', 'bundle', 'gzip'],
        p.actions.map((a) => [
          a.action,
          a.startMedianMs,
          a.exitCode,
          a.error.replace(/\|/g, '\\|'),
          kib(a.bytes),
          kib(a.gzipBytes),
        ]),
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
