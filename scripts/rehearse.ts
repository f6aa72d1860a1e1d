/**
 * Pipeline rehearsal: the release flow of .github/workflows/release.yml on the local twin, with the
 * committed action bundles run as child processes exactly as the runner runs them (INPUT_* variables,
 * GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STEP_SUMMARY files), with the inputs the workflow passes.
 *
 *   npm run rehearse [-- --json]   (--json: also one {"steps":[{step,ms,ok,note}]} line at the end)
 *
 * dev deploy → smoke → promote → prod deploy (same digest) → smoke → promote → watch alarms; then a
 * candidate that skips the guardrail (gate fails, live keeps answering, DEFAULT is restored to what
 * live serves and verified by invocation), rollbacks to the previous release and by sha (from the
 * promotion record), and a PR preview (created, commented on a loopback GitHub REST stand-in,
 * deleted). Exits non-zero if an expectation fails.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BedrockAgentCoreControlClient } from '@aws-sdk/client-bedrock-agentcore-control';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  githubWorkflows,
  loadEnvironment,
  previewRuntimeName,
  sharedResourceNames,
  type Environment,
} from '../environments';
import { readStackOutputs } from '../.github/actions/src/lib/stack-outputs';
import { cdkEnvironment, provisionStacks } from '../local/src/provision/stacks';
import { startTwin, type Twin } from '../local/src/twin';
import { invokeAgent } from '../.github/actions/src/lib/agui';
import { clientCredentialsToken, clientSecret } from '../.github/actions/src/lib/cognito';
import { findRuntime, getEndpoint, getRuntime, requireRuntime } from '../.github/actions/src/lib/runtime';
import { SLOWEST_EXPLAINED, type SmokeReport } from '../.github/actions/src/steps/smoke-test';
import { buildAgent } from './build-agent';
import { rehearseEvalGate } from './rehearsal/eval-gate';
import { rehearsalPipeline, resolveInputs } from './rehearsal/pipeline';
import { tokenRequest } from '../local/src/token-cli';
import { pushLocalImage } from './push-local-image';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, '.github/actions/dist');

// ---------------------------------------------------------------------------------------------
// Running a bundled action the way the runner does

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  /** Variables the step exported (core.exportVariable → GITHUB_ENV). */
  exported: Record<string, string>;
  summary: string;
}

/** Parse the runner's file-command format: `name=value` lines and `name<<DELIM … DELIM` blocks. */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1);
      if (end < 0) throw new Error(`file command "${heredoc[1]}" opens <<${heredoc[2]} but never closes it`);
      out[heredoc[1]] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i].includes('=')) {
      out[lines[i].slice(0, lines[i].indexOf('='))] = lines[i].slice(lines[i].indexOf('=') + 1);
    }
  }
  return out;
}

/** Run `.github/actions/dist/<step>.js` with `with:` inputs as INPUT_<NAME> and the job's env. */
export async function runAction(
  step: string,
  inputs: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
  /** The job's checkout (GITHUB_WORKSPACE, and the step's working directory); default this repository. */
  workspace = root,
): Promise<ActionRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `action-${step}-`));
  const files = {
    GITHUB_OUTPUT: 'output',
    GITHUB_ENV: 'env',
    GITHUB_STEP_SUMMARY: 'summary',
    GITHUB_STATE: 'state',
  };
  const fileEnv = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, path.join(dir, f)]));
  for (const f of Object.values(fileEnv)) fs.writeFileSync(f, '');
  const inputEnv = Object.fromEntries(
    Object.entries(inputs)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
  const child = spawn(process.execPath, [path.join(dist, `${step}.js`)], {
    cwd: workspace,
    env: {
      PATH: process.env.PATH,
      GITHUB_WORKSPACE: workspace,
      ...env,
      ...fileEnv,
      ...inputEnv,
    } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const read = (k: string) => fs.readFileSync(fileEnv[k], 'utf8');
  const run = {
    code,
    stdout,
    stderr,
    outputs: parseFileCommands(read('GITHUB_OUTPUT')),
    exported: parseFileCommands(read('GITHUB_ENV')),
    summary: read('GITHUB_STEP_SUMMARY'),
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return run;
}

/**
 * The smoke summary's traces section, checked: every request linked to its trace in the console, and
 * where the time went (first token, model, tools, memory) for the slowest ones, read from the spans
 * the agent exported to the twin's X-Ray. Returns a one-line account of the slowest request.
 */
export function smokeTraces(summary: string, report: SmokeReport): string {
  const expect = (ok: boolean, message: string) => {
    if (!ok) throw new Error(`${message}\n${summary}`);
  };
  expect(!report.traceNote, `smoke traces: ${report.traceNote}`);
  for (const r of report.requests)
    expect(
      !!r.traceId && summary.includes(`[${r.traceId}](https://`),
      `smoke summary: no trace link for ${r.name}`,
    );
  const explained = summary
    .split('\n')
    .map((l) =>
      /^\| ([^|]+) \| (\d+) \| (\d+) ms \| (\d+) ms \((\d+)\) \| (\d+) ms \| (\d+) ms \| ([^|]+) \| \[/.exec(
        l,
      ),
    )
    .filter((m) => m !== null);
  expect(
    explained.length === SLOWEST_EXPLAINED,
    `smoke summary: ${explained.length} requests with where their time went, not the ${SLOWEST_EXPLAINED} slowest`,
  );
  const [, name, total, first, model, calls, tools, memory, slowest] = explained[0];
  return `slowest ${name.trim()} ${total} ms: first token ${first} ms, model ${model} ms (${calls} calls), tools ${tools} ms, memory ${memory} ms, slowest span ${slowest.trim()}`;
}

/** An agent artifact: a tiny ESM file that starts the real bundle, optionally with the environment changed. */
export function agentArtifact(dir: string, name: string, bundle: string, prelude = ''): string {
  const file = path.join(dir, `${name}.mjs`);
  fs.writeFileSync(
    file,
    `// rehearsal artifact ${name}\n${prelude}\nawait import(${JSON.stringify(pathToFileURL(bundle).href)});\n`,
  );
  return file;
}

/** A loopback stand-in for the GitHub REST endpoints the preview and sweep steps call. */
export async function githubStandIn() {
  /** `issue`: the pull request a comment is on (comments a test pushes without one show on every PR). */
  const comments: { id: number; body: string; html_url: string; issue?: number }[] = [];
  const pulls: Record<number, string> = {};
  let next = 1;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      const url = new URL(req.url!, 'http://x');
      let m: RegExpExecArray | null;
      if (
        req.method === 'GET' &&
        (m = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(url.pathname))
      ) {
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        const issue = Number(m[1]);
        const on = comments.filter((c) => c.issue === undefined || c.issue === issue);
        const slice = on.slice((page - 1) * perPage, page * perPage);
        if (page * perPage < on.length) {
          res.setHeader(
            'link',
            `<http://${req.headers.host}${url.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"`,
          );
        }
        return send(200, slice);
      }
      if (
        req.method === 'POST' &&
        (m = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(url.pathname))
      ) {
        const c = {
          id: next++,
          body: JSON.parse(body).body,
          html_url: `https://github.example/c/${next}`,
          issue: Number(m[1]),
        };
        comments.push(c);
        return send(201, c);
      }
      if (
        req.method === 'PATCH' &&
        (m = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(url.pathname))
      ) {
        const c = comments.find((x) => x.id === Number(m![1]));
        if (!c) return send(404, { message: 'Not Found' });
        c.body = JSON.parse(body).body;
        return send(200, c);
      }
      if (req.method === 'GET' && (m = /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/.exec(url.pathname))) {
        const state = pulls[Number(m[1])];
        if (!state) return send(404, { message: 'Not Found' });
        if (state === 'error') return send(502, { message: 'Bad Gateway' });
        return send(200, { number: Number(m[1]), state });
      }
      send(404, { message: `no stand-in for ${req.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    comments,
    pulls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// ---------------------------------------------------------------------------------------------
// What the stacks made, read as the pipeline reads it

/** The commit the first deploy's image is recorded as (what rollbacks go back to). */
const seedSha = '5eed'.padEnd(40, '0');

/** What the rehearsal's own checks need of a deployed environment. */
interface Deployed {
  env: Environment;
  runtimeArn: string;
  tokenUrl: string;
  userPoolId: string;
  clientId: string;
  clientSecret: string;
}

/**
 * The environment stack's outputs from its stack-outputs parameter (as the actions read them) and its
 * machine client's secret from the user pool (as smoke-test reads it), as the account's admin.
 */
async function fromStackOutputs(twin: Twin, env: Environment): Promise<Deployed> {
  const config = {
    region: twin.context.region,
    endpoint: twin.url,
    maxAttempts: 1,
    credentials: twin.credentials(env.account),
  };
  const outputs = await readStackOutputs(new SSMClient(config), env);
  const source = { clientId: outputs.MachineClientId, userPoolId: outputs.UserPoolId };
  return {
    env,
    runtimeArn: outputs.RuntimeArn,
    tokenUrl: outputs.TokenEndpoint,
    userPoolId: outputs.UserPoolId,
    clientId: outputs.MachineClientId,
    clientSecret: await clientSecret(source, new CognitoIdentityProviderClient(config), () => {}),
  };
}

/**
 * A pull request's checkout of this repository: environments/ is a copy it may change, scripts/ a copy
 * (a script started through a link would not see itself as the main module), infra/ a folder of links
 * (the CLI's output folder, cdk.json's infra/cdk.out, is the checkout's own), everything else a link to
 * this repository.
 */
function pullRequestCheckout(dir: string): string {
  const link = (from: string, to: string, skip: string[]) => {
    fs.mkdirSync(to, { recursive: true });
    for (const entry of fs.readdirSync(from))
      if (!skip.includes(entry)) fs.symlinkSync(path.join(from, entry), path.join(to, entry));
  };
  link(root, dir, ['.git', 'environments', 'scripts', 'infra']);
  link(path.join(root, 'infra'), path.join(dir, 'infra'), ['cdk.out']);
  for (const copied of ['environments', 'scripts'])
    fs.cpSync(path.join(root, copied), path.join(dir, copied), { recursive: true });
  return dir;
}

/** A workflow `run:` line: the command in the checkout with the job's environment; its stdout, or why it failed. */
function run(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (d: Buffer) => ((stdout += d), (output += d)));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${output.slice(-2000)}`)),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// The rehearsal

interface Row {
  step: string;
  ms: number;
  ok: boolean;
  note: string;
}

interface Rehearsal {
  rows: Row[];
  /** The provisioning step alone: its time and the per-stack lines of local/src/provision/stacks.ts. */
  provisioning: { ms: number; log: string[] };
}

async function rehearse(): Promise<Rehearsal> {
  const rows: Row[] = [];
  const dev = loadEnvironment('dev');
  const prod = loadEnvironment('prod');
  const preview = loadEnvironment('preview');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rehearse-'));
  // An empty twin: two accounts, no stacks, no roles beyond each account's admin.
  const twin = await startTwin({ accountId: dev.account, agentcore: { readyDelayMs: 100 } });
  const gh = await githubStandIn();
  const repository = dev.app.github.repository;
  const step = async (name: string, fn: () => Promise<string>) => {
    const started = performance.now();
    try {
      const note = await fn();
      rows.push({ step: name, ms: performance.now() - started, ok: true, note });
    } catch (e) {
      rows.push({
        step: name,
        ms: performance.now() - started,
        ok: false,
        note: (e as Error).message.split('\n')[0],
      });
      if (process.env.REHEARSE_VERBOSE) console.error((e as Error).stack ?? e);
    }
    // Progress while it runs (the table comes at the end).
    const row = rows.at(-1)!;
    console.error(`${row.ok ? 'ok  ' : 'FAIL'} ${(row.ms / 1000).toFixed(1).padStart(6)} s  ${name}`);
  };
  const expect = (cond: boolean, message: string) => {
    if (!cond) throw new Error(message);
  };
  const action = (
    name: string,
    inputs: Record<string, string | undefined>,
    extraEnv: Record<string, string> = {},
  ) => runAction(name, inputs, { ...jobEnv, ...extraEnv });
  const mustPass = (r: ActionRun, what: string) => {
    const error = /::error::(.*)/.exec(r.stdout)?.[1];
    expect(r.code === 0, `${what} failed: ${error ?? r.stderr.slice(0, 300)}`);
    return r;
  };
  let jobEnv: Record<string, string> = {
    ...twin.env(),
    GITHUB_REPOSITORY: repository,
    GITHUB_API_URL: gh.url,
    GITHUB_RUN_ID: '4242',
    GITHUB_SERVER_URL: 'https://github.example',
  };
  delete jobEnv.AWS_ACCESS_KEY_ID;
  delete jobEnv.AWS_SECRET_ACCESS_KEY;
  const envs: Record<string, Deployed> = {};
  const provisioningLog: string[] = [];
  let provisioningMs = 0;
  const sha1 = 'c0ffee'.padEnd(40, '1');
  const sha2 = 'badbad'.padEnd(40, '2');
  let releaseImage = '';

  try {
    await step('build agent bundle (npm run build:agent)', async () => {
      const { outfile, bytes } = await buildAgent();
      return `${path.relative(root, outfile)} ${(bytes / 1024).toFixed(0)} KiB`;
    });
    const bundle = path.join(root, 'agent/dist/server.mjs');
    const bad = agentArtifact(
      work,
      'no-guardrail',
      bundle,
      'delete process.env.GUARDRAIL_ID; delete process.env.GUARDRAIL_VERSION;',
    );
    // The rehearsal's own look-ups and image pushes sign as the registry (dev) account's admin.
    Object.assign(process.env, twin.env({ account: dev.account }));

    let firstImage = '';
    await step('cdk bootstrap (scoped policy) + cdk deploy of every stack, both accounts', async () => {
      const started = performance.now();
      const provisioned = await provisionStacks(twin, {
        bundle: fs.readFileSync(bundle),
        log: (line) => provisioningLog.push(line),
      });
      provisioned.cleanup();
      firstImage = provisioned.imageUri;
      provisioningMs = performance.now() - started;
      for (const env of [dev, prod]) envs[env.name] = await fromStackOutputs(twin, env);
      return `${provisioned.stacks.length} stacks through the real CDK CLI; runtimes on v1 (${firstImage.slice(-19)})`;
    });

    const assume = async (
      environment: string,
      job: { environment?: string; eventName?: string; ref?: string; workflow?: string; role?: string },
    ) => {
      const target = loadEnvironment(environment);
      // The token GitHub gives that job: its trigger, ref, GitHub environment and workflow file.
      const workflow = job.workflow ?? githubWorkflows.release;
      const request = twin.github.tokenRequest({
        repository,
        ref: job.ref ?? 'refs/heads/main',
        sha: sha1,
        eventName: job.eventName ?? 'push',
        environment: job.environment,
        workflowPath: `.github/workflows/${workflow}`,
        workflow: workflow.replace(/\.yml$/, ''),
      });
      // The role the workflow job assumes: an environment's deploy role for jobs in a GitHub
      // environment, the preview role for pull requests, the build role for pushes to main.
      const names = sharedResourceNames(target.app.app);
      const role = job.role
        ? job.role
        : job.environment
          ? target.names.deployRole
          : job.eventName === 'pull_request'
            ? names.previewRole
            : names.buildRole;
      const r = mustPass(
        await action(
          'aws-credentials',
          {
            'role-to-assume': `arn:aws:iam::${target.account}:role/${role}`,
            environment,
            audience: 'sts.amazonaws.com',
          },
          request.env,
        ),
        'aws-credentials',
      );
      jobEnv = { ...jobEnv, ...r.exported };
      return r;
    };

    // What rollbacks go back to: the first deploy's image recorded as a release, as promote records one.
    await step(`dev + prod: promote v1 (the first deploy) as release ${seedSha.slice(0, 7)}`, async () => {
      for (const name of ['dev', 'prod']) {
        await assume(name, { environment: name });
        const r = mustPass(
          await action('promote', { environment: name, version: '1', sha: seedSha }),
          `promote ${name} v1`,
        );
        expect(r.outputs['image-uri'] === firstImage, `${name} v1 runs ${r.outputs['image-uri']}`);
      }
      return `${dev.names.releaseParameter} and prod's record {${seedSha.slice(0, 7)}, v1}; live stays v1`;
    });

    await step('build: credentials (OIDC → STS) + build-image', async () => {
      await assume('dev', {});
      const r = mustPass(
        await action('build-image', {
          sha: sha1,
          ref: 'refs/heads/main',
          environment: 'dev',
          builder: 'auto',
          'agent-bundle': 'agent/dist/server.mjs',
        }),
        'build-image',
      );
      releaseImage = r.outputs['image-uri'];
      expect(/@sha256:[0-9a-f]{64}$/.test(releaseImage), `image-uri not by digest: ${releaseImage}`);
      expect(r.outputs.tags === `${sha1},latest`, `tags ${r.outputs.tags}`);
      return `${r.outputs.tags.replace(sha1, sha1.slice(0, 7))} → …${releaseImage.slice(-12)}`;
    });

    // As the workflows do: runtime, pool, machine client and token endpoint come from the stack outputs.
    const smokeTest = (name: string) => action('smoke-test', { environment: name, qualifier: 'DEFAULT' });
    const releaseTo = async (name: string, image: string) => {
      const deploy = mustPass(
        await action('deploy-runtime', { environment: name, 'image-uri': image }),
        `deploy ${name}`,
      );
      return { deploy, smoke: await smokeTest(name) };
    };

    for (const name of ['dev', 'prod']) {
      let version = '';
      let previousLive = '';
      let deployed: ActionRun | undefined;
      let alarmBaseline = '';
      await step(`${name}: deploy (new version; DEFAULT serves it as the candidate)`, async () => {
        await assume(name, { environment: name });
        deployed = mustPass(
          await action('deploy-runtime', { environment: name, 'image-uri': releaseImage }),
          `deploy ${name}`,
        );
        version = deployed.outputs.version;
        expect(
          deployed.outputs['previous-version'] === '1' && version === '2',
          `versions ${deployed.outputs['previous-version']} → ${version}`,
        );
        return `v${deployed.outputs['previous-version']} → v${version}; live untouched`;
      });
      await step(`${name}: smoke gate on the candidate`, async () => {
        if (!deployed) throw new Error('nothing was deployed');
        const smoke = mustPass(await smokeTest(name), `smoke ${name}`);
        // The secret it read from the pool was masked before it could appear anywhere else.
        const mask = '::add-mask::';
        const first = smoke.stdout.indexOf(envs[name].clientSecret);
        expect(
          first >= mask.length && smoke.stdout.startsWith(mask, first - mask.length),
          'smoke-test did not mask the client secret it read before anything else',
        );
        const { requests } = JSON.parse(smoke.outputs.report) as SmokeReport;
        const { smoke: gates } = envs[name].env;
        expect(
          requests.length === gates.cases.length + gates.samples && requests.every((r) => r.usage.length > 0),
          `smoke report: ${requests.length} requests, ${requests.filter((r) => !r.usage.length).length} without usage`,
        );
        const gateCost = /^\| \*\*Gate \((\d+) requests\)\*\* \|(?:[^|]*\|){4} (\$[\d.]+) \|/m.exec(
          smoke.summary,
        );
        expect(
          gateCost?.[1] === String(requests.length),
          `no gate cost row in the smoke summary:\n${smoke.summary}`,
        );
        const traced = smokeTraces(smoke.summary, JSON.parse(smoke.outputs.report) as SmokeReport);
        return `gates passed, p95 first token ${smoke.outputs['first-token-p95-ms']} ms, total ${smoke.outputs['total-p95-ms']} ms, est. ${gateCost![2]} for ${requests.length} requests; ${traced}`;
      });
      // As release.yml: the versioned evals, the candidate against live, before promote.
      await step(`${name}: eval gate on the candidate against live`, async () => {
        const r = mustPass(
          await action('eval-gate', { environment: name, qualifier: 'DEFAULT' }),
          'eval-gate',
        );
        expect(r.outputs.passed === 'true', `eval gate passed=${r.outputs.passed}`);
        return (
          /^.*(suites?|cases?).*$/m.exec(r.stdout.replace(/::\w+::/g, ''))?.[0].slice(0, 100) ?? 'passed'
        );
      });
      await step(`${name}: promote live (records the release)`, async () => {
        const r = mustPass(
          await action('promote', { environment: name, version, sha: sha1 }),
          `promote ${name}`,
        );
        previousLive = r.outputs['previous-live-version'];
        alarmBaseline = r.outputs['alarm-baseline'];
        const { names, account } = envs[name].env;
        const parameter = (n: string) => twin.inAccount(account, () => twin.ssm.get(n));
        expect(parameter(names.imageParameter) === releaseImage, 'SSM image parameter not updated');
        expect(parameter(names.liveVersionParameter) === version, 'live-version parameter not updated');
        const record = parameter(names.releaseParameter);
        expect(
          record === JSON.stringify({ sha: sha1, image: releaseImage, version }),
          `release record: ${record}`,
        );
        return `live v${previousLive} → v${r.outputs.version}; ${names.releaseParameter} = {${sha1.slice(0, 7)}, same digest, v${version}}`;
      });
      if (name === 'prod') {
        await step('prod: watch alarms (window shortened to one look)', async () => {
          const r = mustPass(
            await action('watch-alarms', {
              environment: 'prod',
              'alarm-baseline': alarmBaseline,
              'rollback-to-version': previousLive,
              'watch-minutes': '0',
              'poll-seconds': '1',
            }),
            'watch-alarms',
          );
          expect(r.outputs.outcome === 'ok', `outcome ${r.outputs.outcome}`);
          const watched = (JSON.parse(alarmBaseline) as unknown[]).length;
          return `${r.outputs.outcome}: ${watched} alarms quiet`;
        });
      }
    }

    // An infra change as a pull request makes it: the same checkout with one number changed in dev.yaml.
    const infraPr = 12;
    const prSha = '1f4a'.padEnd(40, '3');
    const checkout = pullRequestCheckout(path.join(work, 'checkout'));
    const latencyAlarm = `${dev.names.alarmPrefix}latency-p95`;
    const threshold = { before: dev.alarms.latencyP95Ms, after: dev.alarms.latencyP95Ms + 5000 };
    const devYaml = path.join(checkout, 'environments/dev.yaml');
    const yamlText = fs.readFileSync(devYaml, 'utf8');
    const changed = yamlText.replace(/^(\s+latencyP95Ms:) \d+$/m, `$1 ${threshold.after}`);
    if (changed === yamlText)
      throw new Error('environments/dev.yaml has no alarms.latencyP95Ms line to change');
    fs.writeFileSync(devYaml, changed);
    // The runner's HOME and CI, no AWS config files; the job's credentials come from aws-credentials.
    const runner = cdkEnvironment(twin, work);
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete runner[k];
    const inCheckout = () => ({ ...runner, ...jobEnv }) as Record<string, string>;

    await step(
      `infra PR #${infraPr}: dev latency alarm ${threshold.before} → ${threshold.after} ms; infra-diff (diff role) comments exactly that`,
      async () => {
        // As infra-diff.yml's job: no credentials step; the action trades the pull request's OIDC token
        // for each account's read-only diff role itself.
        const request = twin.github.tokenRequest({
          repository,
          ref: `refs/pull/${infraPr}/merge`,
          sha: prSha,
          eventName: 'pull_request',
          workflowPath: `.github/workflows/${githubWorkflows.infraDiff}`,
          workflow: githubWorkflows.infraDiff.replace(/\.yml$/, ''),
        });
        const prJob: Record<string, string> = { ...inCheckout(), ...request.env };
        for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete prJob[k];
        const r = mustPass(
          await runAction(
            'infra-diff',
            {
              'assume-diff-roles': 'true',
              'pull-request': String(infraPr),
              sha: prSha,
              'github-token': 'ghs_rehearsal',
            },
            prJob,
            checkout,
          ),
          'infra-diff',
        );
        expect(r.outputs.changed === 'true', `infra-diff says changed=${r.outputs.changed}`);
        const comments = gh.comments.filter((c) => c.issue === infraPr);
        expect(comments.length === 1, `${comments.length} comments on PR #${infraPr}`);
        const body = comments[0].body;
        // One heading per stack: the dev stack has the alarm (and the dashboard that draws its
        // threshold) changed; every other stack, in both accounts, has no changes.
        const stacks = [...body.matchAll(/^#### `([^`]+)`: (.*)$/gm)].map(([, stack, summary]) => ({
          stack,
          summary,
        }));
        const others = stacks.filter((x) => x.stack !== dev.names.stack);
        expect(
          stacks.find((x) => x.stack === dev.names.stack)?.summary === '2 changed',
          `dev stack: ${stacks.find((x) => x.stack === dev.names.stack)?.summary ?? 'missing'}`,
        );
        expect(
          others.length === 3 && others.every((x) => x.summary === 'no changes'),
          `other stacks: ${others.map((x) => `${x.stack} ${x.summary}`).join('; ')}`,
        );
        const rows = body.split('\n').filter((l) => /^\| 🟡 changed \|/.test(l));
        expect(
          rows.length === 2 &&
            rows[0].includes('`AWS::CloudWatch::Alarm`') &&
            rows[0].includes(`\`Threshold\`: ${threshold.before} → ${threshold.after}`) &&
            rows[1].includes('`AWS::CloudWatch::Dashboard`'),
          `changed rows:\n${rows.join('\n')}`,
        );
        expect(
          !/IAM changes|Security group changes/.test(body),
          'the comment calls out IAM or security groups',
        );
        return `one comment: ${dev.names.stack} 2 changed (alarm Threshold ${threshold.before} → ${threshold.after}, dashboard); ${others.map((x) => `${x.stack}: ${x.summary}`).join(', ')}`;
      },
    );

    await step(
      'infra merge: cdk deploy of dev (infra role) → alarm changed; live, image, version untouched',
      async () => {
        const control = new BedrockAgentCoreControlClient({
          region: twin.context.region,
          endpoint: twin.url,
          maxAttempts: 1,
          credentials: twin.credentials(dev.account),
        });
        const runtimeBefore = await requireRuntime(control, dev.names.runtime);
        const liveBefore = (
          await getEndpoint(control, runtimeBefore.agentRuntimeId!, dev.runtime.liveEndpoint)
        ).liveVersion;
        // As infra-deploy.yml's job (called by release.yml from main, GitHub environment dev): the infra role.
        await assume('dev', {
          environment: 'dev',
          workflow: githubWorkflows.infraDeploy,
          role: dev.names.infraRole,
        });
        const env = inCheckout();
        const listed = (await run('npx', ['tsx', 'scripts/infra-stacks.ts', 'dev'], checkout, env)).trim();
        if (!listed) throw new Error('scripts/infra-stacks.ts dev printed no stacks');
        const stacks = listed.split(' ');
        await run(
          'npx',
          [
            'cdk',
            'deploy',
            '--exclusively',
            '--require-approval',
            'never',
            '--progress',
            'events',
            ...stacks,
          ],
          checkout,
          env,
        );
        const alarm = twin.inAccount(dev.account, () => twin.cloudwatch.alarm(latencyAlarm));
        expect(alarm?.Threshold === threshold.after, `${latencyAlarm} threshold ${alarm?.Threshold}`);
        const runtime = await getRuntime(control, runtimeBefore.agentRuntimeId!);
        const live = await getEndpoint(control, runtime.agentRuntimeId!, dev.runtime.liveEndpoint);
        const parameter = (n: string) => twin.inAccount(dev.account, () => twin.ssm.get(n));
        expect(
          runtime.agentRuntimeVersion === runtimeBefore.agentRuntimeVersion,
          `the deploy made runtime version ${runtime.agentRuntimeVersion}`,
        );
        expect(
          runtime.agentRuntimeArtifact?.containerConfiguration?.containerUri === releaseImage,
          `runtime image ${runtime.agentRuntimeArtifact?.containerConfiguration?.containerUri}`,
        );
        expect(
          live.liveVersion === liveBefore && live.liveVersion === '2',
          `live serves v${live.liveVersion}`,
        );
        expect(parameter(dev.names.liveVersionParameter) === '2', 'live-version parameter changed');
        expect(parameter(dev.names.imageParameter) === releaseImage, 'image parameter changed');
        return `${stacks.join(' + ')} deployed; ${latencyAlarm} threshold ${threshold.after}; live v${live.liveVersion}, runtime v${runtime.agentRuntimeVersion} on …${releaseImage.slice(-12)}`;
      },
    );

    /** The endpoint blocks the prompt attack, as a guarded release does (DEFAULT, or `live` by default). */
    const liveAnswers = async (name: string, qualifier = envs[name].env.runtime.liveEndpoint) => {
      const p = envs[name];
      const token = await clientCredentialsToken({
        tokenUrl: p.tokenUrl,
        clientId: p.clientId,
        clientSecret: p.clientSecret,
        scope: p.env.names.invokeScope,
      });
      const r = await invokeAgent(
        {
          dataPlaneUrl: twin.url,
          runtimeArn: p.runtimeArn,
          qualifier,
          bearerToken: token,
        },
        p.env.smoke.cases[0].prompt,
      );
      return r.answer.trim() === p.env.guardrail.blockedInputMessage;
    };
    // The rehearsal's own checks read as the environment account's admin.
    const control = (name: string) =>
      new BedrockAgentCoreControlClient({
        region: twin.context.region,
        endpoint: twin.url,
        maxAttempts: 1,
        credentials: twin.credentials(envs[name].env.account),
      });
    const liveVersion = async (name: string) => {
      const rt = await requireRuntime(control(name), envs[name].env.names.runtime);
      return (await getEndpoint(control(name), rt.agentRuntimeId!, envs[name].env.runtime.liveEndpoint))
        .liveVersion;
    };

    await step('dev: bad candidate (skips the guardrail) → gate fails, live untouched', async () => {
      await assume('dev', { environment: 'dev' });
      const badImage = await pushLocalImage({
        repository: sharedResourceNames(dev.app.app).repository,
        tags: [sha2],
        bundlePath: bad,
      });
      const { deploy, smoke } = await releaseTo('dev', badImage.imageUri);
      // Workflow commands encode newlines as %0A.
      const failure = (/::error::(.*)/.exec(smoke.stdout)?.[1] ?? '').replaceAll('%0A', ' ');
      // It answers, fast, but unguarded: exactly the guardrail cases fail, the latency gates pass.
      expect(
        smoke.code !== 0 &&
          /prompt attack is blocked/.test(failure) &&
          /e-mail is masked/.test(failure) &&
          !/latency|first token|a benign question/i.test(failure),
        `smoke should fail on the guardrail cases only: ${failure || 'it passed'}`,
      );
      expect((await liveVersion('dev')) === '2', 'live moved');
      expect(await liveAnswers('dev'), 'live no longer blocks the prompt attack');
      expect(!(await liveAnswers('dev', 'DEFAULT')), 'DEFAULT should serve the unguarded candidate');
      return `candidate v${deploy.outputs.version} failed "${failure.slice(0, 60)}…"; live still v2 and blocks`;
    });

    await step('dev: failed gate → restore DEFAULT to what live serves, verified by invocation', async () => {
      const r = mustPass(
        await action('deploy-runtime', { environment: 'dev', 'restore-default': 'true' }),
        'restore-default',
      );
      expect(r.outputs.action === 'restored', `restore-default: ${r.outputs.action}`);
      expect(await liveAnswers('dev', 'DEFAULT'), 'DEFAULT still serves the rejected candidate');
      return `DEFAULT v${r.outputs['previous-version']} (rejected) → v${r.outputs.version} = live's image and configuration; it blocks the attack again`;
    });

    await step('dev: candidate that stops calling a tool → smoke passes, eval gate rejects it', () =>
      rehearseEvalGate({ action, assume, work, bundle, env: dev, liveVersion: () => liveVersion('dev') }),
    );

    /** As rollback.yml does after a rollback: DEFAULT must not keep serving what was rolled away from. */
    const restoreDefault = async (name: string) => {
      mustPass(
        await action('deploy-runtime', { environment: name, 'restore-default': 'true' }),
        'restore-default',
      );
      expect(await liveAnswers(name, 'DEFAULT'), 'DEFAULT does not answer as live does');
    };

    await step('dev: rollback previous → live v1, verified by an invocation', async () => {
      await assume('dev', {
        environment: 'dev',
        eventName: 'workflow_dispatch',
        workflow: githubWorkflows.rollback,
      });
      const r = mustPass(
        await action('rollback', { environment: 'dev', target: 'previous', reason: 'rehearsal' }),
        'rollback',
      );
      await restoreDefault('dev');
      expect(
        r.outputs.version === '1' && (await liveVersion('dev')) === '1',
        `live is ${await liveVersion('dev')}`,
      );
      expect(await liveAnswers('dev'), 'live v1 does not answer');
      return `live v${r.outputs['previous-live-version']} → v${r.outputs.version} (the release before ${sha1.slice(0, 7)} in ${dev.names.releaseParameter})`;
    });

    await step('dev: rollback to the release sha (from the promotion record) → live v2 again', async () => {
      // A pull request's image carrying the release's sha as its tag must not redirect the rollback.
      await pushLocalImage({
        repository: sharedResourceNames(dev.app.app).previewRepository,
        tags: [sha1],
        bundlePath: bad,
      });
      const r = mustPass(
        await action('rollback', { environment: 'dev', target: sha1, reason: 'rehearsal' }),
        'rollback sha',
      );
      await restoreDefault('dev');
      expect(r.outputs.version === '2' && r.outputs.redeployed === 'false', `version ${r.outputs.version}`);
      expect(r.outputs['image-uri'] === releaseImage, `rolled back to ${r.outputs['image-uri']}`);
      expect(await liveAnswers('dev'), 'live v2 does not block the prompt attack');
      return `record ${sha1.slice(0, 7)} → v${r.outputs.version} (${releaseImage.slice(-12)}), not the PR image tagged ${sha1.slice(0, 7)}; nothing redeployed`;
    });

    await step(
      'prod: rollback to a release sha across accounts (prod role, image in dev’s registry)',
      async () => {
        await assume('prod', {
          environment: 'prod',
          eventName: 'workflow_dispatch',
          workflow: githubWorkflows.rollback,
        });
        const r = mustPass(
          await action('rollback', { environment: 'prod', target: seedSha, reason: 'rehearsal' }),
          'rollback prod sha',
        );
        await restoreDefault('prod');
        expect(r.outputs.version === '1' && r.outputs.redeployed === 'false', `version ${r.outputs.version}`);
        expect(
          r.outputs['image-uri'].startsWith(`${dev.account}.dkr.ecr.`),
          `image ${r.outputs['image-uri']}`,
        );
        // Promote moved prod's tag in the dev account's registry: a cross-account retag under prod's role.
        const registry = new ECRClient({
          region: twin.context.region,
          endpoint: twin.url,
          maxAttempts: 1,
          credentials: twin.credentials(dev.account),
        });
        const { imageDetails = [] } = await registry.send(
          new DescribeImagesCommand({
            repositoryName: sharedResourceNames(dev.app.app).repository,
            imageIds: [{ imageTag: 'prod' }],
          }),
        );
        const prodTag = imageDetails[0];
        expect(
          !!prodTag && r.outputs['image-uri'].endsWith(prodTag.imageDigest ?? 'none'),
          'the prod tag in the dev registry does not follow the rollback',
        );
        expect(await liveAnswers('prod'), 'prod live v1 does not answer');
        return `record ${seedSha.slice(0, 7)} → prod v${r.outputs.version}; prod tag moved in account ${dev.account}'s registry by prod's deploy role`;
      },
    );

    const pr = 7;
    await step(`preview: PR #${pr} built (preview repository), created, gated, commented`, async () => {
      await assume('preview', {
        eventName: 'pull_request',
        ref: `refs/pull/${pr}/merge`,
        workflow: githubWorkflows.preview,
      });
      const build = mustPass(
        await action('build-image', { sha: sha1, 'pull-request': String(pr), environment: 'dev' }),
        'build-image (pr)',
      );
      expect(build.outputs.tags === `pr-${pr}-${sha1}`, `tags ${build.outputs.tags}`);
      const previewRepository = `/${sharedResourceNames(dev.app.app).previewRepository}@`;
      expect(build.outputs['image-uri'].includes(previewRepository), `image ${build.outputs['image-uri']}`);
      const common = { 'pull-request': String(pr), sha: sha1, 'github-token': 'ghs_rehearsal' };
      const deployed = mustPass(
        await action('preview', { operation: 'deploy', ...common, 'image-uri': build.outputs['image-uri'] }),
        'preview deploy',
      );
      const runtime = await getRuntime(control('dev'), deployed.outputs['runtime-arn'].split('/').at(-1)!);
      expect(
        runtime.requestHeaderConfiguration?.requestHeaderAllowlist?.includes('Authorization') === true,
        'the preview runtime does not pass Authorization to the agent',
      );
      const smoke = mustPass(
        await action('smoke-test', {
          environment: 'preview',
          'runtime-arn': deployed.outputs['runtime-arn'],
          qualifier: 'DEFAULT',
        }),
        'preview smoke',
      );
      mustPass(
        await action('preview', {
          operation: 'report',
          ...common,
          'runtime-arn': deployed.outputs['runtime-arn'],
          version: deployed.outputs.version,
          'image-uri': build.outputs['image-uri'],
          'smoke-report': smoke.outputs.report,
          failed: 'false',
        }),
        'preview report',
      );
      const onPr = gh.comments.filter((c) => c.issue === pr);
      expect(
        onPr.length === 1 && onPr[0].body.includes('✅ all gates passed'),
        `comments on PR #${pr}: ${onPr.map((c) => c.body.slice(0, 80)).join(' / ')}`,
      );
      return `${deployed.outputs['runtime-name']} v${deployed.outputs.version} from the preview repository; one comment, gates ✅`;
    });

    await step('preview: PR #8 whose deploy fails (image missing) → still a failure comment', async () => {
      const common = { 'pull-request': '8', sha: sha2, 'github-token': 'ghs_rehearsal' };
      const registry = `${dev.account}.dkr.ecr.${dev.region}.amazonaws.com`;
      const missing = `${registry}/${sharedResourceNames(dev.app.app).previewRepository}:pr-8-${sha2}`;
      const deploy = await action('preview', { operation: 'deploy', ...common, 'image-uri': missing });
      const why = (/::error::(.*)/.exec(deploy.stdout)?.[1] ?? '').replaceAll('%0A', ' ');
      expect(deploy.code !== 0 && !deploy.outputs['runtime-arn'], 'deploying a missing image succeeded');
      // As preview.yml's report step runs after a failed deploy: no runtime-arn, failed=true.
      mustPass(
        await action('preview', { operation: 'report', ...common, failed: 'true' }),
        'preview report (failed)',
      );
      const comment = gh.comments.find((c) => c.issue === 8);
      expect(!!comment?.body.includes('❌ The preview of'), `comment: ${comment?.body.slice(0, 120)}`);
      return `deploy failed ("${why.slice(0, 50)}…"); failure comment written`;
    });

    await step(
      `preview: PR #${pr} closed → runtime deleted, comment updated; again → idempotent`,
      async () => {
        const common = {
          operation: 'delete',
          'pull-request': String(pr),
          sha: sha1,
          'github-token': 'ghs_rehearsal',
        };
        mustPass(await action('preview', common), 'preview delete');
        mustPass(await action('preview', common), 'preview delete again');
        expect(
          !(await findRuntime(control('dev'), previewRuntimeName(preview.app.app, pr))),
          'preview runtime still exists',
        );
        const onPr = gh.comments.filter((c) => c.issue === pr);
        expect(onPr.length === 1 && onPr[0].body.includes('was deleted'), 'comment not updated');
        return 'runtime gone, still one comment';
      },
    );

    // ci.yml's `actions` job runs this same list on GitHub's runners (ci-parity.test.ts keeps the two equal).
    await step("ci.yml's actions job (scripts/rehearsal/pipeline.ts), step by step", async () => {
      const outputs: Record<string, Record<string, string>> = {};
      for (const s of rehearsalPipeline) {
        const inputs = resolveInputs(s, outputs);
        if (s.token) {
          // As the step before it in ci.yml: `npm run twin:token` for the job, written to the token file.
          const job = tokenRequest([
            '--event',
            s.token.event,
            ...(s.token.environment ? ['--environment', s.token.environment] : []),
          ]);
          if (job === 'help') throw new Error('tokenRequest answered help');
          const { audience, ...context } = job;
          const file = path.join(root, inputs['web-identity-token-file']);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, await twin.github.mintToken(context, { audience }));
        }
        const r = mustPass(await action(s.action, inputs), s.id);
        if (s.action === 'aws-credentials') jobEnv = { ...jobEnv, ...r.exported };
        outputs[s.id] = r.outputs;
      }
      const { deploy, promote, rollback } = outputs;
      expect(
        rollback.version === promote['previous-live-version'],
        `rollback landed on v${rollback.version}, not v${promote['previous-live-version']}`,
      );
      return `${rehearsalPipeline.length} steps: v${deploy.version} promoted, rolled back to v${rollback.version}, live smoke green`;
    });
  } finally {
    await gh.close();
    await twin.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { rows, provisioning: { ms: provisioningMs, log: provisioningLog } };
}

function printTable({ rows, provisioning }: Rehearsal) {
  const w = Math.max(...rows.map((r) => r.step.length));
  console.log(`\n${'step'.padEnd(w)}  ${'time'.padStart(8)}  result`);
  console.log(`${'-'.repeat(w)}  ${'-'.repeat(8)}  ------`);
  for (const r of rows) {
    console.log(
      `${r.step.padEnd(w)}  ${`${(r.ms / 1000).toFixed(2)} s`.padStart(8)}  ${r.ok ? 'ok  ' : 'FAIL'} ${r.note}`,
    );
  }
  const total = rows.reduce((s, r) => s + r.ms, 0);
  console.log(
    `${'total'.padEnd(w)}  ${`${(total / 1000).toFixed(2)} s`.padStart(8)}  ${rows.filter((r) => !r.ok).length} failed of ${rows.length}`,
  );
  if (provisioning.log.length) {
    console.log(`\nprovisioning alone: ${(provisioning.ms / 1000).toFixed(2)} s`);
    for (const line of provisioning.log) console.log(`  ${line}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  rehearse()
    .then((rehearsal) => {
      printTable(rehearsal);
      // For tools (npm run bench): one JSON object on the last line.
      if (process.argv.includes('--json'))
        console.log(JSON.stringify({ steps: rehearsal.rows, provisioning: rehearsal.provisioning }));
      process.exit(rehearsal.rows.every((r) => r.ok) ? 0 : 1);
    })
    .catch((e: Error) => {
      console.error(`rehearsal aborted: ${e.stack ?? e.message}`);
      process.exit(1);
    });
}
