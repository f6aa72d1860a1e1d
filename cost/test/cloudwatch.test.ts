import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../environments';
import { loadPrices } from '../../environments/prices';
import { startTwin, type Twin } from '../../local/src/twin';
import { CostReadError, readCostReport } from '../cloudwatch';
import { emfToPutMetricData } from '../emf';
import { formatReport } from '../report';

const env = loadEnvironment('dev');
const prices = loadPrices();
const primary = env.models.primary;
const background = env.models.background;
const P = prices.models[primary];
const B = prices.models[background];
const arn = (id: string) => `arn:aws:bedrock-agentcore:${env.region}:${env.account}:runtime/${id}`;

/** An EMF line as the agent writes one per answer. */
function emf(values: Record<string, number>, modelId: string, at: number): string {
  return JSON.stringify({
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [
        {
          Namespace: 'AgentCoreGitops',
          Dimensions: [['Environment'], ['Environment', 'ModelId']],
          Metrics: Object.keys(values).map((Name) => ({
            Name,
            Unit: Name === 'EstimatedCostUsd' ? 'None' : 'Count',
          })),
        },
      ],
    },
    Environment: env.name,
    ModelId: modelId,
    ...values,
  });
}

let twin: Twin;
let client: CloudWatchClient;

beforeAll(async () => {
  twin = await startTwin({ region: env.region, accountId: env.account });
  const e = twin.env();
  client = new CloudWatchClient({
    endpoint: twin.url,
    region: env.region,
    credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
  const hourAgo = Date.now() - 3_600_000;
  // What Bedrock and AgentCore publish themselves (the twin takes AWS/ namespaces only in process).
  const cw = twin.cloudwatch;
  cw.putMetric('AWS/Bedrock', 'InputTokenCount', 1_000_000, [{ Name: 'ModelId', Value: primary }], hourAgo);
  cw.putMetric(
    'AWS/Bedrock',
    'InputTokenCount',
    500_000,
    [{ Name: 'ModelId', Value: primary }],
    hourAgo + 1000,
  );
  cw.putMetric('AWS/Bedrock', 'OutputTokenCount', 100_000, [{ Name: 'ModelId', Value: primary }], hourAgo);
  cw.putMetric('AWS/Bedrock', 'InputTokenCount', 200_000, [{ Name: 'ModelId', Value: background }], hourAgo);
  cw.putMetric('AWS/Bedrock', 'OutputTokenCount', 10_000, [{ Name: 'ModelId', Value: background }], hourAgo);
  // Three days old: outside a one-day report.
  cw.putMetric(
    'AWS/Bedrock',
    'InputTokenCount',
    9_000_000,
    [{ Name: 'ModelId', Value: primary }],
    Date.now() - 3 * 86_400_000,
  );
  const usage = (resource: string, vcpu: number, gb: number) => {
    const dims = [
      { Name: 'Service', Value: 'AgentCore.Runtime' },
      { Name: 'Resource', Value: resource },
    ];
    cw.putMetric('AWS/Bedrock-AgentCore', 'CPUUsed-vCPUHours', vcpu, dims, hourAgo);
    cw.putMetric('AWS/Bedrock-AgentCore', 'MemoryUsed-GBHours', gb, dims, hourAgo);
  };
  usage(arn(`${env.names.runtime}-AbCdE12345`), 2, 10);
  usage(arn('agentcore_gitops_pr_7-ZzZzZ99999'), 100, 100); // another runtime in the account
  // The agent's cache and cost metrics: EMF lines → PutMetricData through the real SDK client.
  for (const line of [
    emf(
      { cacheReadInputTokens: 1_500_000, cacheWriteInputTokens: 100_000, EstimatedCostUsd: 1.25 },
      primary,
      hourAgo,
    ),
    emf({ cacheReadInputTokens: 500_000, EstimatedCostUsd: 0.5 }, primary, hourAgo + 1000),
    emf({ cacheReadInputTokens: 40_000 }, background, hourAgo),
  ]) {
    for (const input of emfToPutMetricData(line)!) await client.send(new PutMetricDataCommand(input));
  }
});

afterAll(async () => {
  client?.destroy();
  await twin?.close();
});

describe('readCostReport against the twin', () => {
  it('prices per-model tokens from AWS/Bedrock and cache tokens from the agent, with savings and compute', async () => {
    const report = await readCostReport({ env, prices, client, days: 1 });
    const [p, b] = report.models;
    expect(p).toMatchObject({
      modelId: primary,
      role: 'primary',
      tokenSource: 'AWS/Bedrock',
      usage: {
        inputTokens: 1_500_000,
        outputTokens: 100_000,
        cacheReadInputTokens: 2_000_000,
        cacheWriteInputTokens: 100_000,
      },
    });
    expect(p.agentEstimateUsd).toBeCloseTo(1.75, 10);
    const pTotal =
      1.5 * P.inputPerMillion +
      0.1 * P.outputPerMillion +
      2 * P.cacheReadPerMillion +
      0.1 * P.cacheWritePerMillion;
    expect(p.cost.total).toBeCloseTo(pTotal, 10);
    expect(p.cost.cacheSavings).toBeCloseTo(
      2 * (P.inputPerMillion - P.cacheReadPerMillion) - 0.1 * (P.cacheWritePerMillion - P.inputPerMillion),
      10,
    );
    expect(b).toMatchObject({
      modelId: background,
      role: 'background',
      usage: {
        inputTokens: 200_000,
        outputTokens: 10_000,
        cacheReadInputTokens: 40_000,
        cacheWriteInputTokens: 0,
      },
      agentEstimateUsd: null,
    });
    const bTotal = 0.2 * B.inputPerMillion + 0.01 * B.outputPerMillion + 0.04 * B.cacheReadPerMillion;
    expect(report.total.total).toBeCloseTo(pTotal + bTotal, 10);
    expect(report.compute).toEqual({
      available: true,
      vcpuHours: 2,
      gbHours: 10,
      cpu: 2 * prices.runtime.vcpuHour,
      memory: 10 * prices.runtime.gbHour,
      total: 2 * prices.runtime.vcpuHour + 10 * prices.runtime.gbHour,
    });
    expect(report.notes.join('\n')).toMatch(/per account and region/);

    const table = formatReport(report, 'table');
    expect(table).toContain('1,500,000');
    expect(table).toMatch(/AgentCore Runtime compute: 2\.0000 vCPU-hours/);
    const md = formatReport(report, 'markdown');
    expect(md).toMatch(/^### Cost of dev \(us-east-1\), last 1 day/);
    expect(md).toMatch(
      new RegExp(
        `\\| ${primary.replaceAll('.', '\\.')} \\| primary \\| 1,500,000 \\| 100,000 \\| 2,000,000 \\| 100,000 \\|`,
      ),
    );
    expect(JSON.parse(formatReport(report, 'json')).models[0].usage.inputTokens).toBe(1_500_000);
  });

  it('covers older data with more days, and says when compute metrics are absent', async () => {
    const three = await readCostReport({ env, prices, client, days: 4 });
    expect(three.models[0].usage.inputTokens).toBe(10_500_000);
    const prod = await readCostReport({ env: loadEnvironment('prod'), prices, client, days: 1 });
    expect(prod.compute).toEqual({
      available: false,
      reason: expect.stringMatching(/no CPUUsed-vCPUHours metric for runtime agentcore_gitops_prod/),
    });
  });

  it('prints the breakdown from `npm run cost` pointed at the twin', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/cost.ts', '--env', 'dev', '--format', 'markdown'],
      { env: { ...process.env, ...twin.env() } },
    );
    expect(stdout).toMatch(/^### Cost of dev/);
    expect(stdout).toContain('| Total |  | 1,700,000 | 110,000 | 2,040,000 | 100,000 |');
    expect(stdout).toMatch(/prompt caching saved \$\d+\.\d{2,4} against full input price/);
  });
});

describe('readCostReport errors', () => {
  it('says credentials are missing and how to provide them', async () => {
    const noCreds = new CloudWatchClient({
      endpoint: twin.url,
      region: env.region,
      maxAttempts: 1,
      credentials: () =>
        Promise.reject(
          Object.assign(new Error('Could not load credentials from any providers'), {
            name: 'CredentialsProviderError',
          }),
        ),
    });
    await expect(readCostReport({ env, prices, client: noCreds, days: 1 })).rejects.toThrow(
      /no AWS credentials: sign in/,
    );
    noCreds.destroy();
  });

  it('names the CloudWatch operation, the error and the status', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(400, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-query-error': 'AccessDenied;Sender',
      });
      res.end(
        JSON.stringify({
          __type: 'com.amazonaws.cloudwatch#AccessDeniedException',
          message: 'not allowed: cloudwatch:GetMetricData',
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const denied = new CloudWatchClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: env.region,
      maxAttempts: 1,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    try {
      const err = await readCostReport({ env, prices, client: denied, days: 1 }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(CostReadError);
      expect((err as Error).message).toMatch(
        /^CloudWatch GetMetricData failed in us-east-1: \w+ \(HTTP 400\): not allowed: cloudwatch:GetMetricData$/,
      );
    } finally {
      denied.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('rejects a day count CloudWatch cannot answer', async () => {
    await expect(readCostReport({ env, prices, client, days: 0 })).rejects.toThrow(
      /days must be a whole number from 1 to 455/,
    );
  });
});
