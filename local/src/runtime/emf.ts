import type { Dimension } from '../services/cloudwatch';

export interface EmfDatapoint {
  namespace: string;
  name: string;
  dimensions: Dimension[];
  values: number[];
  /** Epoch ms. */
  time: number;
}

interface EmfDirective {
  Namespace?: string;
  Dimensions?: string[][];
  Metrics?: { Name?: string }[];
}

/**
 * The datapoints CloudWatch Logs would extract from one log line in embedded metric format: one per
 * metric and dimension set. Lines that are not EMF give none.
 */
export function parseEmf(line: string): EmfDatapoint[] {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return [];
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return [];
  }
  const aws = record._aws as { Timestamp?: number; CloudWatchMetrics?: EmfDirective[] } | undefined;
  const time = typeof aws?.Timestamp === 'number' ? aws.Timestamp : Date.now();
  const points: EmfDatapoint[] = [];
  for (const directive of aws?.CloudWatchMetrics ?? []) {
    if (!directive.Namespace) continue;
    for (const metric of directive.Metrics ?? []) {
      const raw = metric.Name ? record[metric.Name] : undefined;
      const values = ([] as unknown[]).concat(raw ?? []).filter((v): v is number => typeof v === 'number');
      if (!values.length) continue;
      for (const set of directive.Dimensions?.length ? directive.Dimensions : [[]]) {
        if (!set.every((key) => typeof record[key] === 'string')) continue;
        const dimensions = set.map((key) => ({ Name: key, Value: record[key] as string }));
        points.push({ namespace: directive.Namespace, name: metric.Name!, dimensions, values, time });
      }
    }
  }
  return points;
}
