import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
  GetAgentRuntimeCommand,
  GetAgentRuntimeEndpointCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushLocalImage } from '../../scripts/push-local-image';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig, ecrClient } from './image-fixture';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('npm run image:local → CreateAgentRuntime → invoke DEFAULT with a Cognito bearer token', () => {
  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-image-'));
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ agentcore: { readyDelayMs: 20 } });
  });
  afterAll(async () => {
    await twin?.close();
    fs.rmSync(buildDir, { recursive: true, force: true });
  });

  it('runs the real agent bundle from its image and streams an AG-UI answer', async () => {
    const pushed = await pushLocalImage({
      repository: 'agentcore-gitops',
      tags: ['abc1234', 'latest'],
      create: true,
      ecr: ecrClient(twin),
      build: { outfile: path.join(buildDir, 'server.mjs') },
    });
    expect(pushed.imageUri).toMatch(
      /^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/agentcore-gitops@sha256:[a-f0-9]{64}$/,
    );

    const poolId = twin.cognito.createUserPool('agentcore-gitops-users');
    twin.cognito.createResourceServer(poolId, 'agent', ['invoke']);
    const { clientId, clientSecret } = twin.cognito.createClient(poolId, {
      name: 'smoke',
      scopes: ['agent/invoke'],
    });
    const issuer = `${twin.url}/cognito/${poolId}`;

    const control = new BedrockAgentCoreControlClient(clientConfig(twin));
    const { agentRuntimeId, agentRuntimeArn } = await control.send(
      new CreateAgentRuntimeCommand({
        agentRuntimeName: 'agentcore_gitops_dev',
        roleArn: 'arn:aws:iam::123456789012:role/agentcore-gitops-runtime',
        agentRuntimeArtifact: { containerConfiguration: { containerUri: pushed.imageUri } },
        networkConfiguration: { networkMode: 'PUBLIC' },
        protocolConfiguration: { serverProtocol: 'AGUI' },
        authorizerConfiguration: {
          customJWTAuthorizer: {
            discoveryUrl: `${issuer}/.well-known/openid-configuration`,
            allowedClients: [clientId],
          },
        },
        environmentVariables: { AGENT_ENV: 'dev', LOG_LEVEL: 'warn' },
      }),
    );
    for (let i = 0; i < 200; i++) {
      const rt = await control.send(new GetAgentRuntimeCommand({ agentRuntimeId }));
      const ep = await control.send(
        new GetAgentRuntimeEndpointCommand({ agentRuntimeId, endpointName: 'DEFAULT' }),
      );
      if (rt.status === 'READY' && ep.liveVersion === '1') break;
      expect(rt.status).not.toMatch(/FAILED/);
      await sleep(10);
    }

    const tokenResponse = await fetch(`${issuer}/oauth2/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials&scope=agent%2Finvoke',
    });
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };

    const threadId = `thread-${randomUUID()}`;
    const res = await fetch(
      `${twin.url}/runtimes/${encodeURIComponent(agentRuntimeArn!)}/invocations?qualifier=DEFAULT`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'text/event-stream, application/json',
          'x-amzn-bedrock-agentcore-runtime-session-id': threadId,
        },
        body: JSON.stringify({
          threadId,
          runId: randomUUID(),
          messages: [{ id: randomUUID(), role: 'user', content: 'What is 2+3*4?' }],
          tools: [],
          context: [],
          state: {},
          forwardedProps: {},
        }),
      },
    );
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = text
      .split('\n\n')
      .filter((f) => f.startsWith('data: '))
      .map((f) => JSON.parse(f.slice(6)) as { type: string; delta?: string });
    expect(events[0].type).toBe('RUN_STARTED');
    expect(events.at(-1)?.type).toBe('RUN_FINISHED');
    expect(
      events
        .filter((e) => e.type === 'TEXT_MESSAGE_CONTENT')
        .map((e) => e.delta)
        .join(''),
    ).toContain('14');

    const denied = await fetch(`${twin.url}/runtimes/${encodeURIComponent(agentRuntimeArn!)}/invocations`, {
      method: 'POST',
      body: '{}',
    });
    expect(denied.status).toBe(401);
  });
});
