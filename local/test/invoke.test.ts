import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BedrockAgentCoreClient,
  InvokeAgentRuntimeCommand,
  StopRuntimeSessionCommand,
} from '@aws-sdk/client-bedrock-agentcore';
import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
  CreateAgentRuntimeEndpointCommand,
  GetAgentRuntimeCommand,
  GetAgentRuntimeEndpointCommand,
  UpdateAgentRuntimeCommand,
  type CreateAgentRuntimeCommandInput,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentialsToken } from '../../.github/actions/src/lib/cognito';
import { sigv4Header } from './helpers/iam';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig, pushFixture } from './image-fixture';

const ROLE = 'arn:aws:iam::123456789012:role/agent-runtime';
const SESSION = 'x-amzn-bedrock-agentcore-runtime-session-id';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const session = (n: string) => `session-${n}-`.padEnd(40, '0');

/** A loopback OIDC issuer (discovery + JWKS) with its own signing key, as a test double for an IdP. */
async function startIssuer() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
  const server = http.createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer: url, jwks_uri: `${url}/jwks` }
        : req.url === '/jwks'
          ? { keys: [jwk] }
          : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (claims: JWTPayload, opts: { key?: CryptoKey; iss?: string; exp?: number } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(opts.iss ?? url)
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 300)
      .sign(opts.key ?? privateKey);
  return { url, sign, otherKey: other.privateKey, close: () => new Promise((r) => server.close(r)) };
}

describe('AgentCore data plane on the twin: runs the deployed artifact', () => {
  let twin: Twin;
  let control: BedrockAgentCoreControlClient;
  let data: BedrockAgentCoreClient;
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let image: string;
  let arn: string;
  let id: string;

  const waitReady = async (runtimeId: string, endpoint = 'DEFAULT') => {
    for (let i = 0; i < 100; i++) {
      const rt = await control.send(new GetAgentRuntimeCommand({ agentRuntimeId: runtimeId }));
      const ep = await control.send(
        new GetAgentRuntimeEndpointCommand({ agentRuntimeId: runtimeId, endpointName: endpoint }),
      );
      if (rt.status === 'READY' && ep.status === 'READY' && ep.liveVersion === rt.agentRuntimeVersion) return;
      await sleep(10);
    }
    throw new Error('not ready');
  };
  const invoke = async (qualifier?: string, runtimeSessionId?: string, payload = '{"hello":"world"}') => {
    const out = await data.send(
      new InvokeAgentRuntimeCommand({
        agentRuntimeArn: arn,
        qualifier,
        runtimeSessionId,
        payload: new TextEncoder().encode(payload),
        contentType: 'application/json',
        accept: 'text/event-stream',
      }),
    );
    const text = await out.response!.transformToString();
    return { out, text, answer: JSON.parse(text.split('\n\n')[0].slice('data: '.length)) };
  };
  const config = (label: string, extra: Partial<CreateAgentRuntimeCommandInput> = {}) => ({
    roleArn: ROLE,
    agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
    networkConfiguration: { networkMode: 'PUBLIC' as const },
    environmentVariables: { VERSION_LABEL: label },
    lifecycleConfiguration: { idleRuntimeSessionTimeout: 60, maxLifetime: 28800 },
    ...extra,
  });

  beforeAll(async () => {
    twin = await startTwin({ agentcore: { readyDelayMs: 20, lifecycleScale: 0.02 } });
    control = new BedrockAgentCoreControlClient(clientConfig(twin));
    data = new BedrockAgentCoreClient(clientConfig(twin));
    issuer = await startIssuer();
    image = (await pushFixture(twin, { repository: 'agent', tags: ['v1'] })).imageUri;
    const created = await control.send(
      new CreateAgentRuntimeCommand({ agentRuntimeName: 'sigv4_agent', ...config('one') }),
    );
    arn = created.agentRuntimeArn!;
    id = created.agentRuntimeId!;
    await waitReady(id);
  });
  afterAll(async () => {
    await twin?.close();
    await issuer?.close();
  });

  it('invokes through DEFAULT, passing session and request ids and the twin endpoint', async () => {
    const { out, text, answer } = await invoke(undefined, session('a'));
    expect(out.statusCode).toBe(200);
    expect(out.contentType).toBe('text/event-stream');
    expect(out.runtimeSessionId).toBe(session('a'));
    expect(answer).toMatchObject({
      type: 'ANSWER',
      label: 'one',
      session: session('a'),
      endpoint: twin.url,
      body: { hello: 'world' },
    });
    expect(answer.request).toMatch(/^[0-9a-f-]{36}$/);
    expect(text).toContain('"DONE"');
    expect(twin.agentcore.logs({ runtimeId: id }).map((l) => l.line)).toContain('fixture listening as one');
  });

  it("accepts the runtime id in place of the ARN and turns the agent's EMF lines into metrics", async () => {
    const out = await data.send(
      new InvokeAgentRuntimeCommand({ agentRuntimeArn: id, payload: new TextEncoder().encode('{}') }),
    );
    expect(await out.response!.transformToString()).toContain('"label":"one"');
    const cw = new CloudWatchClient(clientConfig(twin));
    const metrics = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(Date.now() - 600_000),
        EndTime: new Date(Date.now() + 60_000),
        MetricDataQueries: [
          {
            Id: 'n',
            MetricStat: {
              Metric: {
                Namespace: 'FixtureAgent',
                MetricName: 'Invocations',
                Dimensions: [{ Name: 'Label', Value: 'one' }],
              },
              Period: 3600,
              Stat: 'Sum',
            },
          },
        ],
      }),
    );
    expect(metrics.MetricDataResults![0].Values).toEqual([2]);
  });

  it('routes each endpoint to its own version: DEFAULT follows the newest, live stays pinned', async () => {
    await control.send(
      new CreateAgentRuntimeEndpointCommand({ agentRuntimeId: id, name: 'live', agentRuntimeVersion: '1' }),
    );
    await control.send(new UpdateAgentRuntimeCommand({ agentRuntimeId: id, ...config('two') }));
    await waitReady(id);
    await waitReady(id, 'DEFAULT');
    expect((await invoke('DEFAULT')).answer.label).toBe('two');
    expect((await invoke('live')).answer.label).toBe('one');
    const instances = await twin.agentcore.instances();
    expect(
      instances
        .filter((i) => i.runtimeId === id)
        .map((i) => i.version)
        .sort(),
    ).toEqual(['1', '2']);
    const missing = await invoke('nope').catch((e) => e);
    expect(missing.name).toBe('ResourceNotFoundException');
  });

  it('keeps a session on its instance and stops it with StopRuntimeSession', async () => {
    const s = session('keep');
    const first = await invoke('DEFAULT', s);
    const second = await invoke('DEFAULT', s);
    expect(second.answer.pid).toBe(first.answer.pid);
    await data.send(
      new StopRuntimeSessionCommand({ agentRuntimeArn: arn, qualifier: 'DEFAULT', runtimeSessionId: s }),
    );
    const again = await data
      .send(
        new StopRuntimeSessionCommand({ agentRuntimeArn: arn, qualifier: 'DEFAULT', runtimeSessionId: s }),
      )
      .catch((e) => e);
    expect(again.name).toBe('ResourceNotFoundException');
  });

  it('streams SSE chunks as they arrive and tears the upstream down when the caller leaves', async () => {
    const url = `${twin.url}/runtimes/${encodeURIComponent(arn)}/invocations?qualifier=DEFAULT`;
    const controller = new AbortController();
    const started = Date.now();
    // Signed-looking header: the twin checks the scheme, not the signature.
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: sigv4Header(twin, 'bedrock-agentcore'),
        'content-type': 'application/json',
        [SESSION]: session('stream'),
      },
      body: '{"slow":true}',
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // The fixture writes its second event 3 s after the first: a twin that buffered the answer would
    // deliver both at once, and not before then.
    expect(first).toContain('"ANSWER"');
    expect(first).not.toContain('"DONE"');
    expect(Date.now() - started).toBeLessThan(2_500);
    controller.abort();
    await expect
      .poll(() => twin.agentcore.logs({ runtimeId: id }).map((l) => l.line), { timeout: 2_000 })
      .toContain('fixture: invocation aborted by the caller');
  });

  it('answers a runtime error like the service (424 RuntimeClientError) and rejects bearer tokens on a SigV4 runtime', async () => {
    const err = await invoke('DEFAULT', undefined, '{"fail":true}').catch((e) => e);
    expect(err.name).toBe('RuntimeClientError');
    expect(err.$metadata.httpStatusCode).toBe(424);
    expect(err.message).toBe(
      'Received error (500) from runtime. Please check your CloudWatch logs for more information.',
    );
    const res = await fetch(`${twin.url}/runtimes/${encodeURIComponent(arn)}/invocations`, {
      method: 'POST',
      headers: { authorization: 'Bearer abc' },
      body: '{}',
    });
    expect(res.status).toBe(403);
    expect((await res.json()).message).toMatch(/^Authorization method mismatch/);
  });

  it('reaps idle instances after the (scaled) idle timeout', async () => {
    await invoke('DEFAULT');
    expect((await twin.agentcore.instances()).some((i) => i.runtimeId === id && i.version === '2')).toBe(
      true,
    );
    await sleep(60 * 1000 * 0.02 + 300);
    expect((await twin.agentcore.instances()).some((i) => i.runtimeId === id && i.version === '2')).toBe(
      false,
    );
    expect((await invoke('DEFAULT')).answer.label).toBe('two'); // and starts again on demand
  });

  it('reports an artifact that dies at start as a 424 with its output', async () => {
    const created = await control.send(
      new CreateAgentRuntimeCommand({
        agentRuntimeName: 'broken_agent',
        ...config('x', { environmentVariables: { FAIL_AT_START: '1' } }),
      }),
    );
    await waitReady(created.agentRuntimeId!);
    const err = await data
      .send(
        new InvokeAgentRuntimeCommand({
          agentRuntimeArn: created.agentRuntimeArn,
          payload: new TextEncoder().encode('{}'),
        }),
      )
      .catch((e) => e);
    expect(err.name).toBe('RuntimeClientError');
    expect(err.message).toMatch(/exited during initialization \(exit code 3\).*failing at start/);
  });

  describe('runtime with a customJWTAuthorizer', () => {
    let jwtArn: string;
    const call = (token?: string, headers: Record<string, string> = {}) =>
      fetch(`${twin.url}/runtimes/${encodeURIComponent(jwtArn)}/invocations?qualifier=DEFAULT`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream, application/json',
          [SESSION]: session('jwt'),
          ...(token && { authorization: `Bearer ${token}` }),
          ...headers,
        },
        body: '{"q":1}',
      });

    beforeAll(async () => {
      const created = await control.send(
        new CreateAgentRuntimeCommand({
          agentRuntimeName: 'jwt_agent',
          ...config('jwt', {
            authorizerConfiguration: {
              customJWTAuthorizer: {
                discoveryUrl: `${issuer.url}/.well-known/openid-configuration`,
                allowedClients: ['client-ok'],
              },
            },
            requestHeaderConfiguration: {
              requestHeaderAllowlist: ['Authorization', 'X-Amzn-Bedrock-AgentCore-Runtime-Custom-Tenant'],
            },
          }),
        }),
      );
      jwtArn = created.agentRuntimeArn!;
      await waitReady(created.agentRuntimeId!);
    });

    it('accepts a valid token from an allowed client and passes allow-listed headers', async () => {
      const token = await issuer.sign({
        client_id: 'client-ok',
        sub: 'user-1',
        token_use: 'access',
        scope: 'agent/invoke',
      });
      const res = await call(token, { 'X-Amzn-Bedrock-AgentCore-Runtime-Custom-Tenant': 'acme' });
      expect(res.status).toBe(200);
      expect(res.headers.get(SESSION)).toBe(session('jwt'));
      const answer = JSON.parse((await res.text()).split('\n\n')[0].slice(6));
      expect(answer).toMatchObject({ label: 'jwt', authorization: `Bearer ${token}`, custom: 'acme' });
    });

    it('rejects missing, badly signed, wrongly issued and expired tokens with 401, other clients with 403', async () => {
      const claims = { client_id: 'client-ok', sub: 'u' };
      expect((await call()).status).toBe(401);
      expect((await call(await issuer.sign(claims, { key: issuer.otherKey }))).status).toBe(401);
      expect((await call(await issuer.sign(claims, { iss: 'http://127.0.0.1:1/elsewhere' }))).status).toBe(
        401,
      );
      const expired = await call(await issuer.sign(claims, { exp: Math.floor(Date.now() / 1000) - 60 }));
      expect(expired.status).toBe(401);
      expect((await expired.json()).message).toMatch(/expired/);
      const otherClient = await call(await issuer.sign({ client_id: 'client-other', sub: 'u' }));
      expect(otherClient.status).toBe(403);
      expect((await otherClient.json()).message).toMatch(/allowedClients/);
    });

    // The stack writes Cognito's own URLs (environment-stack.ts): the discovery document on the
    // regional cognito-idp endpoint and the token endpoint on the pool's domain. The twin's AgentCore
    // reaches its own Cognito for the first, as AgentCore reaches Cognito inside AWS; a client reaches
    // the second through AWS_ENDPOINT_URL, like the SDK clients (LocalStack serves it the same way).
    it("accepts a token from the pool's domain endpoint on a runtime whose discoveryUrl is Cognito's", async () => {
      const poolId = twin.cognito.createUserPool('stack_pool');
      twin.cognito.createResourceServer(poolId, 'agent', ['invoke']);
      const machine = twin.cognito.createClient(poolId, { name: 'smoke', scopes: ['agent/invoke'] });
      const created = await control.send(
        new CreateAgentRuntimeCommand({
          agentRuntimeName: 'jwt_cognito_agent',
          ...config('jwt-cognito', {
            authorizerConfiguration: {
              customJWTAuthorizer: {
                discoveryUrl: `https://cognito-idp.us-east-1.amazonaws.com/${poolId}/.well-known/openid-configuration`,
                allowedClients: [machine.clientId],
              },
            },
          }),
        }),
      );
      await waitReady(created.agentRuntimeId!);
      const before = process.env.AWS_ENDPOINT_URL;
      process.env.AWS_ENDPOINT_URL = twin.url;
      const token = await clientCredentialsToken({
        tokenUrl: 'https://agentcore-gitops-dev-111111111111.auth.us-east-1.amazoncognito.com/oauth2/token',
        clientId: machine.clientId,
        clientSecret: machine.clientSecret!,
        scope: 'agent/invoke',
      }).finally(() => {
        if (before === undefined) delete process.env.AWS_ENDPOINT_URL;
        else process.env.AWS_ENDPOINT_URL = before;
      });
      const res = await fetch(
        `${twin.url}/runtimes/${encodeURIComponent(created.agentRuntimeArn!)}/invocations?qualifier=DEFAULT`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream, application/json',
            [SESSION]: session('jwt-cognito'),
            authorization: `Bearer ${token}`,
          },
          body: '{"q":1}',
        },
      );
      expect(res.status, await res.clone().text()).toBe(200);
    });

    it('rejects SigV4 on a JWT runtime', async () => {
      const err = await data
        .send(
          new InvokeAgentRuntimeCommand({ agentRuntimeArn: jwtArn, payload: new TextEncoder().encode('{}') }),
        )
        .catch((e) => e);
      expect(err.name).toBe('AccessDeniedException');
      expect(err.message).toMatch(/^Authorization method mismatch/);
    });
  });

  it('stops every agent process when the twin closes', async () => {
    const pids = (await twin.agentcore.instances()).map((i) => i.pid!);
    expect(pids.length).toBeGreaterThan(0);
    await twin.close();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    twin = undefined as unknown as Twin;
  });
});
