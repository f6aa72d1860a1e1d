import { randomUUID } from 'node:crypto';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../environments';
import { loadPrices, modelPricesVariable } from '../../environments/prices';
import { startTwin, type Twin } from '../../local/src/twin';
import { clientCredentialsToken } from '../../.github/actions/src/lib/cognito';
import {
  cognitoClient,
  createJwtRuntime,
  invokeOverHttp,
  pushAgentImage,
} from '../../local/test/helpers/jwt-runtime';
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
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ region: env.region, agentcore: { readyDelayMs: 20 } });
  });
  afterAll(() => twin?.close());

  it('prices exactly the usage the agent reported in RUN_FINISHED', async () => {
    const pushed = await pushAgentImage(twin, ['cost-e2e']);
    const cognito = cognitoClient(twin, 'cost-e2e');
    const { agentRuntimeArn } = await createJwtRuntime(twin, {
      name: env.names.runtime,
      imageUri: pushed.imageUri,
      cognito,
      environmentVariables: {
        AGENT_ENV: env.name,
        LOG_LEVEL: 'warn',
        MODEL_ID: env.models.primary,
        BACKGROUND_MODEL_ID: env.models.background,
        MODEL_PRICES: modelPricesVariable(prices, env.models),
      },
    });
    const token = await clientCredentialsToken(cognito.credentials);

    const threadId = `thread-${randomUUID()}`;
    const usages: AgUiUsage[][] = [];
    for (const content of ['What is 2+3*4?', 'What time is it in Tokyo?']) {
      const reply = await invokeOverHttp(twin, {
        runtimeArn: agentRuntimeArn,
        token,
        sessionId: threadId,
        prompt: content,
      });
      expect(reply.status, reply.text).toBe(200);
      const finished = reply.events.find((e) => e.type === 'RUN_FINISHED');
      expect(finished?.usage?.length, reply.text).toBeGreaterThan(0);
      usages.push(finished!.usage as AgUiUsage[]);
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
