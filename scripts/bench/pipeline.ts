/** Pipeline figures: rehearsal per step, action start-up, synth time, bundle sizes. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { run } from '../container/exec';
import { imageNodeForHost } from '../container/stand-in';
import { median, round1 } from './stats';

export interface RehearsalStep {
  step: string;
  ms: number;
  ok: boolean;
}

/** The rows of the rehearsal's printed table: `<step>  <seconds> s  ok|FAIL <note>`. */
export function parseRehearsalTable(stdout: string): RehearsalStep[] {
  const rows: RehearsalStep[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(.+?)\s+(\d+(?:\.\d+)?) s\s+(ok|FAIL)\b/.exec(line);
    if (m && m[1].trim() !== 'total')
      rows.push({ step: m[1].trim(), ms: Math.round(Number(m[2]) * 1000), ok: m[3] === 'ok' });
  }
  return rows;
}

export async function measureRehearsal(root: string, log: (s: string) => void) {
  const script = path.join(root, 'scripts/rehearse.ts');
  const source = await readFile(script, 'utf8').catch(() => undefined);
  if (!source) return { available: false as const, note: 'scripts/rehearse.ts does not exist' };
  const wantsJson = source.includes("'--json'");
  log(`  npm run rehearse${wantsJson ? ' -- --json' : ''}`);
  const r = await run('npm', ['run', '--silent', 'rehearse', ...(wantsJson ? ['--', '--json'] : [])], {
    cwd: root,
    check: false,
    timeoutMs: 10 * 60_000,
  });
  let steps: RehearsalStep[];
  if (wantsJson) {
    const json = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
      steps?: RehearsalStep[];
      rows?: RehearsalStep[];
    };
    steps = json.steps ?? json.rows ?? [];
  } else {
    steps = parseRehearsalTable(r.stdout);
  }
  const find = (re: RegExp) => steps.filter((s) => re.test(s.step));
  return {
    available: true as const,
    exitCode: r.code,
    wallMs: Math.round(r.ms),
    stepsTotalMs: steps.reduce((s, x) => s + x.ms, 0),
    steps,
    smokeGate: find(/smoke gate/i),
    rollback: find(/rollback/i),
    // Promotion is the same repoint of `live` as a rollback, without the verifying invocation.
    promote: find(/promote/i),
  };
}

/** A Node build the action start-up figures are taken on. */
export interface ActionNode {
  label: string;
  path: string;
}

/** Medians of one kind of timed run: wall ms from spawn to the event, and the child's CPU ms up to it. */
export interface StartFigure {
  wallMs: number;
  cpuMs: number;
}

/** The commit the realistic runs name (any 40-hex sha: nothing is built from it). */
const BENCH_SHA = 'c0ffee'.padEnd(40, '1');
const BENCH_IMAGE = `111111111111.dkr.ecr.us-east-1.amazonaws.com/agentcore-gitops:sha-${BENCH_SHA}`;

/**
 * What each action's workflow passes it (`with:`; action.yml defaults fill in the rest, as the runner
 * does), with the `${{ }}` expressions replaced by values of the right shape. The action runs until
 * its first request (to AWS, GitHub's API or its OIDC endpoint, all served by the bench) or the first
 * command it starts: that is the start-up a runner pays before the step does its work.
 */
export const ACTION_RUNS: Record<string, { from: string; inputs: Record<string, string> }> = {
  'aws-credentials': {
    from: 'release.yml build (the job OIDC token)',
    inputs: { 'role-to-assume': 'arn:aws:iam::111111111111:role/agentcore-gitops-build', environment: 'dev' },
  },
  // builder auto is docker on a runner (no loopback endpoint); said explicitly, as the bench's endpoint is loopback.
  'build-image': { from: 'release.yml build', inputs: { sha: BENCH_SHA, builder: 'docker' } },
  'deploy-runtime': { from: 'release.yml dev', inputs: { environment: 'dev', 'image-uri': BENCH_IMAGE } },
  'smoke-test': { from: 'release.yml dev', inputs: { environment: 'dev', qualifier: 'DEFAULT' } },
  'eval-gate': { from: 'release.yml dev', inputs: { environment: 'dev', qualifier: 'DEFAULT' } },
  promote: { from: 'release.yml dev', inputs: { environment: 'dev', version: '2', sha: BENCH_SHA } },
  'watch-alarms': {
    from: 'release.yml prod',
    inputs: { environment: 'prod', 'alarm-baseline': '[]', 'rollback-to-version': '1' },
  },
  rollback: {
    from: 'rollback.yml',
    inputs: { environment: 'dev', target: 'previous', reason: 'bench' },
  },
  preview: {
    from: 'preview.yml deploy',
    inputs: {
      operation: 'deploy',
      'pull-request': '7',
      sha: BENCH_SHA,
      'image-uri': BENCH_IMAGE,
      'github-token': 'ghs_bench',
    },
  },
  'sweep-previews': {
    from: 'sweep-previews.yml',
    inputs: { 'github-token': 'ghs_bench', 'dry-run': 'false' },
  },
  'infra-diff': {
    from: 'infra-diff.yml',
    inputs: { 'assume-diff-roles': 'true', 'pull-request': '7', sha: BENCH_SHA, 'github-token': 'ghs_bench' },
  },
  'infra-drift': { from: 'infra-drift.yml', inputs: { 'assume-diff-roles': 'true' } },
};

// Preloaded into every timed process (the floors too): its CPU time at exit. Load on this shared
// machine inflates CPU time far less than wall time. process.getBuiltinModule, not an ESM import of
// node:fs: that reads every export of fs, loading fs/promises and readline into every timed process.
const CPU_AT_EXIT =
  'data:text/javascript,process.on("exit",()=>{const u=process.cpuUsage();process.getBuiltinModule("fs").writeSync(2,"\\n@@cpu "+(u.user+u.system)+"\\n")})';

/** The floor of a realistic start: Node sends one request with node:http and stops. */
const REQUEST_FLOOR = ['-e', 'require("node:http").get(process.env.AWS_ENDPOINT_URL)'];

/** CPU ms a live process has used so far, all threads (Linux schedstat, ns); NaN where unavailable. */
function cpuSoFarMs(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return NaN;
  }
}

/** Which request arrived, for the report: the AWS service and operation, else method and path. */
function describeRequest(req: IncomingMessage): string {
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
  const target = req.headers['x-amz-target'] ?? /\/operation\/(\w+)/.exec(req.url ?? '')?.[1];
  return service
    ? `${service} ${target ?? `${req.method} ${req.url}`}`
    : `${req.method} ${req.url?.split(/[?&]/)[0]}`;
}

/**
 * A loopback server standing for AWS, GitHub's API and its OIDC endpoint: it answers 503 and tells the
 * run waiting for it that a request arrived (one run at a time).
 */
async function firstRequestServer() {
  let waiting: ((request: string) => void) | undefined;
  const server = createServer((req, res) => {
    waiting?.(describeRequest(req));
    waiting = undefined;
    req.resume();
    res.writeHead(503, { connection: 'close' }).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    next: () => new Promise<string>((resolve) => (waiting = resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Run {
  wallMs: number;
  cpuMs: number;
  code: number | null;
  output: string;
  /** The first request the run sent, when it was waited for. */
  request?: string;
}

/**
 * Spawn `args` on `node`; time until it exits or, with `firstRequest`, until its first request
 * reaches the bench's server (then it is killed).
 */
async function timedRun(
  node: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  firstRequest?: Promise<string>,
): Promise<Run> {
  const started = performance.now();
  const child = spawn(node, ['--import', CPU_AT_EXIT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<{ at: number; code: number | null }>((resolve) =>
    child.on('exit', (code) => resolve({ at: performance.now(), code })),
  );
  const closed = once(child, 'close');
  const first = await Promise.race([
    exited.then(() => undefined),
    firstRequest?.then((request) => ({ request, at: performance.now(), cpuMs: cpuSoFarMs(child.pid!) })),
  ]);
  if (first) child.kill('SIGKILL');
  const { at, code } = await exited;
  await closed;
  clearTimeout(timer);
  const cpuAtExit = Number(/@@cpu (\d+)/.exec(output)?.[1]) / 1000;
  return first
    ? { wallMs: first.at - started, cpuMs: first.cpuMs, code, output, request: first.request }
    : { wallMs: at - started, cpuMs: cpuAtExit, code, output };
}

const figure = (runs: Run[]): StartFigure => ({
  wallMs: round1(median(runs.map((r) => r.wallMs))),
  cpuMs: round1(median(runs.map((r) => r.cpuMs))),
});

const errorLine = (output: string) =>
  output
    .split('\n')
    .find((l) => l.startsWith('::error::'))
    ?.replace('::error::', '') ?? '';

/** An ESM file's own size and that of every chunk it imports statically (what loads before it runs). */
async function staticImportBytes(file: string, seen = new Set<string>()): Promise<number> {
  if (seen.has(file)) return 0;
  seen.add(file);
  const text = await readFile(file, 'utf8');
  let bytes = Buffer.byteLength(text);
  for (const m of text.matchAll(/(?:^|[;}\n])\s*import\s*(?:[^'"();]*?\bfrom\s*)?["'](\.\.?\/[^"']+)["']/g))
    bytes += await staticImportBytes(path.resolve(path.dirname(file), m[1]), seen);
  return bytes;
}

/** The INPUT_* variables the runner sets: the workflow's `with:` over action.yml's defaults. */
async function inputVariables(root: string, action: string, inputs: Record<string, string>) {
  const spec = parseYaml(
    await readFile(path.join(root, '.github/actions', action, 'action.yml'), 'utf8'),
  ) as {
    inputs?: Record<string, { default?: string }>;
  };
  const values = {
    ...Object.fromEntries(
      Object.entries(spec.inputs ?? {}).flatMap(([k, v]) =>
        v.default === undefined ? [] : [[k, String(v.default)]],
      ),
    ),
    ...inputs,
  };
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
}

/**
 * Start-up of each bundled action in .github/actions/dist, on each Node in `nodes` (default: the
 * runners' major, action.yml `runs.using`, fetched from npm as the stand-in image's is, and this
 * machine's), interleaved, `repeats` runs of each:
 * - exit: spawned with no inputs, until it exits with its missing-input error;
 * - first request: with its workflow's inputs (ACTION_RUNS), until its first request or command;
 * beside the floors on the same Node: `node -e ''` and a script that sends one node:http request.
 */
export async function measureActionStarts(
  root: string,
  repeats: number,
  log: (s: string) => void,
  nodes?: ActionNode[],
) {
  const dist = path.join(root, '.github/actions/dist');
  const actions = (await readdir(dist).catch(() => []))
    .filter((f) => /\.(c|m)?js$/.test(f))
    .map((f) => f.replace(/\.(c|m)?js$/, ''))
    .sort();
  const unlisted = actions.filter((a) => !ACTION_RUNS[a]);
  if (unlisted.length)
    throw new Error(
      `add ${unlisted.join(', ')} to ACTION_RUNS in scripts/bench/pipeline.ts (its workflow's inputs)`,
    );
  nodes ??= await actionNodes(root, log);

  const server = await firstRequestServer();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'action-starts-'));
  // infra-diff and infra-drift start `npx cdk synth` before any request: a shim reports it as one.
  const shims = path.join(scratch, 'bin');
  await mkdir(shims);
  const port = new URL(server.url).port;
  await writeFile(
    path.join(shims, 'npx'),
    `#!/usr/bin/env bash\nexec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET /exec/npx HTTP/1.0\\r\\n\\r\\n' >&3\nexit 1\n`,
    { mode: 0o755 },
  );
  const bare = { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const runner = {
    ...bare,
    PATH: `${shims}:${process.env.PATH}`,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: root,
    GITHUB_RUN_ID: '1',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SHA: BENCH_SHA,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: server.url,
    RUNNER_TEMP: scratch,
    ACTIONS_ID_TOKEN_REQUEST_URL: `${server.url}/oidc-token`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'bench',
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'bench',
  };
  const inputs = new Map(
    await Promise.all(
      actions.map(async (a) => [a, await inputVariables(root, a, ACTION_RUNS[a].inputs)] as const),
    ),
  );

  type Samples = {
    floorExit: Run[];
    floorRequest: Run[];
    exit: Map<string, Run[]>;
    first: Map<string, Run[]>;
  };
  const samples = new Map<string, Samples>(
    nodes.map((n) => [
      n.label,
      {
        floorExit: [],
        floorRequest: [],
        exit: new Map(actions.map((a) => [a, []])),
        first: new Map(actions.map((a) => [a, []])),
      },
    ]),
  );
  try {
    for (let i = 0; i < repeats; i++) {
      log(`  round ${i + 1}/${repeats}`);
      for (const node of i % 2 ? [...nodes].reverse() : nodes) {
        const s = samples.get(node.label)!;
        s.floorExit.push(await timedRun(node.path, ['-e', ''], bare));
        s.floorRequest.push(await timedRun(node.path, REQUEST_FLOOR, runner, server.next()));
        for (const a of actions) {
          const bundle = path.join(dist, `${a}.js`);
          // No INPUT_* and no runner variables: the action must fail fast on its first required input.
          s.exit.get(a)!.push(await timedRun(node.path, [bundle], bare));
          s.first
            .get(a)!
            .push(await timedRun(node.path, [bundle], { ...runner, ...inputs.get(a) }, server.next()));
        }
      }
    }
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }

  const results = [];
  for (const a of actions) {
    const file = path.join(dist, `${a}.js`);
    const byNode = nodes.map((node) => {
      const s = samples.get(node.label)!;
      const first = s.first.get(a)!;
      const unanswered = first.filter((r) => !r.request);
      if (unanswered.length)
        throw new Error(
          `${a} on ${node.label} exited before its first request (exit ${unanswered[0].code}): ${errorLine(unanswered[0].output) || unanswered[0].output.slice(-500)}`,
        );
      return {
        node: node.label,
        floorExit: figure(s.floorExit),
        floorRequest: figure(s.floorRequest),
        exit: figure(s.exit.get(a)!),
        firstRequest: { ...figure(first), request: first[0].request! },
      };
    });
    const exitRuns = samples.get(nodes.at(-1)!.label)!.exit.get(a)!;
    results.push({
      action: a,
      from: ACTION_RUNS[a].from,
      // The last node's exit median (this machine's by default), as before.
      startMedianMs: byNode.at(-1)!.exit.wallMs,
      runs: repeats,
      exitCode: exitRuns[0].code ?? -1,
      error: errorLine(exitRuns[0].output),
      bytes: (await stat(file)).size,
      gzipBytes: gzipSync(await readFile(file)).length,
      startBytes: await staticImportBytes(file),
      byNode,
    });
    for (const n of byNode)
      log(
        `  ${a} on ${n.node}: exit ${n.exit.wallMs} ms (cpu ${n.exit.cpuMs}; floor ${n.floorExit.wallMs}), first request ${n.firstRequest.wallMs} ms (cpu ${n.firstRequest.cpuMs}; floor ${n.floorRequest.wallMs}) ${n.firstRequest.request}`,
      );
  }
  return results;
}

/** The Node the runners run actions on (action.yml `runs.using`, fetched from npm) and this machine's. */
async function actionNodes(root: string, log: (s: string) => void): Promise<ActionNode[]> {
  const spec = parseYaml(await readFile(path.join(root, '.github/actions/promote/action.yml'), 'utf8')) as {
    runs: { using: string };
  };
  // The stand-in image's Node build (agent/Dockerfile's major), when it is the runners' major too.
  const runnerNode = await imageNodeForHost(path.join(root, 'agent/Dockerfile'), log);
  if (`node${runnerNode.version.split('.')[0]}` !== spec.runs.using)
    throw new Error(
      `actions run ${spec.runs.using} but agent/Dockerfile's Node is ${runnerNode.version}: pass the nodes to measureActionStarts`,
    );
  return [
    { label: `Node ${runnerNode.version} (runners' ${spec.runs.using})`, path: runnerNode.path },
    { label: `Node ${process.version.slice(1)} (this machine's)`, path: process.execPath },
  ];
}

export async function measureSynth(root: string, log: (s: string) => void) {
  log('  npm run synth');
  const r = await run('npm', ['run', '--silent', 'synth'], {
    cwd: root,
    check: false,
    timeoutMs: 5 * 60_000,
  });
  const stacks = Number(/synthesized (\d+) stacks?/.exec(r.stdout)?.[1] ?? 0);
  return {
    exitCode: r.code,
    wallMs: Math.round(r.ms),
    stacks,
    ...(r.code ? { error: r.stderr.slice(-500) } : {}),
  };
}

export async function fileSize(file: string) {
  const data = await readFile(file);
  return { bytes: data.length, gzipBytes: gzipSync(data).length };
}

/** A split bundle's entry and every file under the chunks/ folder beside it (what the image copies). */
export async function splitBundleSize(entry: string) {
  const chunks = path.join(path.dirname(entry), 'chunks');
  const files = [entry, ...(await readdir(chunks).catch(() => [])).map((f) => path.join(chunks, f))];
  const sizes = await Promise.all(files.map(fileSize));
  return {
    bytes: sizes.reduce((n, x) => n + x.bytes, 0),
    gzipBytes: sizes.reduce((n, x) => n + x.gzipBytes, 0),
  };
}
