/**
 * The build, preview and sweep actions as the runner runs them (the committed bundles, INPUT_*
 * variables) against the twin, behind a loopback proxy that records every AWS call they make.
 */
import http from 'node:http';
import { BedrockAgentCoreClient, ListActorsCommand } from '@aws-sdk/client-bedrock-agentcore';
import {
  BedrockAgentCoreControlClient,
  GetAgentRuntimeCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { CreateRepositoryCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironment, previewRuntimeName, sharedResourceNames } from '../../../environments';
import { startTwin, type Twin } from '../../../local/src/twin';
import { buildAgent } from '../../../scripts/build-agent';
import { pushLocalImage } from '../../../scripts/push-local-image';
import { githubStandIn, runAction } from '../../../scripts/rehearse';
import { provision, twinOptions, type Provisioned } from './helpers/provision';
import { invokeAgent } from '../src/lib/agui';
import { pollUntil } from '../src/lib/poll';

const dev = loadEnvironment('dev');
const preview = loadEnvironment('preview');
const names = sharedResourceNames(dev.app.app);
const registry = `${dev.account}.dkr.ecr.${dev.region}.amazonaws.com`;
const sha = 'feed'.padEnd(40, '7');
const pr = 7;

interface Call {
  /** ECR/SSM: the x-amz-target operation; AgentCore control plane: named from its REST route. */
  operation: string;
  path: string;
  body: Record<string, unknown>;
}

/** A loopback proxy in front of the twin that records each request's operation. */
async function recordingProxy(upstream: string) {
  const calls: Call[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = req.headers['x-amz-target'];
      const url = new URL(req.url!, 'http://x');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        // not JSON (an invocation stream, a form)
      }
      calls.push({
        operation: operationOf(req.method!, url.pathname, target),
        path: url.pathname,
        body: json,
      });
      const out = http.request(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      });
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    calls,
    take: () => calls.splice(0, calls.length),
    close: () => new Promise((r) => server.close(r)),
  };
}

function operationOf(method: string, path: string, target: string | string[] | undefined): string {
  if (typeof target === 'string') return target.split('.').at(-1)!;
  const routes: [string, RegExp, string][] = [
    ['POST', /^\/runtimes\/$/, 'ListAgentRuntimes'],
    ['PUT', /^\/runtimes\/$/, 'CreateAgentRuntime'],
    ['GET', /^\/runtimes\/[^/]+\/$/, 'GetAgentRuntime'],
    ['PUT', /^\/runtimes\/[^/]+\/$/, 'UpdateAgentRuntime'],
    ['DELETE', /^\/runtimes\/[^/]+\/$/, 'DeleteAgentRuntime'],
  ];
  return routes.find(([m, re]) => m === method && re.test(path))?.[2] ?? `${method} ${path}`;
}

let twin: Twin;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let gh: Awaited<ReturnType<typeof githubStandIn>>;
let p: Provisioned;
let previewImage = '';
let previewArn = '';
const cfg = () => ({
  region: dev.region,
  endpoint: twin.url,
  maxAttempts: 1,
  credentials: twin.credentials(),
});
const control = () => new BedrockAgentCoreControlClient(cfg());
/** Run a committed action bundle with its AWS calls going through the recording proxy. */
const action = (step: string, inputs: Record<string, string | undefined>) =>
  runAction(step, inputs, {
    ...twin.env(),
    AWS_ENDPOINT_URL: proxy.url,
    GITHUB_REPOSITORY: dev.app.github.repository,
    GITHUB_API_URL: gh.url,
    GITHUB_RUN_ID: '99',
    GITHUB_SERVER_URL: 'https://github.example',
  });
const mustPass = async (run: ReturnType<typeof action>) => {
  const r = await run;
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
};

beforeAll(async () => {
  twin = await startTwin(twinOptions([dev]));
  proxy = await recordingProxy(twin.url);
  gh = await githubStandIn();
  const { outfile } = await buildAgent();
  const seed = await pushLocalImage({
    repository: names.repository,
    tags: ['seed'],
    bundlePath: outfile,
    create: true,
    ecr: new ECRClient(cfg()),
  });
  // What the shared stack creates next to the release repository.
  await new ECRClient(cfg()).send(new CreateRepositoryCommand({ repositoryName: names.previewRepository }));
  p = await provision(twin, dev, seed.imageUri);
}, 120_000);
afterAll(async () => {
  await gh?.close();
  await proxy?.close();
  await twin?.close();
});

describe('build-image', () => {
  it('pushes a release build by a URI built from names: no DescribeRepositories, registryId on every ECR call', async () => {
    proxy.take();
    const r = await mustPass(action('build-image', { sha, ref: 'refs/heads/main', environment: 'dev' }));
    expect(r.outputs['image-uri']).toMatch(
      new RegExp(`^${registry.replaceAll('.', '\\.')}/${names.repository}@sha256:[0-9a-f]{64}$`),
    );
    expect(r.outputs.tags).toBe(`${sha},latest`);
    const ecrCalls = proxy.take();
    expect(ecrCalls.map((c) => c.operation)).not.toContain('DescribeRepositories');
    expect(ecrCalls.map((c) => c.operation)).toContain('PutImage');
    expect(ecrCalls.filter((c) => c.body.registryId !== dev.account)).toEqual([]);
  });

  it('pushes a pull-request build to the preview repository, never the release repository', async () => {
    const r = await mustPass(action('build-image', { sha, 'pull-request': String(pr), environment: 'dev' }));
    previewImage = r.outputs['image-uri'];
    expect(previewImage.startsWith(`${registry}/${names.previewRepository}@sha256:`)).toBe(true);
    const tag = `pr-${pr}-${sha}`;
    const inRelease = new ECRClient(cfg()).send(
      new DescribeImagesCommand({ repositoryName: names.repository, imageIds: [{ imageTag: tag }] }),
    );
    await expect(inRelease).rejects.toMatchObject({ name: 'ImageNotFoundException' });
  });
});

describe('preview', () => {
  it('deploys from the reused environment’s stack outputs (never its runtime), with Authorization allow-listed', async () => {
    expect(previewImage).not.toBe('');
    proxy.take();
    const r = await mustPass(
      action('preview', {
        operation: 'deploy',
        'pull-request': String(pr),
        sha,
        'github-token': 'ghs_test',
        'image-uri': previewImage,
      }),
    );
    previewArn = r.outputs['runtime-arn'];
    const calls = proxy.take();
    expect(calls.filter((c) => c.path.includes(p.runtimeId))).toEqual([]);
    expect(calls.find((c) => c.operation === 'GetParameter')?.body).toEqual({
      Name: dev.names.outputsParameter,
    });
    const outputs = JSON.parse(twin.ssm.get(dev.names.outputsParameter)!) as Record<string, string>;
    const runtime = await control().send(
      new GetAgentRuntimeCommand({ agentRuntimeId: previewArn.split('/').at(-1) }),
    );
    expect(runtime.agentRuntimeName).toBe(previewRuntimeName(preview.app.app, pr));
    expect(runtime.requestHeaderConfiguration?.requestHeaderAllowlist).toEqual(['Authorization']);
    expect(runtime.roleArn).toBe(outputs.ExecutionRoleArn);
    expect(runtime.authorizerConfiguration?.customJWTAuthorizer).toMatchObject({
      discoveryUrl: outputs.DiscoveryUrl,
      allowedClients: [outputs.UserClientId, outputs.MachineClientId],
    });
    expect(runtime.environmentVariables).toMatchObject({
      MEMORY_ID: outputs.MemoryId,
      GUARDRAIL_ID: outputs.GuardrailId,
      AGENT_ENV: 'preview',
    });
  });

  it('two users of a preview are two memory actors (the agent sees each caller’s token)', async () => {
    expect(previewArn).not.toBe('');
    const outputs = JSON.parse(twin.ssm.get(dev.names.outputsParameter)!) as Record<string, string>;
    for (const sub of ['preview-user-alice', 'preview-user-bob']) {
      const token = await twin.cognito.issueUserToken(p.userPoolId, outputs.UserClientId, sub);
      const answer = await invokeAgent(
        { dataPlaneUrl: twin.url, runtimeArn: previewArn, qualifier: 'DEFAULT', bearerToken: token },
        'What time is it in Tokyo?',
      );
      expect(answer.answer.length).toBeGreaterThan(0);
    }
    const data = new BedrockAgentCoreClient(cfg());
    const actors = await pollUntil(
      async () => {
        const out = await data.send(new ListActorsCommand({ memoryId: outputs.MemoryId }));
        const ids = (out.actorSummaries ?? []).map((a) => a.actorId);
        return ids.includes('preview-user-alice') && ids.includes('preview-user-bob') ? ids : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'both users to appear as memory actors' },
    );
    expect(new Set(actors).size).toBe(actors.length);
  });

  it('a preview that was never created still gets its failure comment (report makes no AWS call)', async () => {
    const never = 9;
    const before = gh.comments.length;
    proxy.take();
    await mustPass(
      action('preview', {
        operation: 'report',
        'pull-request': String(never),
        sha,
        'github-token': 'ghs_test',
        failed: 'true',
      }),
    );
    expect(proxy.take()).toEqual([]);
    expect(gh.comments).toHaveLength(before + 1);
    const body = gh.comments.at(-1)!.body;
    expect(body).toContain(`❌ The preview of ${sha.slice(0, 7)} failed`);
    expect(body).toContain('/actions/runs/99');
  });
});

describe('sweep-previews', () => {
  it('deletes the closed PR’s preview with ListAgentRuntimes and DeleteAgentRuntime only', async () => {
    expect(previewArn).not.toBe('');
    gh.pulls[pr] = 'closed';
    proxy.take();
    const r = await mustPass(action('sweep-previews', { 'github-token': 'ghs_test' }));
    expect(r.outputs.deleted).toBe(previewRuntimeName(preview.app.app, pr));
    const operations = new Set(proxy.take().map((c) => c.operation));
    expect([...operations].sort()).toEqual(['DeleteAgentRuntime', 'ListAgentRuntimes']);
  });
});
