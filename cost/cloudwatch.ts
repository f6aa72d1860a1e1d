import {
  GetMetricDataCommand,
  ListMetricsCommand,
  type CloudWatchClient,
  type Dimension,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import type { Environment } from '../environments';
import { metricsNamespace } from '../environments/agent-contract';
import { priceOf, type PricesFile } from '../environments/prices';
import { addCosts, estimateCost, runtimeComputeCost, type CostBreakdown, type Usage } from './model';

/** Metric names the agent publishes (EMF) under METRICS_NAMESPACE with Environment [+ ModelId]. */
const agentMetricNames = {
  inputTokens: 'inputTokens',
  outputTokens: 'outputTokens',
  cacheReadInputTokens: 'cacheReadInputTokens',
  cacheWriteInputTokens: 'cacheWriteInputTokens',
  estimatedCostUsd: 'EstimatedCostUsd',
} as const;

/** AgentCore Runtime's vended usage metrics (dimensions Service=AgentCore.Runtime, Resource=<runtime ARN>). */
const runtimeUsage = {
  namespace: 'AWS/Bedrock-AgentCore',
  service: 'AgentCore.Runtime',
  vcpuHours: 'CPUUsed-vCPUHours',
  gbHours: 'MemoryUsed-GBHours',
} as const;

export class CostReadError extends Error {}

export interface ModelCost {
  modelId: string;
  role: 'primary' | 'background';
  usage: Required<Usage>;
  cost: CostBreakdown;
  /** Where input/output tokens came from: Bedrock's metrics (per account and region) or the agent's (per environment). */
  tokenSource: 'AWS/Bedrock' | 'agent' | 'none';
  /** Sum of the agent's own per-answer estimates, a cross-check; null when it published none. */
  agentEstimateUsd: number | null;
}

export type ComputeCost =
  | { available: true; vcpuHours: number; gbHours: number; cpu: number; memory: number; total: number }
  | { available: false; reason: string };

export interface CostReport {
  environment: string;
  region: string;
  start: string;
  end: string;
  days: number;
  models: ModelCost[];
  /** Model spend over all models, with the cache savings. */
  total: CostBreakdown;
  compute: ComputeCost;
  notes: string[];
}

export interface ReadCostOptions {
  env: Pick<Environment, 'name' | 'region' | 'models' | 'names'>;
  prices: PricesFile;
  client: CloudWatchClient;
  days: number;
  now?: Date;
  metricsNamespace?: string;
}

const DAY = 86_400;

/** Reads an environment's token (and runtime usage) metrics and prices them. */
export async function readCostReport(options: ReadCostOptions): Promise<CostReport> {
  const { env, prices, client, days } = options;
  if (!Number.isInteger(days) || days < 1 || days > 455)
    throw new RangeError(
      `days must be a whole number from 1 to 455 (CloudWatch keeps daily data 455 days), got ${days}`,
    );
  const namespace = options.metricsNamespace ?? metricsNamespace;
  const end = options.now ?? new Date();
  const start = new Date(end.getTime() - days * DAY * 1000);
  const models = [
    { modelId: env.models.primary, role: 'primary' as const },
    ...(env.models.background !== env.models.primary
      ? [{ modelId: env.models.background, role: 'background' as const }]
      : []),
  ];

  const queries: MetricDataQuery[] = [];
  const query = (id: string, ns: string, metricName: string, dims: Record<string, string>) =>
    queries.push({
      Id: id,
      ReturnData: true,
      MetricStat: {
        Metric: { Namespace: ns, MetricName: metricName, Dimensions: toDimensions(dims) },
        Period: DAY,
        Stat: 'Sum',
      },
    });
  models.forEach(({ modelId }, i) => {
    query(`bin${i}`, 'AWS/Bedrock', 'InputTokenCount', { ModelId: modelId });
    query(`bout${i}`, 'AWS/Bedrock', 'OutputTokenCount', { ModelId: modelId });
    const dims = { Environment: env.name, ModelId: modelId };
    query(`ain${i}`, namespace, agentMetricNames.inputTokens, dims);
    query(`aout${i}`, namespace, agentMetricNames.outputTokens, dims);
    query(`acr${i}`, namespace, agentMetricNames.cacheReadInputTokens, dims);
    query(`acw${i}`, namespace, agentMetricNames.cacheWriteInputTokens, dims);
    query(`acost${i}`, namespace, agentMetricNames.estimatedCostUsd, dims);
  });
  // Cache tokens published with the Environment dimension only (no ModelId) are the primary model's.
  query('ecr', namespace, agentMetricNames.cacheReadInputTokens, { Environment: env.name });
  query('ecw', namespace, agentMetricNames.cacheWriteInputTokens, { Environment: env.name });

  const sums = await getSums(client, queries, start, end, env.region);
  const notes: string[] = [];
  const lines: ModelCost[] = models.map(({ modelId, role }, i) => {
    const bedrock = sums.has(`bin${i}`) || sums.has(`bout${i}`);
    const agent = sums.has(`ain${i}`) || sums.has(`aout${i}`);
    const tokenSource = bedrock ? 'AWS/Bedrock' : agent ? 'agent' : 'none';
    const usage = {
      inputTokens: sums.get(bedrock ? `bin${i}` : `ain${i}`) ?? 0,
      outputTokens: sums.get(bedrock ? `bout${i}` : `aout${i}`) ?? 0,
      cacheReadInputTokens: sums.get(`acr${i}`) ?? 0,
      cacheWriteInputTokens: sums.get(`acw${i}`) ?? 0,
    };
    return {
      modelId,
      role,
      usage,
      cost: estimateCost(usage, priceOf(prices.models, modelId)),
      tokenSource,
      agentEstimateUsd: sums.get(`acost${i}`) ?? null,
    };
  });

  const perModelCache = lines.some((l) => l.usage.cacheReadInputTokens || l.usage.cacheWriteInputTokens);
  if (!perModelCache && (sums.has('ecr') || sums.has('ecw'))) {
    const primary = lines[0];
    primary.usage.cacheReadInputTokens = sums.get('ecr') ?? 0;
    primary.usage.cacheWriteInputTokens = sums.get('ecw') ?? 0;
    primary.cost = estimateCost(primary.usage, priceOf(prices.models, primary.modelId));
    notes.push(
      `Cache tokens carry no ModelId dimension; all of them are counted at ${primary.modelId}'s prices.`,
    );
  }
  if (lines.some((l) => l.tokenSource === 'AWS/Bedrock')) {
    notes.push(
      `AWS/Bedrock token counts are per account and region (${env.region}): environments sharing the account share them.`,
    );
  }
  if (lines.every((l) => l.tokenSource === 'none')) {
    notes.push(`No token metrics for ${env.name} between ${start.toISOString()} and ${end.toISOString()}.`);
  }

  return {
    environment: env.name,
    region: env.region,
    start: start.toISOString(),
    end: end.toISOString(),
    days,
    models: lines,
    total: addCosts(...lines.map((l) => l.cost)),
    compute: await readCompute(client, env.names.runtime, start, end, prices, env.region),
    notes,
  };
}

function toDimensions(dims: Record<string, string>): Dimension[] {
  return Object.entries(dims).map(([Name, Value]) => ({ Name, Value }));
}

/** Runs the queries (500 per call, following NextToken) and sums each id's datapoints; ids with no data are absent. */
async function getSums(
  client: CloudWatchClient,
  queries: MetricDataQuery[],
  start: Date,
  end: Date,
  region: string,
): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  for (let i = 0; i < queries.length; i += 500) {
    let NextToken: string | undefined;
    do {
      const out = await call(region, 'GetMetricData', () =>
        client.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries.slice(i, i + 500),
            StartTime: start,
            EndTime: end,
            NextToken,
          }),
        ),
      );
      for (const r of out.MetricDataResults ?? []) {
        if (!r.Id || !r.Values?.length) continue;
        sums.set(
          r.Id,
          r.Values.reduce((s, v) => s + v, sums.get(r.Id) ?? 0),
        );
      }
      NextToken = out.NextToken;
    } while (NextToken);
  }
  return sums;
}

/** AgentCore's vended CPU/memory usage for the runtime, or why it is not available. */
async function readCompute(
  client: CloudWatchClient,
  runtimeName: string,
  start: Date,
  end: Date,
  prices: PricesFile,
  region: string,
): Promise<ComputeCost> {
  try {
    // The Resource dimension is the runtime ARN, whose id is `<name>-<suffix>`: find it by listing.
    const found = new Set<string>();
    let NextToken: string | undefined;
    do {
      const page = await call(region, 'ListMetrics', () =>
        client.send(
          new ListMetricsCommand({
            Namespace: runtimeUsage.namespace,
            MetricName: runtimeUsage.vcpuHours,
            Dimensions: [{ Name: 'Service', Value: runtimeUsage.service }],
            NextToken,
          }),
        ),
      );
      for (const m of page.Metrics ?? []) {
        const arn = m.Dimensions?.find((d) => d.Name === 'Resource')?.Value;
        if (arn?.includes(`:runtime/${runtimeName}-`)) found.add(arn);
      }
      NextToken = page.NextToken;
    } while (NextToken);
    const resources = [...found];
    if (resources.length === 0) {
      return {
        available: false,
        reason: `no ${runtimeUsage.vcpuHours} metric for runtime ${runtimeName} in ${runtimeUsage.namespace} (AgentCore publishes it after sessions end, up to an hour late)`,
      };
    }
    const queries: MetricDataQuery[] = resources.flatMap((Resource, i) =>
      (['vcpuHours', 'gbHours'] as const).map((key) => ({
        Id: `${key.toLowerCase()}${i}`,
        MetricStat: {
          Metric: {
            Namespace: runtimeUsage.namespace,
            MetricName: runtimeUsage[key],
            Dimensions: toDimensions({ Service: runtimeUsage.service, Resource }),
          },
          Period: DAY,
          Stat: 'Sum',
        },
      })),
    );
    const sums = await getSums(client, queries, start, end, region);
    const total = (prefix: string) =>
      [...sums].filter(([id]) => id.startsWith(prefix)).reduce((s, [, v]) => s + v, 0);
    const usage = { vcpuHours: total('vcpuhours'), gbHours: total('gbhours') };
    return { available: true, ...usage, ...runtimeComputeCost(usage, prices.runtime) };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

/** One CloudWatch call; failures become CostReadError naming the operation and how to fix common causes. */
async function call<T>(region: string, operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (e) {
    const err = e as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
    if (err.name === 'CredentialsProviderError') {
      throw new CostReadError(
        'no AWS credentials: sign in (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), ' +
          'or point AWS_ENDPOINT_URL at a running twin (`npm run twin`) with its credentials',
      );
    }
    if (err.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(err.message)) {
      throw new CostReadError(
        `cannot reach CloudWatch (${operation}): connection refused${process.env.AWS_ENDPOINT_URL ? ` at ${process.env.AWS_ENDPOINT_URL}` : ''}; is the twin running?`,
      );
    }
    const status = err.$metadata?.httpStatusCode;
    throw new CostReadError(
      `CloudWatch ${operation} failed in ${region}: ${err.name}${status ? ` (HTTP ${status})` : ''}: ${err.message}`,
    );
  }
}
