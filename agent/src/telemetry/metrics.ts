import { estimateCost, type ModelPrice, type Usage } from '../../../cost/model';
import { stdoutLines } from './output';

/** CloudWatch embedded metric format (EMF): one JSON object per line with an `_aws` block. */
export type Unit = 'Count' | 'Milliseconds' | 'None';

export interface MetricDatum {
  name: string;
  value: number;
  unit: Unit;
}

export interface EmfInput {
  namespace: string;
  /** Dimension values; each entry of `dimensionSets` names a subset of these keys. */
  dimensions: Record<string, string>;
  dimensionSets: string[][];
  metrics: MetricDatum[];
  /** Searchable context that is not a dimension (ids), logged alongside. */
  properties?: Record<string, string | number | boolean>;
  timestamp?: number;
}

export function emfRecord(input: EmfInput): Record<string, unknown> {
  for (const set of input.dimensionSets) {
    for (const key of set) {
      if (!(key in input.dimensions)) throw new Error(`EMF dimension set names "${key}", which has no value`);
    }
  }
  const record: Record<string, unknown> = {
    _aws: {
      Timestamp: input.timestamp ?? Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: input.namespace,
          Dimensions: input.dimensionSets,
          Metrics: input.metrics.map((m) => ({ Name: m.name, Unit: m.unit })),
        },
      ],
    },
    ...input.properties,
    ...input.dimensions,
  };
  for (const m of input.metrics) record[m.name] = m.value;
  return record;
}

/**
 * Writes EMF lines for one environment; CloudWatch turns them into metrics without API calls. They go
 * to stdout through the log lines' writer (output.ts): one order, and a failing stdout stops neither.
 */
export class Metrics {
  constructor(
    private readonly namespace: string,
    private readonly environment: string,
    private readonly write: (line: string) => void = (line) => stdoutLines().write(line),
  ) {}

  /** Emit metrics with Environment plus the given dimensions, aggregated per each dimension set. */
  emit(
    metrics: MetricDatum[],
    extraDimensions: Record<string, string> = {},
    properties: Record<string, string | number | boolean> = {},
  ) {
    const dimensions = { Environment: this.environment, ...extraDimensions };
    const extra = Object.keys(extraDimensions);
    const dimensionSets = extra.length > 0 ? [['Environment'], ['Environment', ...extra]] : [['Environment']];
    this.write(
      `${JSON.stringify(emfRecord({ namespace: this.namespace, dimensions, dimensionSets, metrics, properties }))}\n`,
    );
  }
}

/**
 * Token counts of one answer's model calls (Bedrock accounting) and, when the model is priced, their
 * estimated cost and what the prompt cache saved, in USD (CloudWatch has no currency unit: None).
 */
export function usageMetrics(usage: Required<Usage>, price?: ModelPrice): MetricDatum[] {
  const tokens: MetricDatum[] = [
    { name: 'inputTokens', value: usage.inputTokens, unit: 'Count' },
    { name: 'outputTokens', value: usage.outputTokens, unit: 'Count' },
    { name: 'cacheReadInputTokens', value: usage.cacheReadInputTokens, unit: 'Count' },
    { name: 'cacheWriteInputTokens', value: usage.cacheWriteInputTokens, unit: 'Count' },
  ];
  if (!price) return tokens;
  const cost = estimateCost(usage, price);
  return [
    ...tokens,
    { name: 'EstimatedCostUsd', value: cost.total, unit: 'None' },
    { name: 'CacheSavingsUsd', value: cost.cacheSavings, unit: 'None' },
  ];
}
