import type { ModelPrices } from '../environments/prices';
import { priceOf } from '../environments/prices';
import { metricsNamespace } from '../environments/agent-contract';

/** One metric an expression uses; `id` is its name inside the expression. */
export interface SpendMetric {
  id: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  statistic: 'Sum';
}

export interface SpendMath {
  /** Metric math giving USD per period. */
  expression: string;
  metrics: SpendMetric[];
  periodSeconds: number;
  label: string;
}

export interface SpendMathOptions {
  /** The environment's model ids (primary, background); each must be in `prices`. */
  modelIds: string[];
  prices: ModelPrices;
  /** The agent's metrics (namespace + Environment dimension) supply the cache tokens Bedrock does not publish. */
  environment: string;
  metricsNamespace?: string;
  periodSeconds?: number;
}

/** CloudWatch allows at most 10 metrics in an alarm's metric math. */
const MAX_ALARM_METRICS = 10;

/** Metric math takes plain decimals; a price with an exponent would not parse. */
function coefficient(n: number): string {
  const s = String(n);
  if (!/^\d+(\.\d+)?$/.test(s)) throw new RangeError(`price ${n} cannot be written as a metric-math decimal`);
  return s;
}

/**
 * Estimated model spend per period as CloudWatch metric math: per model, Bedrock's own
 * InputTokenCount/OutputTokenCount (AWS/Bedrock, dimension ModelId) at the input/output price, plus
 * the agent's cache read/write tokens (dimensions Environment + ModelId) at the cache prices.
 * FILL(…, 0) keeps the sum defined when a model had no traffic. Pure.
 */
export function spendMath(options: SpendMathOptions): SpendMath {
  const { modelIds, prices, environment } = options;
  const namespace = options.metricsNamespace ?? metricsNamespace;
  const periodSeconds = options.periodSeconds ?? 86_400;
  const models = [...new Set(modelIds)];
  if (models.length === 0) throw new RangeError('spendMath needs at least one model id');

  const metrics: SpendMetric[] = [];
  const terms: string[] = [];
  models.forEach((modelId, i) => {
    const price = priceOf(prices, modelId);
    const add = (
      id: string,
      ns: string,
      metricName: string,
      dimensions: Record<string, string>,
      perMillion: number,
    ) => {
      if (perMillion === 0) return;
      metrics.push({ id, namespace: ns, metricName, dimensions, statistic: 'Sum' });
      terms.push(`FILL(${id},0)*${coefficient(perMillion)}`);
    };
    add(`in${i}`, 'AWS/Bedrock', 'InputTokenCount', { ModelId: modelId }, price.inputPerMillion);
    add(`out${i}`, 'AWS/Bedrock', 'OutputTokenCount', { ModelId: modelId }, price.outputPerMillion);
    const agentDims = { Environment: environment, ModelId: modelId };
    add(`cr${i}`, namespace, 'cacheReadInputTokens', agentDims, price.cacheReadPerMillion);
    add(`cw${i}`, namespace, 'cacheWriteInputTokens', agentDims, price.cacheWritePerMillion);
  });
  if (metrics.length > MAX_ALARM_METRICS) {
    throw new RangeError(
      `the spend expression needs ${metrics.length} metrics; a CloudWatch alarm allows ${MAX_ALARM_METRICS} (${models.length} models)`,
    );
  }
  if (terms.length === 0)
    throw new RangeError(`every price of ${models.join(', ')} is zero: there is no spend to alarm on`);
  return {
    expression: `(${terms.join(' + ')})/1000000`,
    metrics,
    periodSeconds,
    label: `Estimated model spend (USD per ${periodSeconds / 3600} h)`,
  };
}
