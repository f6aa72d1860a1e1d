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
import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
  CreateAgentRuntimeEndpointCommand,
  CreateMemoryCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { CreateRepositoryCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  githubWorkflows,
  loadEnvironment,
  previewRuntimeName,
  sharedResourceNames,
  type Environment,
  type StackOutputKey,
} from '../environments';
import { loadPrices } from '../environments/prices';
import { resourcesFromStackOutputs, runtimeSpec } from '../environments/runtime-spec';
import type { StackOutputs } from '../.github/actions/src/lib/stack-outputs';
import type { GuardrailConfig } from '../local/src/services/guardrail';
import { provisionFromTemplates, synthesizeStacks } from '../local/src/provision/templates';
import { startTwin, type Twin, type TwinOptions } from '../local/src/twin';
import { invokeAgent } from '../.github/actions/src/lib/agui';
import { clientCredentialsToken } from '../.github/actions/src/lib/cognito';
import { pollUntil } from '../.github/actions/src/lib/poll';
import { findRuntime, getEndpoint, getRuntime, requireRuntime } from '../.github/actions/src/lib/runtime';
import type { SmokeReport } from '../.github/actions/src/steps/smoke-test';
import { buildAgent } from './build-agent';
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
    cwd: root,
    env: {
      PATH: process.env.PATH,
      GITHUB_WORKSPACE: root,
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

// ---------------------------------------------------------------------------------------------
// What the CDK stacks would have created, on the twin

/**
 * The id Bedrock would give an environment's guardrail: lowercase letters and digits (the model's
 * GuardrailIdentifier pattern), never the guardrail's name, which has hyphens.
 */
const guardrailId = (env: Environment) => env.names.guardrail.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Twin options with each environment's guardrail (named and worded as its file says). */
export function twinOptions(envs: Environment[]): TwinOptions {
  return {
    // The registry account (dev's, where previews live too): image URIs are built from it.
    accountId: (envs.find((e) => e.name === 'dev') ?? envs[0]).account,
    agentcore: { readyDelayMs: 100 },
    guardrail: {
      guardrails: envs.map((e) => ({
        id: guardrailId(e),
        version: '1',
        blockedInputMessage: e.guardrail.blockedInputMessage,
        blockedOutputMessage: e.guardrail.blockedOutputMessage,
        promptAttack: true,
        // The twin's guardrail knows the PII types the environments use.
        pii: e.guardrail.pii as GuardrailConfig['pii'],
      })),
    },
  };
}

export interface Provisioned {
  env: Environment;
  runtimeId: string;
  runtimeArn: string;
  tokenUrl: string;
  userPoolId: string;
  clientId: string;
  clientSecret: string;
  memoryId: string;
}

/** The commit provision() records as the release the environments start from. */
export const seedSha = '5eed'.padEnd(40, '0');

/**
 * Runtime (version 1 on `image`, by digest), `live` endpoint, Cognito pool + machine client, memory,
 * the stack-outputs parameter, the records of an earlier release of `image`, alarms.
 */
export async function provision(twin: Twin, env: Environment, image: string): Promise<Provisioned> {
  // What the environment's stack creates lives in its account: sign as that account's admin.
  const te = twin.env({ account: env.account });
  const sdk = {
    region: twin.context.region,
    endpoint: twin.url,
    maxAttempts: 1,
    credentials: { accessKeyId: te.AWS_ACCESS_KEY_ID, secretAccessKey: te.AWS_SECRET_ACCESS_KEY },
  };
  const control = new BedrockAgentCoreControlClient(sdk);
  const poolId = twin.cognito.createUserPool(env.names.userPool);
  const [server, scope] = env.names.invokeScope.split('/');
  twin.cognito.createResourceServer(poolId, server, [scope]);
  const user = twin.cognito.createClient(poolId, { name: 'web', generateSecret: false });
  const machine = twin.cognito.createClient(poolId, { name: 'smoke', scopes: [env.names.invokeScope] });
  const memory = await control.send(
    new CreateMemoryCommand({ name: env.names.memory, eventExpiryDuration: env.memory.expiryDays }),
  );
  const outputs: Partial<Record<StackOutputKey, string>> = {
    ExecutionRoleArn: `arn:aws:iam::${env.account}:role/${env.names.executionRole}`,
    MemoryId: memory.memory!.id!,
    GuardrailId: guardrailId(env),
    GuardrailVersion: '1',
    DiscoveryUrl: twin.cognito.discoveryUrl(poolId),
    UserClientId: user.clientId,
    MachineClientId: machine.clientId,
  };
  // The stack's runtime configuration, from the same function the stack and previews use.
  const spec = runtimeSpec(env, resourcesFromStackOutputs(outputs as StackOutputs, loadPrices()));
  const created = await control.send(
    new CreateAgentRuntimeCommand({
      ...spec,
      description: `${env.name} runtime`,
      agentRuntimeName: env.names.runtime,
      agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
    }),
  );
  await endpointReady(control, created.agentRuntimeId!, 'DEFAULT');
  await control.send(
    new CreateAgentRuntimeEndpointCommand({
      agentRuntimeId: created.agentRuntimeId,
      name: env.runtime.liveEndpoint,
      agentRuntimeVersion: created.agentRuntimeVersion,
    }),
  );
  await endpointReady(control, created.agentRuntimeId!, env.runtime.liveEndpoint);
  const ssm = new SSMClient(sdk);
  const put = (Name: string, Value: string) =>
    ssm.send(new PutParameterCommand({ Name, Value, Type: 'String', Overwrite: true }));
  const tokenUrl = `${twin.cognito.issuer(poolId)}/oauth2/token`;
  // What the stack writes: its outputs, where the actions (previews too) read ids (contract §1).
  Object.assign(outputs, {
    RuntimeId: created.agentRuntimeId!,
    RuntimeArn: created.agentRuntimeArn!,
    LiveEndpointName: env.runtime.liveEndpoint,
    UserPoolId: poolId,
    InvokeScope: env.names.invokeScope,
    TokenEndpoint: tokenUrl,
    AlarmTopicArn: `arn:aws:sns:${env.region}:${env.account}:${env.names.alarmTopic}`,
    AlarmNamePrefix: env.names.alarmPrefix,
  });
  await put(env.names.outputsParameter, JSON.stringify(outputs));
  // The environment as an earlier pipeline run left it: version 1 promoted from `seedSha`.
  await put(env.names.imageParameter, image);
  await put(env.names.liveVersionParameter, created.agentRuntimeVersion!);
  await put(
    env.names.releaseParameter,
    JSON.stringify({ sha: seedSha, image, version: created.agentRuntimeVersion }),
  );
  for (const name of ['latency-p95', 'system-errors', 'throttles']) {
    twin.inAccount(env.account, () => {
      twin.cloudwatch.putAlarm({
        AlarmName: `${env.names.alarmPrefix}${name}`,
        Namespace: 'AWS/Bedrock-AgentCore',
        Threshold: 1,
      });
      twin.cloudwatch.setAlarmState(`${env.names.alarmPrefix}${name}`, 'OK');
    });
  }
  return {
    env,
    runtimeId: created.agentRuntimeId!,
    runtimeArn: created.agentRuntimeArn!,
    tokenUrl,
    userPoolId: poolId,
    clientId: machine.clientId,
    clientSecret: machine.clientSecret!,
    memoryId: memory.memory!.id!,
  };
}

/**
 * The roles, OIDC providers, policies and registry the CDK app synthesizes, created in both accounts
 * through the twin's IAM and ECR APIs (local/src/provision). Attributes of resources provision()
 * made in-process (guardrail, memory) are resolved from them.
 */
export async function provisionIdentities(twin: Twin, envs: Provisioned[]) {
  const report = await provisionFromTemplates(twin, await synthesizeStacks(), {
    attribute: (stack, _id, attribute, resource) => {
      const p = envs.find((e) => e.env.names.stack === stack.name);
      if (!p) return undefined;
      if (resource?.Type === 'AWS::Bedrock::Guardrail' && attribute === 'GuardrailArn')
        return `arn:aws:bedrock:${stack.region}:${stack.account}:guardrail/${guardrailId(p.env)}`;
      if (resource?.Type === 'AWS::BedrockAgentCore::Memory' && attribute === 'MemoryArn')
        return `arn:aws:bedrock-agentcore:${stack.region}:${stack.account}:memory/${p.memoryId}`;
      if (resource?.Type === 'AWS::Cognito::UserPool' && attribute === 'Arn')
        return `arn:aws:cognito-idp:${stack.region}:${stack.account}:userpool/${p.userPoolId}`;
      return undefined;
    },
  });
  const unresolved = report.skipped.filter((s) => s.includes(' statement '));
  if (unresolved.length)
    throw new Error(`policy statements the provisioner could not resolve: ${unresolved.join('; ')}`);
  return report;
}

/**
 * An environment provisioned on version 1 of a seed image pushed (and its repository created) with
 * `ecr`: what the action tests start from.
 */
export async function provisionSeeded(twin: Twin, env: Environment, dir: string, ecr: ECRClient) {
  const file = path.join(dir, 'seed.mjs');
  fs.writeFileSync(file, '// seed\n');
  const seed = await pushLocalImage({
    repository: sharedResourceNames(env.app.app).repository,
    tags: ['seed'],
    bundlePath: file,
    create: true,
    ecr,
  });
  return { provisioned: await provision(twin, env, seed.imageUri), seedImage: seed.imageUri };
}

function endpointReady(control: BedrockAgentCoreControlClient, runtimeId: string, endpointName: string) {
  return pollUntil(
    async () => ((await getEndpoint(control, runtimeId, endpointName)).status === 'READY' ? true : undefined),
    {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: `endpoint ${endpointName} of ${runtimeId} on the twin to be READY`,
    },
  );
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
// The rehearsal

interface Row {
  step: string;
  ms: number;
  ok: boolean;
  note: string;
}

async function rehearse(): Promise<Row[]> {
  const rows: Row[] = [];
  const dev = loadEnvironment('dev');
  const prod = loadEnvironment('prod');
  const preview = loadEnvironment('preview');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rehearse-'));
  const twin = await startTwin(twinOptions([dev, prod]));
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
    }
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
  const envs: Record<string, Provisioned> = {};
  const sha1 = 'c0ffee'.padEnd(40, '1');
  const sha2 = 'badbad'.padEnd(40, '2');
  let releaseImage = '';

  try {
    await step('build agent bundle (npm run build:agent)', async () => {
      const { outfile, bytes } = await buildAgent();
      return `${path.relative(root, outfile)} ${(bytes / 1024).toFixed(0)} KiB`;
    });
    const bundle = path.join(root, 'agent/dist/server.mjs');
    const seed = agentArtifact(work, 'seed', bundle);
    const bad = agentArtifact(
      work,
      'no-guardrail',
      bundle,
      'delete process.env.GUARDRAIL_ID; delete process.env.GUARDRAIL_VERSION;',
    );

    await step('provision dev + prod (what CDK creates)', async () => {
      const ecrEnv = { AWS_ENDPOINT_URL: twin.url };
      Object.assign(process.env, ecrEnv, {
        AWS_REGION: twin.context.region,
        AWS_ACCESS_KEY_ID: twin.credentials(dev.account).accessKeyId,
        AWS_SECRET_ACCESS_KEY: twin.credentials(dev.account).secretAccessKey,
      });
      const seeded = await pushLocalImage({
        repository: sharedResourceNames(dev.app.app).repository,
        tags: ['seed'],
        bundlePath: seed,
        create: true,
      });
      // The shared stack's second repository: pull-request images, apart from the releases.
      await new ECRClient({ region: twin.context.region, endpoint: twin.url, maxAttempts: 1 }).send(
        new CreateRepositoryCommand({ repositoryName: sharedResourceNames(dev.app.app).previewRepository }),
      );
      for (const env of [dev, prod]) envs[env.name] = await provision(twin, env, seeded.imageUri);
      return `runtimes ${dev.names.runtime}, ${prod.names.runtime} on version 1 (${seeded.digest.slice(0, 19)}…)`;
    });

    await step('identities from the synthesized templates (dev + prod accounts)', async () => {
      const report = await provisionIdentities(twin, Object.values(envs));
      const roles = report.created.filter((c) => c.includes('AWS::IAM::Role')).length;
      return `${roles} roles, ${report.created.length} resources; ${report.skipped.length} non-identity resources left to provision()`;
    });

    const assume = async (
      environment: string,
      job: { environment?: string; eventName?: string; ref?: string; workflow?: string },
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
      const role = job.environment
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
        return `gates passed, p95 first token ${smoke.outputs['first-token-p95-ms']} ms, total ${smoke.outputs['total-p95-ms']} ms, est. ${gateCost![2]} for ${requests.length} requests`;
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
          return `${r.outputs.outcome}: 3 alarms quiet`;
        });
      }
    }

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
      const p = envs.dev;
      const smoke = mustPass(
        await action('smoke-test', {
          environment: 'preview',
          'runtime-arn': deployed.outputs['runtime-arn'],
          qualifier: 'DEFAULT',
          'token-url': p.tokenUrl,
          'client-id': p.clientId,
          'user-pool-id': p.userPoolId,
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
      expect(
        gh.comments.length === 1 && gh.comments[0].body.includes('✅ all gates passed'),
        `comments: ${gh.comments.map((c) => c.body.slice(0, 80)).join(' / ')}`,
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
  } finally {
    await gh.close();
    await twin.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return rows;
}

function printTable(rows: Row[]) {
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
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  rehearse()
    .then((rows) => {
      printTable(rows);
      // For tools (npm run bench): one JSON object on the last line.
      if (process.argv.includes('--json')) console.log(JSON.stringify({ steps: rows }));
      process.exit(rows.every((r) => r.ok) ? 0 : 1);
    })
    .catch((e: Error) => {
      console.error(`rehearsal aborted: ${e.stack ?? e.message}`);
      process.exit(1);
    });
}
