/**
 * Benchmarks (not part of `npm test`):  npm run bench [-- options]
 *
 * Measures, in one run and side by side, our agent bundle (agent/dist/server.mjs) and the official
 * TypeScript SDK's runtime server (bedrock-agentcore BedrockAgentCoreApp) serving an equivalent minimal
 * streaming handler (scripts/bench/official-server.ts), both against the same twin model with a fixed
 * first-token delay; then the sustained load one process takes, prompt caching, and the pipeline's
 * timings and bundle sizes. Every loop is
 * bounded in count and time; all traffic stays on loopback. Results: docs/benchmarks.json (latest run)
 * and a section appended to docs/benchmarks.md.
 *
 * Options: --quick (few samples, nothing written)  --only=overhead,load,cold,image,cache,pipeline
 *          --first-token-ms=200  --rounds-1=100  --rounds-20=6  --cold-starts=10  --load-step-ms=4000
 *          --warm-node=image|host (the Node the warm servers run on; default the image's)  --no-write
 *          --baseline=<bundle> (a prebuilt agent bundle, e.g. of the code before a change: measured
 *          beside ours in the overhead and load sections, as "baseline", for before/after in one run)
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { format, resolveConfig } from 'prettier';
import { buildAgent } from './build-agent';
import { measureCache } from './bench/cache';
import {
  BARE_HTTP_SERVER,
  coldRatios,
  measureColdStarts,
  measureExit,
  type ColdTarget,
} from './bench/cold-start';
import { imageFigures } from './bench/image';
import { imageNodeForHost } from './container/stand-in';
import {
  fileSize,
  splitBundleSize,
  measureActionStarts,
  measureRehearsal,
  measureSynth,
} from './bench/pipeline';
import { spawnServer, spawnTwin, waitHealthy } from './bench/processes';
import { renderMarkdown, type BenchResults } from './bench/report';
import { round1 } from './bench/stats';
import { measureLoad } from './bench/load';
import { measureGuardrailTime, measureOverhead, ratios } from './bench/ttft';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const started = performance.now();
const log = (line: string) =>
  console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}=${raw}: expected a positive integer`);
  return n;
};
const known = [
  'quick',
  'no-write',
  'only',
  'first-token-ms',
  'rounds-1',
  'rounds-20',
  'cold-starts',
  'load-step-ms',
  'warm-node',
  'baseline',
];
for (const a of args) {
  if (!known.includes(a.replace(/^--/, '').split('=')[0]))
    throw new Error(`unknown option ${a}; see the header of scripts/bench.ts`);
}
const quick = flag('quick');
const only = new Set(
  args
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',') ?? ['overhead', 'load', 'cold', 'image', 'cache', 'pipeline'],
);
const settings = {
  modelFirstTokenMs: option('first-token-ms', 200),
  // 100 samples at one stream: with 40, the p99 was the slowest sample of the run.
  rounds1: option('rounds-1', quick ? 5 : 100),
  rounds20: option('rounds-20', quick ? 2 : 6),
  coldStarts: option('cold-starts', quick ? 2 : 10),
  loadStepMs: option('load-step-ms', quick ? 1500 : 4000),
  prompt: 'Tell me about blue/green deployments.',
};
const write = !quick && !flag('no-write');
const warmNodeChoice = args.find((a) => a.startsWith('--warm-node='))?.split('=')[1] ?? 'image';
if (!['image', 'host'].includes(warmNodeChoice))
  throw new Error(`--warm-node=${warmNodeChoice}: expected image or host`);
const baselineArg = args.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
const baselineBundle = baselineArg ? path.resolve(baselineArg) : undefined;

const MODEL_ID = 'us.anthropic.claude-sonnet-4-6';
const execFileAsync = promisify(execFile);

async function bundleOfficialServer(): Promise<string> {
  const outfile = path.join(root, '.local/bench/official-server.mjs');
  await build({
    entryPoints: [path.join(root, 'scripts/bench/official-server.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    // The SDK loads its Fastify plugins with createRequire at run time: those two resolve from node_modules.
    external: ['@fastify/sse', '@fastify/websocket'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outfile;
}

async function main() {
  log(`settings ${JSON.stringify(settings)}${quick ? ' (quick: nothing is written)' : ''}`);
  const results: BenchResults = {
    command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
    date: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    },
    settings,
  };

  log(
    'building our bundle (scripts/build-agent.ts, minified and split like the image) and the official SDK server',
  );
  const ours = await buildAgent({
    outfile: path.join(root, '.local/bench/server.min.mjs'),
    minify: true,
    split: true,
  });
  const official = await bundleOfficialServer();
  const twin = await spawnTwin(settings.modelFirstTokenMs);
  const env = { ...twin.env, MODEL_ID, AGENT_ENV: 'bench', LOG_LEVEL: 'warn' };
  // As in production: long-term memory (3 retrievals before the model, the turn written after) and the guardrail.
  const guardrail = { id: 'localguardrail', version: '1' };
  const production = {
    ...env,
    LOG_LEVEL: 'info', // environments/prod.yaml's runtime.logLevel
    MEMORY_ID: twin.memoryId,
    GUARDRAIL_ID: guardrail.id,
    GUARDRAIL_VERSION: guardrail.version,
  };
  // Tracing on as AgentCore turns it on (AGENT_OBSERVABILITY_ENABLED): every span exported, SigV4-signed,
  // to X-Ray's OTLP endpoint, here the twin's (through AWS_ENDPOINT_URL).
  const tracing = { ...env, AGENT_OBSERVABILITY_ENABLED: 'true' };
  // The warm figures (overhead, load, cache) run both servers on the Node the image runs, as deployed
  // (its async context and HTTP stack differ from Node 20's: tracing costs a third as much there).
  const imageNode = await imageNodeForHost(path.join(root, 'agent/Dockerfile'), log);
  const warmNode =
    warmNodeChoice === 'image'
      ? { label: `Node ${imageNode.version} (the image's)`, path: imageNode.path }
      : { label: `Node ${process.version.slice(1)} (this machine's)`, path: process.execPath };
  results.settings.warmNode = warmNode.label;
  const node = warmNode.path;
  const targets: ColdTarget[] = [
    { name: 'ours', command: node, args: [ours.outfile], env },
    { name: 'official', command: node, args: [official], env },
  ];
  const overheadTargets = [
    targets[0],
    { name: 'oursProduction', command: node, args: [ours.outfile], env: production },
    { name: 'oursTracing', command: node, args: [ours.outfile], env: tracing },
    targets[1],
  ];
  const baselineTarget: ColdTarget | undefined = baselineBundle
    ? { name: 'baseline', command: node, args: [baselineBundle], env }
    : undefined;
  if (baselineBundle) {
    await readFile(baselineBundle).catch(() => {
      throw new Error(`--baseline=${baselineArg}: no such bundle (build one with scripts/build-agent.ts)`);
    });
    results.settings.baseline = path.relative(root, baselineBundle);
    overheadTargets.push(baselineTarget!, {
      name: 'baselineProduction',
      command: node,
      args: [baselineBundle],
      env: production,
    });
  }

  try {
    if (only.has('overhead')) {
      log('overhead on the first token (servers warm)');
      const servers = await Promise.all(overheadTargets.map((t) => spawnServer(t.command, t.args, t.env)));
      try {
        await Promise.all(servers.map((s) => waitHealthy(s)));
        const named = servers.map((s, i) => ({ name: overheadTargets[i].name, url: s.url }));
        const common = { modelFirstTokenMs: settings.modelFirstTokenMs, prompt: settings.prompt, log };
        const c1 = await measureOverhead(named, {
          ...common,
          concurrency: 1,
          rounds: settings.rounds1,
          budgetMs: 240_000,
        });
        const c20 = await measureOverhead(named, {
          ...common,
          concurrency: 20,
          rounds: settings.rounds20,
          budgetMs: 180_000,
        });
        log("the guardrail's own time before the first chunk (twin, straight from the SDK)");
        const guardrailMs = await measureGuardrailTime(twin.env, MODEL_ID, guardrail, quick ? 3 : 15);
        const figures = (c: typeof c1) => {
          // The agent's share in production: what remains after the guardrail's service time.
          const agentShare = {
            samples: c.oursProduction.samples,
            p50Ms: round1(c.oursProduction.p50Ms - guardrailMs),
            p99Ms: round1(c.oursProduction.p99Ms - guardrailMs),
          };
          return {
            ours: c.ours,
            oursProduction: c.oursProduction,
            oursProductionAgent: agentShare,
            oursTracing: c.oursTracing,
            official: c.official,
            ratio: ratios(c.ours, c.official),
            ratioProduction: ratios(c.oursProduction, c.official),
            ratioProductionAgent: ratios(agentShare, c.official),
            ratioTracing: ratios(c.oursTracing, c.ours),
          };
        };
        results.firstTokenOverhead = {
          guardrailMs,
          concurrency1: figures(c1),
          concurrency20: figures(c20),
        };
        if (baselineBundle) {
          const pick = (c: typeof c1) => ({
            baseline: c.baseline,
            baselineProduction: c.baselineProduction,
            baselineProductionAgent: {
              samples: c.baselineProduction.samples,
              p50Ms: round1(c.baselineProduction.p50Ms - guardrailMs),
              p99Ms: round1(c.baselineProduction.p99Ms - guardrailMs),
            },
          });
          results.baselineOverhead = { concurrency1: pick(c1), concurrency20: pick(c20) };
        }
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    }

    if (only.has('load')) {
      // One server at a time: each has the machine (shared with the twin and this client) to itself.
      results.load = {};
      for (const t of [targets[0], targets[1], ...(baselineTarget ? [baselineTarget] : [])]) {
        log(`load: ${t.name} (steps of ${settings.loadStepMs} ms, open loop, rate doubling then bisecting)`);
        const server = await spawnServer(t.command, t.args, t.env);
        try {
          await waitHealthy(server);
          results.load[t.name as 'ours' | 'official' | 'baseline'] = await measureLoad(
            server.url,
            server.child.pid!,
            {
              stepMs: settings.loadStepMs,
              startRate: 5,
              maxRate: 640,
              maxSteps: quick ? 4 : 10,
              budgetMs: quick ? 20_000 : 120_000,
              // 100, so the p99 is not simply the slowest one.
              idleSamples: quick ? 10 : 100,
              cpuRounds: quick ? 3 : 10,
              cpuConcurrency: 20,
              twinPid: twin.pid,
              prompt: settings.prompt,
              log,
            },
          );
        } finally {
          await server.stop();
        }
      }
    }

    if (only.has('cold')) {
      // The Node the image runs (this machine's build of it, from npm) with the compile cache the
      // image bakes in, and the Node of this machine (20); the floors: an empty script, a bare server.
      const compileCache = path.join(root, '.local/bench/compile-cache');
      await rm(compileCache, { recursive: true, force: true });
      await execFileAsync(
        imageNode.path,
        [path.join(root, 'scripts/container/warm-compile-cache.ts'), ours.outfile],
        {
          env: { ...process.env, NODE_COMPILE_CACHE: compileCache },
        },
      );
      results.coldStart = [];
      for (const node of [
        { label: `Node ${imageNode.version} (the image's)`, path: imageNode.path, cache: compileCache },
        { label: `Node ${process.version.slice(1)} (this machine's)`, path: process.execPath },
      ]) {
        log(`cold start on ${node.label} (${settings.coldStarts} starts each, interleaved)`);
        const cold = await measureColdStarts(
          [
            {
              name: 'ours',
              command: node.path,
              args: [ours.outfile],
              env: { ...env, ...(node.cache && { NODE_COMPILE_CACHE: node.cache }) },
            },
            { name: 'official', command: node.path, args: [official], env },
            { name: 'bare', command: node.path, args: BARE_HTTP_SERVER, env: {}, pingOnly: true },
          ],
          settings.coldStarts,
          settings.prompt,
          log,
        );
        results.coldStart.push({
          node: node.label,
          ours: cold.ours,
          official: cold.official,
          ratio: coldRatios(cold.ours, cold.official),
          floor: {
            emptyScriptExitMs: await measureExit(node.path, ['-e', ''], settings.coldStarts),
            bareHttpHealthyMs: cold.bare.healthyMedianMs,
          },
        });
      }
    }

    if (only.has('image')) {
      log('agent image (podman, when built: scripts/container/build-agent-image.ts)');
      results.image = await imageFigures('localhost/agentcore-gitops/agent:dev');
    }

    if (only.has('cache')) {
      log('prompt caching over a 5-turn conversation (our agent)');
      const server = await spawnServer(targets[0].command, targets[0].args, env);
      try {
        await waitHealthy(server);
        results.promptCache = await measureCache(server.url, log);
      } finally {
        await server.stop();
      }
    }
  } finally {
    await twin.close();
  }

  if (only.has('pipeline')) {
    log('pipeline: rehearsal');
    const rehearsal = await measureRehearsal(root, log);
    log('pipeline: action start-up (no inputs → missing-input error)');
    const actions = await measureActionStarts(root, quick ? 1 : 10, log);
    log('pipeline: synth of all environments');
    const synth = await measureSynth(root, log);
    const agentBundle = await buildAgent();
    results.pipeline = {
      rehearsal,
      actions,
      synth,
      bundles: {
        agent: { file: path.relative(root, agentBundle.outfile), ...(await fileSize(agentBundle.outfile)) },
        agentMinified: {
          file: 'agent image (scripts/build-agent.ts --minify --split: entry + chunks/)',
          ...(await splitBundleSize(ours.outfile)),
        },
      },
    };
  }

  results.totalSeconds = Math.round((performance.now() - started) / 1000);
  const markdown = renderMarkdown(results);
  console.log(`\n${markdown}`);
  if (write) {
    await writeFile(path.join(root, 'docs/benchmarks.json'), `${JSON.stringify(results, null, 2)}\n`);
    const file = path.join(root, 'docs/benchmarks.md');
    const existing = await readFile(file, 'utf8').catch(
      () =>
        '# Benchmarks\n\nEach section is one `npm run bench` run, newest last. Machine-readable: `docs/benchmarks.json` (latest run).\n',
    );
    await writeFile(
      file,
      await format(`${existing.trimEnd()}\n\n${markdown}\n`, {
        ...(await resolveConfig(file)),
        parser: 'markdown',
        filepath: file,
      }),
    );
    log('wrote docs/benchmarks.json and appended to docs/benchmarks.md');
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench failed: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
