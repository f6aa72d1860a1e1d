import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientCredentialsToken } from '../../.github/actions/src/lib/cognito';
import { cognitoClient, createJwtRuntime, invokeOverHttp, pushAgentImage } from './helpers/jwt-runtime';

describe('npm run image:local → CreateAgentRuntime → invoke DEFAULT with a Cognito bearer token', () => {
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ agentcore: { readyDelayMs: 20 } });
  });
  afterAll(() => twin?.close());

  it('runs the real agent bundle from its image and streams an AG-UI answer', async () => {
    const pushed = await pushAgentImage(twin, ['abc1234', 'latest']);
    expect(pushed.imageUri).toMatch(
      /^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/agentcore-gitops@sha256:[a-f0-9]{64}$/,
    );

    const cognito = cognitoClient(twin, 'agentcore-gitops-users');
    const { agentRuntimeArn } = await createJwtRuntime(twin, {
      name: 'agentcore_gitops_dev',
      imageUri: pushed.imageUri,
      cognito,
      environmentVariables: { AGENT_ENV: 'dev', LOG_LEVEL: 'warn' },
    });
    const token = await clientCredentialsToken(cognito.credentials);

    const reply = await invokeOverHttp(twin, {
      runtimeArn: agentRuntimeArn,
      token,
      sessionId: `thread-${randomUUID()}`,
      prompt: 'What is 2+3*4?',
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.contentType).toMatch(/^text\/event-stream/);
    expect(reply.events[0].type).toBe('RUN_STARTED');
    expect(reply.events.at(-1)?.type).toBe('RUN_FINISHED');
    expect(
      reply.events
        .filter((e) => e.type === 'TEXT_MESSAGE_CONTENT')
        .map((e) => e.delta)
        .join(''),
    ).toContain('14');

    const denied = await fetch(`${twin.url}/runtimes/${encodeURIComponent(agentRuntimeArn)}/invocations`, {
      method: 'POST',
      body: '{}',
    });
    expect(denied.status).toBe(401);
  });
});
