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
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../environments';
import { loadPrices, modelPricesVariable } from '../../environments/prices';
import { startTwin, type Twin } from '../../local/src/twin';
import { clientConfig, ecrClient } from '../../local/test/image-fixture';
import { pushLocalImage } from '../../scripts/push-local-image';
import { readCostReport, type CostReport } from '../cloudwatch';
import { addUsage, estimateCost, fromAgUiUsage } from '../model';
import { priceRun, type AgUiUsage } from '../smoke';

const env = loadEnvironment('dev');
const prices = loadPrices();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The whole path on the twin: the real agent bundle runs in a runtime, answers two turns, writes EMF
 * lines to stdout, the twin turns them into CloudWatch metrics, and the cost report prices them.
 */
describe('agent on the twin → EMF → CloudWatch → cost report', () => {
  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cost-e2e-'));
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ region: env.region, agentcore: { readyDelayMs: 20 } });
  });
  afterAll(async () => {
    await twin?.close();
    fs.rmSync(buildDir, { recursive: true, force: true });
  });

  it('prices exactly the usage the agent reported in RUN_FINISHED', async () => {
    const pushed = await pushLocalImage({
      repository: 'agentcore-gitops',
      tags: ['cost-e2e'],
      create: true,
      ecr: ecrClient(twin),
      build: { outfile: path.join(buildDir, 'server.mjs') },
    });
    const poolId = twin.cognito.createUserPool('cost-e2e');
    twin.cognito.createResourceServer(poolId, 'agent', ['invoke']);
    const { clientId, clientSecret } = twin.cognito.createClient(poolId, {
      name: 'smoke',
      scopes: ['agent/invoke'],
    });
    const issuer = `${twin.url}/cognito/${poolId}`;
    const control = new BedrockAgentCoreControlClient(clientConfig(twin));
    const { agentRuntimeId, agentRuntimeArn } = await control.send(
      new CreateAgentRuntimeCommand({
        agentRuntimeName: env.names.runtime,
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
        environmentVariables: {
          AGENT_ENV: env.name,
          LOG_LEVEL: 'warn',
          MODEL_ID: env.models.primary,
          BACKGROUND_MODEL_ID: env.models.background,
          MODEL_PRICES: modelPricesVariable(prices, env.models),
        },
      }),
    );
    for (let i = 0; i < 300; i++) {
      const rt = await control.send(new GetAgentRuntimeCommand({ agentRuntimeId }));
      const ep = await control.send(
        new GetAgentRuntimeEndpointCommand({ agentRuntimeId, endpointName: 'DEFAULT' }),
      );
      if (rt.status === 'READY' && ep.liveVersion === '1') break;
      await sleep(10);
    }
    control.destroy();
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
    const usages: AgUiUsage[][] = [];
    for (const content of ['What is 2+3*4?', 'What time is it in Tokyo?']) {
      const res = await fetch(
        `${twin.url}/runtimes/${encodeURIComponent(agentRuntimeArn!)}/invocations?qualifier=DEFAULT`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'text/event-stream',
            'x-amzn-bedrock-agentcore-runtime-session-id': threadId,
          },
          body: JSON.stringify({
            threadId,
            runId: randomUUID(),
            messages: [{ id: randomUUID(), role: 'user', content }],
            tools: [],
            context: [],
            state: {},
            forwardedProps: {},
          }),
        },
      );
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const finished = text
        .split('\n\n')
        .filter((f) => f.startsWith('data: '))
        .map((f) => JSON.parse(f.slice(6)) as { type: string; usage?: AgUiUsage[] })
        .find((e) => e.type === 'RUN_FINISHED');
      expect(finished?.usage?.length, text).toBeGreaterThan(0);
      usages.push(finished!.usage!);
    }
    // Turn two re-reads what turn one cached.
    expect(priceRun(usages[1], prices.models).usage.cacheReadInputTokens).toBeGreaterThan(0);

    const e = twin.env();
    const client = new CloudWatchClient({
      endpoint: twin.url,
      region: env.region,
      credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    // The agent's stdout is read asynchronously: wait until both answers' metrics are in (Bedrock's own
    // token metrics are published as each call completes).
    const expected = addUsage(
      ...usages
        .flat()
        .filter((u) => u.model === env.models.primary)
        .map((u) => fromAgUiUsage(u)),
    );
    const expectedCost = estimateCost(expected, prices.models[env.models.primary]).total;
    const arrived = (r: CostReport) =>
      r.models[0].usage.cacheReadInputTokens >= expected.cacheReadInputTokens &&
      (r.models[0].agentEstimateUsd ?? 0) >= expectedCost * (1 - 1e-9);
    let report = await readCostReport({ env, prices, client, days: 1 });
    for (let i = 0; i < 100 && !arrived(report); i++) {
      await sleep(20);
      report = await readCostReport({ env, prices, client, days: 1 });
    }
    client.destroy();
    const primary = report.models[0];
    // Input/output from AWS/Bedrock (the twin publishes them like Bedrock), cache tokens from the agent.
    expect(primary.tokenSource).toBe('AWS/Bedrock');
    expect(primary.usage).toEqual(expected);
    expect(primary.cost.total).toBeCloseTo(expectedCost, 12);
    // The agent's own per-answer estimates (EstimatedCostUsd) add up to the same figure.
    expect(primary.agentEstimateUsd).toBeCloseTo(expectedCost, 12);
    expect(primary.cost.total).toBeGreaterThan(0);
  });
});
