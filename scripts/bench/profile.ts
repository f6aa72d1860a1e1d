/**
 * Where the agent's time goes under the first-token benchmark's load: a V8 CPU profile of the agent
 * (`node --cpu-prof`, the unminified bundle so functions keep their names) while it serves rounds of
 * concurrent invocations against the twin, summed by where each function's code came from (esbuild
 * marks every module in an unminified bundle with a `// node_modules/<pkg>/…` or `// agent/src/…`
 * comment, so a profile line maps back to its package).
 *
 * Usage: npx tsx scripts/bench/profile.ts [off|production|tracing (off + spans exported)] [--concurrency=20]
 *        [--rounds=15] [--host-node]   (default: on the Node the image runs)
 *        [--cpu-only]        no profiler: only the kernel-counted CPU per invocation (the reliable figure)
 *        [--bundle=<file>]   serve this prebuilt bundle instead of building the worktree's (A/B: build a
 *                            baseline with `npx tsx scripts/build-agent.ts`-style buildAgent before a change)
 *        [--official]        profile the official SDK server instead (.local/bench/official-server.mjs, which
 *                            `npm run bench` builds unminified), mode off: the same figures for the baseline
 * Prints self time per package/file (top 25) and per function (top 25); keeps the .cpuprofile under
 * .local/bench/profiles/ (open it in Chrome DevTools or speedscope for the call tree).
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAgent } from '../build-agent';
import { imageNodeForHost } from '../container/stand-in';
import { newThreadId, runInput, timedRun } from './agui-client';
import { cpuMs, spawnServer, spawnTwin, waitHealthy } from './processes';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The bundle's module regions: [first line (0-based), module path], in order. */
async function moduleRegions(bundle: string): Promise<[number, string][]> {
  const lines = (await readFile(bundle, 'utf8')).split('\n');
  const regions: [number, string][] = [];
  lines.forEach((line, i) => {
    // `// ../../main/node_modules/zod/v4/core/util.js` (node_modules may be a symlink) or `// agent/src/x.ts`
    const m = /^\/\/ (\S+\.(?:js|mjs|cjs|ts|json))$/.exec(line);
    if (m) regions.push([i, m[1].replace(/^(?:\.\.\/)+(?:[^/]+\/(?=node_modules\/))?/, '')]);
  });
  return regions;
}

/** node_modules/@scope/pkg/… → @scope/pkg; agent/src/x.ts stays a file. */
function ownerOf(modulePath: string): string {
  const parts = modulePath.split('/');
  if (parts[0] !== 'node_modules') return modulePath;
  // The last node_modules segment owns it (nested dependencies).
  const i = parts.lastIndexOf('node_modules');
  return parts[i + 1].startsWith('@') ? `${parts[i + 1]}/${parts[i + 2]}` : parts[i + 1];
}

function regionAt(regions: [number, string][], line: number): string {
  let lo = 0;
  let hi = regions.length - 1;
  let found = '(bundle prologue)';
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (regions[mid][0] <= line) {
      found = regions[mid][1];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Owners grouped into what a reader can act on. */
const START_UP = '(start-up)';
const STARTUP =
  /^(compileSourceTextModule|compileForInternalLoader|compileFunction|__require2?|__init|__esm|__commonJS|loadAndTranslate|moduleStrategy)$/;

const GROUPS: [string, RegExp][] = [
  [
    'AWS SDK (@smithy/*, @aws-sdk/*: serialise, sign, parse event streams)',
    /^@smithy\/|^@aws-sdk\/|^@aws-crypto\/|^fast-xml-parser|^tslib/,
  ],
  [
    'native I/O: socket and pipe writes, UTF-8 decoding',
    /^\((writev|writeUtf8String|writeString|writeBuffer|writeLatin1String|decodeUTF8|close)\)$/,
  ],
  ['Node HTTP, net, streams, events (node:*)', /^node:(?!internal$)/],
  ['Node internals (node:internal: ticks, promises, crypto, streams)', /^node:internal$|^\(runMicrotasks\)$/],
  ['garbage collector', /^\(\(garbage collector\)\)$/],
  [
    'Express, body-parser, router',
    /^(express|body-parser|raw-body|router|iconv-lite|qs|type-is|content-type|mime|mime-types|mime-db|negotiator|accepts|send|finalhandler|on-finished|debug|depd|http-errors|path-to-regexp|statuses|media-typer|bytes|unpipe|encodeurl|escape-html|parseurl)$/,
  ],
  ['AG-UI (core, encoder) and zod', /^@ag-ui\/|^zod$/],
  [
    'pino (logs)',
    /^pino|^@pinojs\/|^sonic-boom|^thread-stream|^on-exit-leak-free|^fast-redact|^quick-format|^atomic-sleep|^safe-stable/,
  ],
  ['OpenTelemetry', /^@opentelemetry\/|^protobufjs|^@protobufjs\//],
  ['the agent (agent/src, cost/)', /^agent\/|^cost\/|^environments\//],
  ['start-up: compiling and initialising modules (once)', /^\(start-up\)$|^\(bundle prologue\)$/],
];

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byGroup: { group: string; ms: number; share: number }[];
  byOwner: { owner: string; ms: number; share: number }[];
  byFunction: { fn: string; owner: string; ms: number; share: number }[];
}

/** Self time per owner (package, agent file, Node internals, GC, idle) and per function. */
export async function summarise(profileFile: string, bundle: string): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(profileFile, 'utf8')) as CpuProfile;
  const regions = await moduleRegions(bundle);
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const owners = new Map<string, number>();
  const fns = new Map<string, { owner: string; us: number }>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    let owner: string;
    if (url.endsWith(path.basename(bundle))) owner = ownerOf(regionAt(regions, lineNumber));
    else if (url.startsWith('node:')) owner = `node:${url.slice(5).split('/')[0]}`;
    else if (url === '') owner = `(${functionName || 'native'})`;
    else owner = url;
    total += us;
    // Compiling and initialising the bundle's modules happens once, at start: kept apart.
    if (STARTUP.test(functionName)) owner = START_UP;
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const key = `${functionName || '(anonymous)'} ${owner}:${lineNumber + 1}`;
    const f = fns.get(key) ?? { owner, us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const ms = (us: number) => Math.round(us / 100) / 10;
  const idle = (owners.get('((idle))') ?? 0) + (owners.get('((program))') ?? 0);
  const busy = total - idle;
  const groups = new Map<string, number>();
  for (const [owner, us] of owners) {
    if (owner === '((idle))' || owner === '((program))') continue;
    const group = GROUPS.find(([, re]) => re.test(owner))?.[0] ?? 'other';
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  return {
    totalMs: ms(total),
    idleMs: ms(idle),
    byGroup: [...groups]
      .sort((a, b) => b[1] - a[1])
      .map(([group, us]) => ({ group, ms: ms(us), share: Math.round((us / busy) * 1000) / 10 })),
    byOwner: [...owners]
      .sort((a, b) => b[1] - a[1])
      .map(([owner, us]) => ({ owner, ms: ms(us), share: Math.round((us / total) * 1000) / 10 })),
    byFunction: [...fns]
      .sort((a, b) => b[1].us - a[1].us)
      .map(([fn, f]) => ({
        fn,
        owner: f.owner,
        ms: ms(f.us),
        share: Math.round((f.us / total) * 1000) / 10,
      })),
  };
}

async function main() {
  const args = process.argv.slice(2);
  const mode = args.find((a) => !a.startsWith('--')) ?? 'production';
  const num = (name: string, fallback: number) =>
    Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
  const concurrency = num('concurrency', 20);
  const rounds = num('rounds', 15);
  if (!['off', 'production', 'tracing'].includes(mode))
    throw new Error(`mode ${mode}: expected off, production or tracing`);

  const cpuOnly = args.includes('--cpu-only');
  const official = args.includes('--official');
  if (official && mode !== 'off')
    throw new Error('--official: the official handler has no memory nor guardrail; use mode off');
  const given = official
    ? path.join(root, '.local/bench/official-server.mjs')
    : args.find((a) => a.startsWith('--bundle='))?.split('=')[1];
  const bundle = given ? path.resolve(given) : path.join(root, '.local/bench/server.profile.mjs');
  if (!given) await buildAgent({ outfile: bundle, minify: false });
  const dir = path.join(root, '.local/bench/profiles', official ? 'official' : mode);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const twin = await spawnTwin(200);
  let measuredCpuMs: number | undefined;
  try {
    const env: Record<string, string> = {
      ...twin.env,
      MODEL_ID: 'us.anthropic.claude-sonnet-4-6',
      AGENT_ENV: 'bench',
      LOG_LEVEL: 'warn',
      ...(mode === 'production' && {
        LOG_LEVEL: 'info', // environments/prod.yaml's
        MEMORY_ID: twin.memoryId,
        GUARDRAIL_ID: 'localguardrail',
        GUARDRAIL_VERSION: '1',
      }),
      // As AgentCore turns it on: spans go, SigV4-signed, to X-Ray's OTLP endpoint (the twin's, through AWS_ENDPOINT_URL).
      ...(mode === 'tracing' && { AGENT_OBSERVABILITY_ENABLED: 'true' }),
    };
    // The Node the image runs, as deployed (--host-node: this machine's).
    const node = args.includes('--host-node')
      ? process.execPath
      : (await imageNodeForHost(path.join(root, 'agent/Dockerfile'))).path;
    const server = await spawnServer(
      node,
      cpuOnly
        ? [bundle]
        : [
            '--cpu-prof',
            `--cpu-prof-dir=${dir}`,
            // The official server does not handle SIGTERM (the signal would end it before the profile is written).
            ...(official ? ["--import=data:text/javascript,process.on('SIGTERM',()=>process.exit(0))"] : []),
            bundle,
          ],
      env,
    );
    try {
      await waitHealthy(server);
      const round = () =>
        Promise.all(
          Array.from({ length: concurrency }, () =>
            timedRun(
              server.url,
              runInput(newThreadId('profile'), [
                { role: 'user', content: 'Tell me about blue/green deployments.' },
              ]),
            ),
          ),
        );
      await round(); // warm-up
      const before = await cpuMs(server.child.pid!);
      for (let i = 0; i < rounds; i++) await round();
      const after = await cpuMs(server.child.pid!);
      if (before !== undefined && after !== undefined)
        measuredCpuMs = (after - before) / (rounds * concurrency);
    } finally {
      await server.stop();
    }
  } finally {
    await twin.close();
  }
  if (cpuOnly) {
    console.log(
      `${mode}: ${rounds} rounds of ${concurrency} concurrent invocations, no profiler; CPU the kernel counted (user + system, /proc): ${measuredCpuMs?.toFixed(2) ?? 'n/a'} ms per invocation`,
    );
    return;
  }
  const [file] = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}: did the agent exit through process.exit?`);
  const s = await summarise(path.join(dir, file), bundle);
  const invocations = (rounds + 1) * concurrency;
  const perInvocation = (ms: number) => (ms / invocations).toFixed(2);
  console.log(
    `${mode}: ${rounds} rounds of ${concurrency} concurrent invocations (+1 warm-up round); profile ${path.relative(root, path.join(dir, file))}; ${s.totalMs} ms sampled, ${s.idleMs} idle; busy ${perInvocation(s.totalMs - s.idleMs)} ms of CPU per invocation (start-up included)`,
  );
  if (measuredCpuMs !== undefined)
    console.log(
      `CPU time the kernel counted (user + system, /proc), measured rounds only: ${measuredCpuMs.toFixed(1)} ms per invocation`,
    );
  console.log('\nbusy time by group (ms per invocation, share of busy):');
  for (const g of s.byGroup)
    console.log(`  ${perInvocation(g.ms).padStart(7)} ms ${String(g.share).padStart(5)}%  ${g.group}`);
  console.log('\nself time by package / file:');
  for (const o of s.byOwner.slice(0, 25))
    console.log(`  ${String(o.ms).padStart(8)} ms ${String(o.share).padStart(5)}%  ${o.owner}`);
  console.log('\nself time by function:');
  for (const f of s.byFunction.slice(0, 25))
    console.log(`  ${String(f.ms).padStart(8)} ms ${String(f.share).padStart(5)}%  ${f.fn}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(e.stack ?? e.message);
      process.exit(1);
    },
  );
}
