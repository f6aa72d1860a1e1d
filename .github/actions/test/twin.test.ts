import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  BedrockAgentCoreControlClient,
  UpdateAgentRuntimeCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironment, sharedResourceNames } from '../../../environments';
import { startTwin, type Twin } from '../../../local/src/twin';
import { githubProvider, githubTrust, putRole } from '../../../local/test/helpers/iam';
import { githubStandIn, runAction } from '../../../scripts/rehearse';
import { provisionSeeded, twinOptions, type Provisioned } from './helpers/provision';
import { pushLocalImage } from '../../../scripts/push-local-image';
import { upsertComment, PREVIEW_MARKER } from '../src/lib/comment';
import { containerUri, getEndpoint, getRuntime } from '../src/lib/runtime';
import { repositoryName } from '../src/lib/tags';
import { assumeRole } from '../src/steps/aws-credentials';
import { deployRuntime } from '../src/steps/deploy-runtime';
import { deletePreview } from '../src/steps/preview';
import { sweepPreviews } from '../src/steps/sweep-previews';
import { promote } from '../src/steps/promote';
import { rollback } from '../src/steps/rollback';
import { alarmStates, watchAlarms } from '../src/steps/watch-alarms';

const dev = loadEnvironment('dev');
const repo = sharedResourceNames(dev.app.app).repository;
const wait = { timeoutSeconds: 10, pollSeconds: 0.05 };
let twin: Twin;
let p: Provisioned;
let work: string;
let images: string[];
const cfg = () => ({
  region: 'us-east-1',
  endpoint: twin.url,
  maxAttempts: 1,
  credentials: twin.credentials(dev.account),
});
const control = () => new BedrockAgentCoreControlClient(cfg());
const ssm = () => new SSMClient(cfg());
const ecr = () => new ECRClient(cfg());
/** What the promote/rollback steps get for dev (as promotionTarget(env) gives the actions), with fast waits. */
const devTarget = () => ({
  control: control(),
  ssm: ssm(),
  ecr: ecr(),
  environmentTag: 'dev',
  runtimeId: p.runtimeId,
  runtimeName: dev.names.runtime,
  endpointName: 'live',
  imageParameter: dev.names.imageParameter,
  releaseParameter: dev.names.releaseParameter,
  liveVersionParameter: dev.names.liveVersionParameter,
  wait,
});
const push = async (name: string, architecture?: string) => {
  const file = path.join(work, `${name}.mjs`);
  fs.writeFileSync(file, `// ${name}\n`);
  return (
    await pushLocalImage({
      repository: repo,
      tags: [name],
      bundlePath: file,
      architecture,
      ecr: new ECRClient(cfg()),
    })
  ).imageUri;
};
const live = async () => (await getEndpoint(control(), p.runtimeId, 'live')).liveVersion;

beforeAll(async () => {
  // The dev account is the default, so the in-process reads (twin.ssm, twin.cloudwatch) see its resources.
  twin = await startTwin({ ...twinOptions([dev]), accountId: dev.account });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-twin-'));
  const { provisioned, seedImage } = await provisionSeeded(twin, dev, work, new ECRClient(cfg()));
  p = provisioned;
  images = [seedImage, await push('a'.repeat(40)), await push('b'.repeat(40))];
});
afterAll(async () => {
  await twin?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** A loopback proxy in front of the twin that answers chosen requests with a fault. */
async function faultProxy(
  fault: (req: http.IncomingMessage) => { status: number; type: string; xml?: boolean } | undefined,
) {
  const server = http.createServer((req, res) => {
    const f = fault(req);
    if (f?.xml) {
      // awsQuery (STS) errors are XML.
      res.writeHead(f.status, { 'content-type': 'text/xml' });
      res.end(
        `<ErrorResponse><Error><Type>Sender</Type><Code>${f.type}</Code><Message>injected ${f.type}</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
      );
      return;
    }
    if (f) {
      res.writeHead(f.status, { 'content-type': 'application/json', 'x-amzn-errortype': f.type });
      res.end(JSON.stringify({ message: `injected ${f.type}` }));
      return;
    }
    const upstream = http.request(
      `${twin.url}${req.url}`,
      { method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

describe('deploy, promote, rollback against the twin', () => {
  it('deploys a new version, leaves live alone, skips an image already current, promotes and records it', async () => {
    const before = await live();
    const d = await deployRuntime({
      control: control(),
      runtimeName: dev.names.runtime,
      imageUri: images[1],
      wait,
    });
    expect(d).toMatchObject({ action: 'updated', previousVersion: '1', version: '2' });
    const v2 = await getRuntime(control(), p.runtimeId, '2');
    const v1 = await getRuntime(control(), p.runtimeId, '1');
    expect(v2.environmentVariables).toEqual(v1.environmentVariables);
    expect(v2.authorizerConfiguration).toEqual(v1.authorizerConfiguration);
    expect(await live()).toBe(before);
    const again = await deployRuntime({
      control: control(),
      runtimeName: dev.names.runtime,
      imageUri: images[1],
      wait,
    });
    expect(again.action).toBe('unchanged');
    const pr = await promote({
      ...devTarget(),
      version: '2',
      sha: 'a'.repeat(40),
    });
    expect(pr).toMatchObject({ previousLiveVersion: '1', version: '2', changed: true, imageUri: images[1] });
    expect(await live()).toBe('2');
    expect(twin.ssm.get(dev.names.imageParameter)).toBe(images[1]);
    // The environment's moving tag follows what `live` runs (lifecycle rules keep it), digest unchanged.
    const tagged = await ecr().send(
      new DescribeImagesCommand({
        repositoryName: repositoryName(images[1]),
        imageIds: [{ imageTag: 'dev' }],
      }),
    );
    expect(`${images[1].split('@')[0]}@${tagged.imageDetails?.[0]?.imageDigest}`).toBe(images[1]);
  });

  it('UPDATE_FAILED fails with the service’s reason and leaves live untouched', async () => {
    const amd = await push('c'.repeat(40), 'amd64');
    await expect(
      deployRuntime({ control: control(), runtimeName: dev.names.runtime, imageUri: amd, wait }),
    ).rejects.toThrow(/UPDATE_FAILED: Architecture incompatible/);
    expect(await live()).toBe('2');
  });

  it('throttling (no retries left) and a conflicting concurrent update fail the deploy; live untouched', async () => {
    const proxy = await faultProxy((req) =>
      req.method === 'PUT' && /^\/runtimes\/[^/]+\/$/.test(req.url!)
        ? { status: 429, type: 'ThrottlingException' }
        : undefined,
    );
    const throttled = new BedrockAgentCoreControlClient({ ...cfg(), endpoint: proxy.url });
    await expect(
      deployRuntime({ control: throttled, runtimeName: dev.names.runtime, imageUri: images[2], wait }),
    ).rejects.toThrow(/injected ThrottlingException/);
    await proxy.close();
    expect(await live()).toBe('2');

    // Another deployer's update lands between our wait and our update: the service answers 409.
    const racing = control();
    let raced = false;
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateAgentRuntimeCommand' && !raced) {
          raced = true;
          const current = await getRuntime(control(), p.runtimeId);
          await control().send(
            new UpdateAgentRuntimeCommand({
              agentRuntimeId: p.runtimeId,
              roleArn: current.roleArn,
              networkConfiguration: current.networkConfiguration,
              agentRuntimeArtifact: { containerConfiguration: { containerUri: images[0] } },
            }),
          );
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    await expect(
      deployRuntime({ control: racing, runtimeName: dev.names.runtime, imageUri: images[2], wait }),
    ).rejects.toThrow(/ConflictException|UPDATING/);
    expect(await live()).toBe('2');
  });

  it('times out per the wait settings and an endpoint failure keeps live on its version', async () => {
    const slow = await startTwin({
      ...twinOptions([dev]),
      accountId: dev.account,
      agentcore: { readyDelayMs: 5_000 },
    });
    try {
      const file = path.join(work, 'slow.mjs');
      fs.writeFileSync(file, '// slow\n');
      const c = new BedrockAgentCoreControlClient({ ...cfg(), endpoint: slow.url });
      const image = (
        await pushLocalImage({
          repository: repo,
          tags: ['slow'],
          bundlePath: file,
          create: true,
          ecr: new ECRClient({ ...cfg(), endpoint: slow.url }),
        })
      ).imageUri;
      const spec = {
        runtimeName: 'slow_rt',
        imageUri: image,
        wait: { timeoutSeconds: 0.3, pollSeconds: 0.05 },
      };
      await expect(
        deployRuntime({
          control: c,
          ...spec,
          createIfMissing: {
            roleArn: 'arn:aws:iam::111111111111:role/r',
            networkConfiguration: { networkMode: 'PUBLIC' },
          },
        }),
      ).rejects.toThrow(/timed out after 0 s waiting for runtime .* READY/);
    } finally {
      await slow.close();
    }
    const proxy = await faultProxy((req) =>
      req.method === 'PUT' && /runtime-endpoints\/live\/$/.test(req.url!)
        ? { status: 500, type: 'InternalServerException' }
        : undefined,
    );
    const failing = new BedrockAgentCoreControlClient({ ...cfg(), endpoint: proxy.url });
    await expect(promote({ ...devTarget(), control: failing, version: '1' })).rejects.toThrow(
      /InternalServerException/,
    );
    await proxy.close();
    expect(await live()).toBe('2');
    expect(twin.ssm.get(dev.names.imageParameter)).toBe(images[1]);
  });

  it('rolls back to previous, to a version, and to a git sha (redeploying its image when no version runs it)', async () => {
    const input = devTarget();
    const imageOf = async (version: string) =>
      containerUri(await getRuntime(control(), p.runtimeId, version));
    // `previous` is the image promoted before the live one (from the SSM parameter's history).
    const back = await rollback({ ...input, target: { kind: 'previous' } });
    expect(back).toMatchObject({ previousLiveVersion: '2', redeployed: false });
    expect(await imageOf(back.version)).toBe(images[0]);
    expect(await rollback({ ...input, target: { kind: 'version', version: '2' } })).toMatchObject({
      version: '2',
    });
    const found = await rollback({ ...input, target: { kind: 'sha', sha: 'a'.repeat(40) } });
    expect(found).toMatchObject({ version: '2', redeployed: false });
    // A release whose version expired (45 days): its recorded image is deployed again.
    await ssm().send(
      new PutParameterCommand({
        Name: dev.names.releaseParameter,
        Value: JSON.stringify({ sha: 'b'.repeat(40), image: images[2], version: '99' }),
        Type: 'String',
        Overwrite: true,
      }),
    );
    const redeployed = await rollback({ ...input, target: { kind: 'sha', sha: 'b'.repeat(40) } });
    expect(redeployed.redeployed).toBe(true);
    expect(await imageOf(redeployed.version)).toBe(images[2]);
    expect(await live()).toBe(redeployed.version);
    await expect(rollback({ ...input, target: { kind: 'sha', sha: 'd'.repeat(40) } })).rejects.toThrow(
      /no promotion record .* names commit d{40}/,
    );

    // A candidate that failed its gates, between two releases, is never "previous".
    const release = (imageUri: string, sha: string) =>
      deployRuntime({ control: control(), runtimeName: dev.names.runtime, imageUri, wait }).then((d) =>
        promote({ ...input, version: d.version, sha }),
      );
    await release(images[1], 'a'.repeat(40));
    const rejected = await push('e'.repeat(40));
    await deployRuntime({ control: control(), runtimeName: dev.names.runtime, imageUri: rejected, wait });
    await release(images[2], 'b'.repeat(40));
    const skipped = await rollback({ ...input, target: { kind: 'previous' } });
    expect(await imageOf(skipped.version)).toBe(images[1]);
  });

  it('watch-alarms points live back on ALARM', async () => {
    const cloudwatch = new CloudWatchClient(cfg());
    const before = await live();
    const baseline = await alarmStates(cloudwatch, dev.names.alarmPrefix);
    const quiet = await watchAlarms({
      cloudwatch,
      alarmPrefix: dev.names.alarmPrefix,
      baseline,
      watchSeconds: 0.2,
      pollSeconds: 0.05,
    });
    expect(quiet.outcome).toBe('ok');
    expect(quiet.checks).toBeGreaterThan(1);
    twin.cloudwatch.setAlarmState(`${dev.names.alarmPrefix}system-errors`, 'ALARM', 'Threshold crossed');
    const fired = await watchAlarms({
      cloudwatch,
      alarmPrefix: dev.names.alarmPrefix,
      baseline,
      watchSeconds: 5,
      pollSeconds: 0.05,
      rollbackTo: {
        ...devTarget(),
        version: '1',
      },
    });
    expect(fired).toMatchObject({
      outcome: 'alarm',
      firing: [{ name: `${dev.names.alarmPrefix}system-errors`, reason: 'Threshold crossed' }],
    });
    expect(before).not.toBe('1');
    expect(await live()).toBe('1');
    twin.cloudwatch.setAlarmState(`${dev.names.alarmPrefix}system-errors`, 'OK');
  });
});

describe('credentials', () => {
  const roleArn = `arn:aws:iam::${dev.account}:role/${dev.names.deployRole}`;
  /** The deploy role trusts the dev environment's jobs only. */
  const trustDevJobsOnly = async () => {
    await githubProvider(twin, dev.account);
    await putRole(
      twin,
      roleArn,
      githubTrust(dev.account, {
        sub: 'repo:example-org/agentcore-gitops:environment:dev',
        aud: 'sts.amazonaws.com',
      }),
    );
  };
  /** A GitHub OIDC token for a job in `environment`, with the audience STS expects. */
  const stsToken = (environment: string) =>
    twin.github.mintToken(
      { repository: dev.app.github.repository, environment },
      { audience: 'sts.amazonaws.com' },
    );

  it('fails at once on AccessDenied, naming the token’s sub and the condition that would match', async () => {
    await trustDevJobsOnly();
    const token = await stsToken('prod');
    const started = Date.now();
    const error = await assumeRole({
      sts: new STSClient({ ...cfg() }),
      roleArn,
      sessionName: 'test',
      durationSeconds: 900,
      webIdentityToken: token,
      retryTotalMs: 60_000,
    }).catch((e: Error) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((error as Error).message).toMatch(/AccessDenied/);
    expect((error as Error).message).toContain(':sub = repo:example-org/agentcore-gitops:environment:prod');
  });

  it('retries throttling within the bound, then gets credentials and the account', async () => {
    let throttles = 2;
    const proxy = await faultProxy(() =>
      throttles-- > 0 ? { status: 400, type: 'Throttling', xml: true } : undefined,
    );
    await trustDevJobsOnly();
    const token = await stsToken('dev');
    const result = await assumeRole({
      sts: new STSClient({ ...cfg(), endpoint: proxy.url }),
      roleArn,
      sessionName: 'test',
      durationSeconds: 900,
      webIdentityToken: token,
      retryTotalMs: 10_000,
      retryBaseMs: 10,
      identityClient: (credentials) => new STSClient({ ...cfg(), credentials }),
    });
    await proxy.close();
    expect(throttles).toBeLessThan(0);
    expect(result.accountId).toBe(dev.account);
    expect(result.arn).toContain(`assumed-role/${dev.names.deployRole}/test`);
  });

  it('the action masks every secret before anything could print it, and exports them for later steps', async () => {
    await trustDevJobsOnly();
    const request = twin.github.tokenRequest({ repository: dev.app.github.repository, environment: 'dev' });
    const env = { ...twin.env(), ...request.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    const r = await runAction('aws-credentials', { 'role-to-assume': roleArn, environment: 'dev' }, env);
    expect(r.code, r.stdout).toBe(0);
    const secrets = [
      r.exported.AWS_ACCESS_KEY_ID,
      r.exported.AWS_SECRET_ACCESS_KEY,
      r.exported.AWS_SESSION_TOKEN,
    ];
    expect(secrets.every(Boolean)).toBe(true);
    expect(r.exported.AWS_REGION).toBe(dev.region);
    expect(r.outputs['aws-account-id']).toBe(dev.account);
    for (const secret of secrets) {
      const mask = r.stdout.indexOf(`::add-mask::${secret}`);
      expect(mask).toBeGreaterThanOrEqual(0);
      const unmasked = r.stdout.split(`::add-mask::${secret}`).join('');
      expect(unmasked).not.toContain(secret);
      expect(r.stderr).not.toContain(secret);
    }
  });

  it('without an OIDC token it fails fast with the id-token hint', async () => {
    const r = await runAction(
      'aws-credentials',
      { 'role-to-assume': roleArn, environment: 'dev' },
      { ...twin.env() },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error::.*id-token: write/);
  });
});

describe('PR comment and sweep (GitHub REST stand-in)', () => {
  it('keeps ONE comment, found across pages, updated in place', async () => {
    const gh = await githubStandIn();
    try {
      for (let i = 0; i < 120; i++) gh.comments.push({ id: 1000 + i, body: `chatter ${i}`, html_url: '' });
      const octokit = getOctokit('t', { baseUrl: gh.url });
      const pr = { owner: 'o', repo: 'r', number: 5 };
      expect((await upsertComment(octokit, pr, 'first')).action).toBe('created');
      for (let i = 0; i < 30; i++) gh.comments.push({ id: 2000 + i, body: `more ${i}`, html_url: '' });
      const second = await upsertComment(octokit, pr, 'second');
      expect(second.action).toBe('updated');
      const ours = gh.comments.filter((c) => c.body.includes(PREVIEW_MARKER));
      expect(ours).toHaveLength(1);
      expect(ours[0].body).toBe(`${PREVIEW_MARKER}\nsecond`);
    } finally {
      await gh.close();
    }
  });

  it('sweeps closed and stale previews, keeps open ones and never treats a failed look-up as closed', async () => {
    const gh = await githubStandIn();
    const c = control();
    const prefix = sharedResourceNames(dev.app.app).previewRuntimePrefix;
    try {
      for (const n of [11, 12, 13, 14]) {
        await deployRuntime({
          control: c,
          runtimeName: `${prefix}${n}`,
          imageUri: images[0],
          wait,
          createIfMissing: {
            roleArn: 'arn:aws:iam::111111111111:role/r',
            networkConfiguration: { networkMode: 'PUBLIC' },
          },
        });
      }
      Object.assign(gh.pulls, { 11: 'closed', 12: 'open', 13: 'error', 14: 'open' });
      const octokit = getOctokit('t', { baseUrl: gh.url, request: { retries: 0 } });
      const entries = await sweepPreviews({
        control: c,
        octokit,
        owner: 'o',
        repo: 'r',
        prefix,
        ttlHours: 72,
      });
      const by = Object.fromEntries(entries.map((e) => [e.pullRequest, e]));
      expect(by[11].decision).toBe('deleted');
      expect(by[12]).toEqual({
        runtimeName: `${prefix}12`,
        pullRequest: 12,
        decision: 'kept',
        reason: 'PR #12 is open',
      });
      expect(by[13]).toMatchObject({ decision: 'kept', lookupFailed: true });
      expect(by[13].reason).toMatch(/could not be looked up/);
      const later = await sweepPreviews({
        control: c,
        octokit,
        owner: 'o',
        repo: 'r',
        prefix,
        ttlHours: 72,
        now: new Date(Date.now() + 80 * 3_600_000),
      });
      expect(Object.fromEntries(later.map((e) => [e.pullRequest, e.decision]))).toEqual({
        12: 'deleted',
        13: 'kept',
        14: 'deleted',
      });
      expect(await deletePreview(c, `${prefix}11`)).toBe('absent');
    } finally {
      await gh.close();
    }
  });
});
