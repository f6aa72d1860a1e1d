import { StandardUnit, type MetricDatum, type PutMetricDataInput } from '@aws-sdk/client-cloudwatch';

/**
 * CloudWatch embedded metric format (EMF) → PutMetricData, as CloudWatch Logs extracts metrics from
 * log events (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * The twin feeds it each stdout line of an agent process and puts the result into its CloudWatch.
 */

export class EmfError extends Error {}

const units = new Set<string>(Object.values(StandardUnit));

/** Limits from the EMF specification. */
const MAX_DIMENSIONS = 30;
const MAX_METRICS = 100;
const MAX_VALUES = 100;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One log line → the PutMetricData inputs it stands for (one per namespace), or `null` when the line
 * is not EMF (not a JSON object, or no `_aws` member) — ordinary logs pass through untouched.
 * A line that has `_aws` but breaks the specification throws EmfError saying what is wrong.
 */
export function emfToPutMetricData(line: string): PutMetricDataInput[] | null {
  const text = line.trim();
  if (!text.startsWith('{')) return null;
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(event) || !('_aws' in event)) return null;
  return convert(event);
}

function convert(event: Record<string, unknown>): PutMetricDataInput[] {
  const aws = event._aws;
  if (!isObject(aws)) throw new EmfError('_aws must be an object');
  if (typeof aws.Timestamp !== 'number' || !Number.isFinite(aws.Timestamp))
    throw new EmfError('_aws.Timestamp must be a number of milliseconds since the epoch');
  if (!Array.isArray(aws.CloudWatchMetrics)) throw new EmfError('_aws.CloudWatchMetrics must be an array');
  const timestamp = new Date(aws.Timestamp);

  const byNamespace = new Map<string, MetricDatum[]>();
  aws.CloudWatchMetrics.forEach((directive: unknown, d) => {
    const where = `_aws.CloudWatchMetrics[${d}]`;
    if (!isObject(directive)) throw new EmfError(`${where} must be an object`);
    const { Namespace, Dimensions, Metrics } = directive;
    if (typeof Namespace !== 'string' || Namespace.length < 1 || Namespace.length > 255)
      throw new EmfError(`${where}.Namespace must be a string of 1–255 characters`);
    if (!Array.isArray(Dimensions))
      throw new EmfError(`${where}.Dimensions must be an array of dimension sets`);
    if (!Array.isArray(Metrics) || Metrics.length > MAX_METRICS)
      throw new EmfError(`${where}.Metrics must be an array of at most ${MAX_METRICS} metric definitions`);

    // An empty Dimensions array publishes the metrics once, without dimensions.
    const sets = (Dimensions.length ? Dimensions : [[]]).map((set: unknown, s) => {
      if (!Array.isArray(set) || set.length > MAX_DIMENSIONS)
        throw new EmfError(
          `${where}.Dimensions[${s}] must be an array of at most ${MAX_DIMENSIONS} dimension names`,
        );
      return set.map((name: unknown) => {
        if (typeof name !== 'string') throw new EmfError(`${where}.Dimensions[${s}] must hold member names`);
        const value = event[name];
        if (typeof value !== 'string' || value.length === 0)
          throw new EmfError(
            `dimension "${name}" (${where}.Dimensions[${s}]) needs a non-empty string member "${name}"`,
          );
        return { Name: name, Value: value };
      });
    });

    const data = byNamespace.get(Namespace) ?? [];
    Metrics.forEach((metric: unknown, m) => {
      if (!isObject(metric) || typeof metric.Name !== 'string' || metric.Name.length === 0)
        throw new EmfError(`${where}.Metrics[${m}] must be an object with a Name`);
      const unit = metric.Unit ?? 'None';
      if (typeof unit !== 'string' || !units.has(unit))
        throw new EmfError(`${where}.Metrics[${m}].Unit "${String(unit)}" is not a CloudWatch unit`);
      const resolution = metric.StorageResolution ?? 60;
      if (resolution !== 1 && resolution !== 60)
        throw new EmfError(`${where}.Metrics[${m}].StorageResolution must be 1 or 60`);
      const values = metricValues(event[metric.Name], metric.Name);
      for (const dimensions of sets) {
        data.push({
          MetricName: metric.Name,
          Dimensions: dimensions,
          Timestamp: timestamp,
          Unit: unit as StandardUnit,
          StorageResolution: resolution,
          ...(values.length === 1 ? { Value: values[0] } : { Values: values }),
        });
      }
    });
    byNamespace.set(Namespace, data);
  });
  return [...byNamespace].map(([Namespace, MetricData]) => ({ Namespace, MetricData }));
}

function metricValues(value: unknown, name: string): number[] {
  const values = Array.isArray(value) ? value : [value];
  if (
    values.length === 0 ||
    values.length > MAX_VALUES ||
    !values.every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    throw new EmfError(
      `metric "${name}" needs a number or an array of 1–${MAX_VALUES} numbers as member "${name}"`,
    );
  }
  return values as number[];
}
