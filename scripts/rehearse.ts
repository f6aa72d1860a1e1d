/**
 * Pipeline rehearsal: the release flow of .github/workflows/release.yml on the local twin, with the
 * committed action bundles run as child processes exactly as the runner runs them (INPUT_* variables,
 * GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STEP_SUMMARY files), with the inputs the workflow passes.
 *
 *   npm run rehearse [-- --json]   (--json: also one {"steps":[{step,ms,ok,note}]} line at the end)
 *
 * dev deploy → smoke → promote → prod deploy (same digest) → smoke → promote → watch alarms; then a
 * candidate that skips the guardrail (gate fails, live keeps answering), a rollback, and a PR preview
 * (created, commented on a loopback GitHub REST stand-in, deleted). Exits non-zero if an expectation fails.
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
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { loadEnvironment, previewRuntimeName, sharedResourceNames, type Environment } from '../environments';
import { loadPrices } from '../environments/prices';
import type { GuardrailConfig } from '../local/src/services/guardrail';
import { provisionFromTemplates, synthesizeStacks } from '../local/src/provision/templates';
import { startTwin, type Twin, type TwinOptions } from '../local/src/twin';
import { invokeAgent } from '../.github/actions/src/lib/agui';
import { clientCredentialsToken } from '../.github/actions/src/lib/cognito';
import { pollUntil } from '../.github/actions/src/lib/poll';
import { findRuntime, getEndpoint, requireRuntime } from '../.github/actions/src/lib/runtime';
import { previewRuntimeSpec } from '../.github/actions/src/steps/preview';
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

/** Twin options with each environment's guardrail (named and worded as its file says). */
export function twinOptions(envs: Environment[]): TwinOptions {
  return {
    agentcore: { readyDelayMs: 100 },
    guardrail: {
      guardrails: envs.map((e) => ({
        id: e.names.guardrail,
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

/** Runtime (version 1 on `image`), `live` endpoint, Cognito pool + machine client, memory, SSM parameter, alarms. */
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
  const spec = previewRuntimeSpec(
    env,
    {
      executionRoleArn: `arn:aws:iam::${env.account}:role/${env.names.executionRole}`,
      memoryId: memory.memory!.id!,
      guardrailId: env.names.guardrail,
      guardrailVersion: '1',
      discoveryUrl: twin.cognito.discoveryUrl(poolId),
      allowedClients: [user.clientId, machine.clientId],
    },
    { pullRequest: 1, sha: '0'.repeat(40), createdAt: new Date() },
    loadPrices(),
  );
  const created = await control.send(
    new CreateAgentRuntimeCommand({
      ...spec,
      description: `${env.name} runtime`,
      tags: {},
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
  await new SSMClient(sdk).send(
    new PutParameterCommand({
      Name: env.names.imageParameter,
      Value: image,
      Type: 'String',
      Overwrite: true,
    }),
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
    tokenUrl: `${twin.cognito.issuer(poolId)}/oauth2/token`,
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
        return `arn:aws:bedrock:${stack.region}:${stack.account}:guardrail/${p.env.names.guardrail}`;
      if (resource?.Type === 'AWS::BedrockAgentCore::Memory' && attribute === 'MemoryArn')
        return `arn:aws:bedrock-agentcore:${stack.region}:${stack.account}:memory/${p.memoryId}`;
      return undefined;
    },
  });
  const unresolved = report.skipped.filter((s) => s.includes(' statement '));
  if (unresolved.length)
    throw new Error(`policy statements the provisioner could not resolve:\n${unresolved.join('\n')}`);
  return report;
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
  const comments: { id: number; body: string; html_url: string }[] = [];
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
      if (req.method === 'GET' && (m = /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/.exec(url.pathname))) {
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        const slice = comments.slice((page - 1) * perPage, page * perPage);
        if (page * perPage < comments.length) {
          res.setHeader(
            'link',
            `<http://${req.headers.host}${url.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"`,
          );
        }
        return send(200, slice);
      }
      if (req.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/.test(url.pathname)) {
        const c = { id: next++, body: JSON.parse(body).body, html_url: `https://github.example/c/${next}` };
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
      job: { environment?: string; eventName?: string; ref?: string },
    ) => {
      const target = loadEnvironment(environment);
      const request = twin.github.tokenRequest({
        repository,
        ref: job.ref ?? 'refs/heads/main',
        sha: sha1,
        eventName: job.eventName ?? 'push',
        environment: job.environment,
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

    const smokeTest = (name: string, runtimeArn: string) => {
      const p = envs[name];
      return action('smoke-test', {
        environment: name,
        'runtime-arn': runtimeArn,
        qualifier: 'DEFAULT',
        'token-url': p.tokenUrl,
        'client-id': p.clientId,
        // As the workflows do: the action reads the secret with DescribeUserPoolClient.
        'user-pool-id': p.userPoolId,
      });
    };
    const releaseTo = async (name: string, image: string) => {
      const deploy = mustPass(
        await action('deploy-runtime', { environment: name, 'image-uri': image }),
        `deploy ${name}`,
      );
      return { deploy, smoke: await smokeTest(name, deploy.outputs['runtime-arn']) };
    };

    for (const name of ['dev', 'prod']) {
      let version = '';
      let previousLive = '';
      let deployed: ActionRun | undefined;
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
        const smoke = mustPass(await smokeTest(name, deployed.outputs['runtime-arn']), `smoke ${name}`);
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
      await step(`${name}: promote live`, async () => {
        const r = mustPass(await action('promote', { environment: name, version }), `promote ${name}`);
        previousLive = r.outputs['previous-live-version'];
        expect(
          twin.inAccount(envs[name].env.account, () => twin.ssm.get(envs[name].env.names.imageParameter)) ===
            releaseImage,
          'SSM image parameter not updated',
        );
        return `live v${previousLive} → v${r.outputs.version}; ${envs[name].env.names.imageParameter} = same digest`;
      });
      if (name === 'prod') {
        await step('prod: watch alarms (window shortened to one look)', async () => {
          const r = mustPass(
            await action('watch-alarms', {
              environment: 'prod',
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

    const liveAnswers = async (name: string) => {
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
          qualifier: p.env.runtime.liveEndpoint,
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
      return `candidate v${deploy.outputs.version} failed "${failure.slice(0, 60)}…"; live still v2 and blocks`;
    });

    await step('dev: rollback previous → live v1, verified by an invocation', async () => {
      const r = mustPass(
        await action('rollback', { environment: 'dev', target: 'previous', reason: 'rehearsal' }),
        'rollback',
      );
      expect(
        r.outputs.version === '1' && (await liveVersion('dev')) === '1',
        `live is ${await liveVersion('dev')}`,
      );
      expect(await liveAnswers('dev'), 'live v1 does not answer');
      return `live v${r.outputs['previous-live-version']} → v${r.outputs.version}`;
    });

    await step('dev: rollback to the release sha → live v2 again', async () => {
      const r = mustPass(
        await action('rollback', { environment: 'dev', target: sha1, reason: 'rehearsal' }),
        'rollback sha',
      );
      expect(r.outputs.version === '2' && r.outputs.redeployed === 'false', `version ${r.outputs.version}`);
      return `found v${r.outputs.version} running ${sha1.slice(0, 7)}; nothing redeployed`;
    });

    const pr = 7;
    await step(`preview: PR #${pr} built, created, gated, commented`, async () => {
      await assume('preview', { eventName: 'pull_request', ref: `refs/pull/${pr}/merge` });
      const build = mustPass(
        await action('build-image', { sha: sha1, 'pull-request': String(pr), environment: 'dev' }),
        'build-image (pr)',
      );
      expect(build.outputs.tags === `pr-${pr}-${sha1}`, `tags ${build.outputs.tags}`);
      const common = { 'pull-request': String(pr), sha: sha1, 'github-token': 'ghs_rehearsal' };
      const deployed = mustPass(
        await action('preview', { operation: 'deploy', ...common, 'image-uri': build.outputs['image-uri'] }),
        'preview deploy',
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
          'smoke-report': smoke.outputs.report,
          failed: 'false',
        }),
        'preview report',
      );
      expect(
        gh.comments.length === 1 && gh.comments[0].body.includes('✅ all gates passed'),
        `comments: ${gh.comments.map((c) => c.body.slice(0, 80)).join(' / ')}`,
      );
      return `${deployed.outputs['runtime-name']} v${deployed.outputs.version}; one comment, gates ✅`;
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
        expect(
          gh.comments.length === 1 && gh.comments[0].body.includes('was deleted'),
          'comment not updated',
        );
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
