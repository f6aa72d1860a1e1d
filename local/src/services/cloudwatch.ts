import { z } from 'zod';
import {
  checkInput,
  list,
  oneOf,
  pattern,
  range,
  text,
  validationError,
  type Violation,
} from '../core/constraints';
import { jsonOperations } from '../core/json-body';
import { AwsError } from '../core/respond';
import type { Router } from '../core/router';
import type { TwinContext } from '../twin';

const TARGET = 'GraniteServiceVersion20100801';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;
type AlarmState = (typeof STATES)[number];

export interface Dimension {
  Name: string;
  Value: string;
}
interface Point {
  t: number;
  sum: number;
  count: number;
  min: number;
  max: number;
  /** Raw samples, for percentiles (absent for StatisticValues). */
  values?: number[];
}
interface Series {
  Namespace: string;
  MetricName: string;
  Dimensions: Dimension[];
  points: Point[];
}

/** What `putAlarm` takes: DescribeAlarms' MetricAlarm members (the name is required). */
export interface AlarmInput {
  AlarmName: string;
  AlarmDescription?: string;
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Dimension[];
  Statistic?: string;
  ExtendedStatistic?: string;
  Period?: number;
  EvaluationPeriods?: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator?: string;
  TreatMissingData?: string;
  AlarmActions?: string[];
  OKActions?: string[];
  StateValue?: AlarmState;
  StateReason?: string;
}
interface AlarmRecord extends AlarmInput {
  AlarmArn: string;
  StateValue: AlarmState;
  StateReason: string;
  StateUpdatedTimestamp: number;
  AlarmConfigurationUpdatedTimestamp: number;
}

interface MetricDatum {
  MetricName?: string;
  Dimensions?: Dimension[];
  Timestamp?: number;
  Value?: number;
  Values?: number[];
  Counts?: number[];
  StatisticValues?: { SampleCount: number; Sum: number; Minimum: number; Maximum: number };
}
interface MetricDataQuery {
  Id: string;
  Label?: string;
  ReturnData?: boolean;
  Expression?: string;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] };
    Period: number;
    Stat: string;
  };
}
/** The members of the CloudWatch requests this module reads, as they arrive on the wire. */
interface CwInput {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value?: string }[];
  MetricData?: MetricDatum[];
  StartTime?: number;
  EndTime?: number;
  ScanBy?: string;
  MetricDataQueries?: MetricDataQuery[];
  AlarmNames?: string[];
  AlarmNamePrefix?: string;
  AlarmTypes?: string[];
  AlarmName?: string;
  StateValue?: AlarmState;
  StateReason?: string;
}

const seriesKey = (ns: string, name: string, dims: Dimension[] = []) =>
  JSON.stringify([
    ns,
    name,
    [...dims].sort((a, b) => a.Name.localeCompare(b.Name)).map((d) => [d.Name, d.Value]),
  ]);
const invalid = (message: string) => new AwsError('InvalidParameterValueException', message);

/**
 * Input constraints of the operations the project calls, from AWS's model (aws/api-models-aws
 * cloudwatch/service/2010-08-01/cloudwatch-2010-08-01.json). CloudWatch's request validation
 * answers ValidationException, whose awsQueryError code is ValidationError (aws-sdk-js-v3's
 * cloudwatch model), with the "N validation error(s) detected" message.
 */
const namespace = pattern('^[^:]')
  .min(1, 'Member must have length greater than or equal to 1')
  .max(255, 'Member must have length less than or equal to 255');
const metricName = text(1, 255);
const alarmName = text(1, 255);
const stateValue = oneOf([...STATES]);
const dimension = z.object({ Name: text(1, 255), Value: text(1, 1024) }).passthrough();
const UNITS = [
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
] as [string, ...string[]];
const inputs: Record<string, z.ZodType> = {
  PutMetricData: z
    .object({
      Namespace: namespace,
      MetricData: z.array(
        z
          .object({
            MetricName: metricName,
            Dimensions: list(dimension, 0, 30).optional(),
            Unit: oneOf(UNITS).optional(),
            StorageResolution: range(1).optional(),
          })
          .passthrough(),
      ),
    })
    .passthrough(),
  ListMetrics: z
    .object({
      Namespace: namespace.optional(),
      MetricName: metricName.optional(),
      Dimensions: list(
        z.object({ Name: text(1, 255), Value: text(1, 1024).optional() }).passthrough(),
        0,
        10,
      ).optional(),
      RecentlyActive: oneOf(['PT3H']).optional(),
    })
    .passthrough(),
  GetMetricData: z
    .object({
      MetricDataQueries: z.array(
        z
          .object({ Id: text(1, 255), Expression: text(1, 2048).optional(), Period: range(1).optional() })
          .passthrough(),
      ),
      StartTime: z.unknown().refine((v) => v !== undefined && v !== null),
      EndTime: z.unknown().refine((v) => v !== undefined && v !== null),
      ScanBy: oneOf(['TimestampDescending', 'TimestampAscending']).optional(),
    })
    .passthrough(),
  DescribeAlarms: z
    .object({
      AlarmNames: list(alarmName, 0, 100).optional(),
      AlarmNamePrefix: text(1, 255).optional(),
      AlarmTypes: z.array(oneOf(['CompositeAlarm', 'MetricAlarm'])).optional(),
      StateValue: stateValue.optional(),
      ActionPrefix: text(1, 1024).optional(),
      MaxRecords: range(1, 100).optional(),
    })
    .passthrough(),
  SetAlarmState: z
    .object({
      AlarmName: alarmName,
      StateValue: stateValue,
      StateReason: text(0, 1023),
      StateReasonData: text(0, 4000).optional(),
    })
    .passthrough(),
};
const invalidInput = (violations: Violation[]) =>
  Object.assign(validationError('ValidationException')(violations), { queryCode: 'ValidationError' });

function statistic(points: Point[], stat: string): number | undefined {
  if (!points.length) return undefined;
  const count = points.reduce((n, p) => n + p.count, 0);
  const sum = points.reduce((n, p) => n + p.sum, 0);
  switch (stat) {
    case 'SampleCount':
      return count;
    case 'Sum':
      return sum;
    case 'Average':
      return sum / count;
    case 'Minimum':
      return Math.min(...points.map((p) => p.min));
    case 'Maximum':
      return Math.max(...points.map((p) => p.max));
  }
  const p = /^p(\d{1,2}(?:\.\d+)?|100)$/.exec(stat);
  if (!p)
    throw invalid(
      `The statistic '${stat}' is not supported: use SampleCount, Sum, Average, Minimum, Maximum or pNN`,
    );
  const values = points.flatMap((pt) => pt.values ?? []).sort((a, b) => a - b);
  if (!values.length) return undefined;
  // Nearest rank.
  return values[Math.max(0, Math.ceil((Number(p[1]) / 100) * values.length) - 1)];
}

type Expr = { num: number } | { id: string } | { op: string; left: Expr; right: Expr } | { neg: Expr };

/** Metric math, arithmetic only: ids, numbers, + - * / and parentheses. */
function parseExpression(text: string): Expr {
  const tokens =
    text.match(/\s*(\d+(?:\.\d+)?|[A-Za-z][a-zA-Z0-9_]*|[-+*/()]|\S)/g)?.map((t) => t.trim()) ?? [];
  let i = 0;
  const fail = (why: string): never => {
    throw invalid(
      `The expression '${text}' is not supported by the local twin (${why}); it evaluates arithmetic on metric ids (+ - * / and parentheses) only`,
    );
  };
  const primary = (): Expr => {
    const t = tokens[i++];
    if (t === undefined) return fail('it ends early');
    if (t === '(') {
      const e = sum();
      if (tokens[i++] !== ')') fail('a parenthesis is not closed');
      return e;
    }
    if (t === '-') return { neg: primary() };
    if (/^\d/.test(t)) return { num: Number(t) };
    if (/^[A-Za-z]/.test(t)) {
      if (tokens[i] === '(') fail(`function ${t}() is not implemented`);
      return { id: t };
    }
    return fail(`unexpected '${t}'`);
  };
  const product = (): Expr => {
    let left = primary();
    while (tokens[i] === '*' || tokens[i] === '/') left = { op: tokens[i++], left, right: primary() };
    return left;
  };
  const sum = (): Expr => {
    let left = product();
    while (tokens[i] === '+' || tokens[i] === '-') left = { op: tokens[i++], left, right: product() };
    return left;
  };
  const e = sum();
  if (i < tokens.length) fail(`unexpected '${tokens[i]}'`);
  return e;
}

function evaluate(e: Expr, at: number, series: Map<string, Map<number, number>>): number | undefined {
  if ('num' in e) return e.num;
  if ('neg' in e) {
    const v = evaluate(e.neg, at, series);
    return v === undefined ? undefined : -v;
  }
  if ('id' in e) {
    return series.get(e.id)?.get(at);
  }
  const l = evaluate(e.left, at, series);
  const r = evaluate(e.right, at, series);
  if (l === undefined || r === undefined) return undefined;
  return e.op === '+' ? l + r : e.op === '-' ? l - r : e.op === '*' ? l * r : r === 0 ? undefined : l / r;
}

const ids = (e: Expr): string[] =>
  'id' in e ? [e.id] : 'neg' in e ? ids(e.neg) : 'op' in e ? [...ids(e.left), ...ids(e.right)] : [];

/** CloudWatch (awsJson1_0, query-compatible): metrics in memory, alarms steered through the in-process API. */
export function registerCloudWatch(router: Router, ctx: TwinContext) {
  const series = new Map<string, Series>();
  const state = ctx.state.get('cloudwatch', () => ({ alarms: {} as Record<string, AlarmRecord> }));

  const register = jsonOperations<CwInput>(router, TARGET, CONTENT_TYPE);
  /** Every operation first checks its input against the CloudWatch model's constraints. */
  const op = (operation: string, fn: (input: CwInput) => unknown) => {
    const schema = inputs[operation];
    if (!schema)
      throw new Error(
        `CloudWatch ${operation} has no input constraints: add its model's to cloudwatch.ts's inputs`,
      );
    register(operation, (input) => fn(checkInput(schema, input, invalidInput) as CwInput));
  };

  function record(namespace: string, metricName: string, dimensions: Dimension[], point: Point) {
    const key = seriesKey(namespace, metricName, dimensions);
    let s = series.get(key);
    if (!s)
      series.set(
        key,
        (s = { Namespace: namespace, MetricName: metricName, Dimensions: dimensions, points: [] }),
      );
    s.points.push(point);
  }

  function putMetricData(input: CwInput) {
    const namespace = String(input.Namespace ?? '');
    if (!namespace || namespace.startsWith('AWS/'))
      throw invalid(
        `The value '${namespace}' for parameter Namespace is invalid: it must be set and must not start with AWS/`,
      );
    for (const d of input.MetricData ?? []) {
      if (!d.MetricName)
        throw new AwsError(
          'MissingRequiredParameterException',
          'The parameter MetricData.member.N.MetricName is required.',
        );
      const t = d.Timestamp !== undefined ? Number(d.Timestamp) * 1000 : Date.now();
      let values: number[] = [];
      if (d.Value !== undefined) values = [Number(d.Value)];
      else if (d.Values)
        values = (d.Values as number[]).flatMap((v, i) =>
          Array<number>(Math.min(Number(d.Counts?.[i] ?? 1), 1000)).fill(v),
        );
      if (d.StatisticValues) {
        const s = d.StatisticValues;
        record(namespace, d.MetricName, d.Dimensions ?? [], {
          t,
          sum: s.Sum,
          count: s.SampleCount,
          min: s.Minimum,
          max: s.Maximum,
        });
      } else if (values.length) {
        record(namespace, d.MetricName, d.Dimensions ?? [], {
          t,
          sum: values.reduce((a, b) => a + b, 0),
          count: values.length,
          min: Math.min(...values),
          max: Math.max(...values),
          values,
        });
      } else {
        throw new AwsError(
          'MissingRequiredParameterException',
          `MetricData for ${d.MetricName} needs Value, Values or StatisticValues`,
        );
      }
    }
  }

  op('PutMetricData', (input) => (putMetricData(input), {}));

  op('ListMetrics', (input) => ({
    Metrics: [...series.values()]
      .filter(
        (s) =>
          (!input.Namespace || s.Namespace === input.Namespace) &&
          (!input.MetricName || s.MetricName === input.MetricName),
      )
      .filter((s) =>
        (input.Dimensions ?? []).every((f) =>
          s.Dimensions.some((d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value)),
        ),
      )
      .map(({ Namespace, MetricName, Dimensions }) => ({ Namespace, MetricName, Dimensions })),
  }));

  op('GetMetricData', (input) => {
    const start = Number(input.StartTime) * 1000;
    const end = Number(input.EndTime) * 1000;
    if (!(start < end)) throw invalid('StartTime must be before EndTime');
    const computed = new Map<string, Map<number, number>>();
    const results = [];
    for (const q of input.MetricDataQueries ?? []) {
      let values = new Map<number, number>();
      let label = q.Label ?? q.Id;
      if (q.MetricStat) {
        const m = q.MetricStat.Metric;
        const period = Number(q.MetricStat.Period) * 1000;
        if (!(period > 0))
          throw invalid(`MetricStat.Period of query ${q.Id} must be a positive number of seconds`);
        label = q.Label ?? m.MetricName;
        const buckets = new Map<number, Point[]>();
        for (const p of series.get(seriesKey(m.Namespace, m.MetricName, m.Dimensions ?? []))?.points ?? []) {
          if (p.t < start || p.t >= end) continue;
          const b = Math.floor(p.t / period) * period;
          buckets.set(b, [...(buckets.get(b) ?? []), p]);
        }
        for (const [b, pts] of buckets) {
          const v = statistic(pts, q.MetricStat.Stat);
          if (v !== undefined) values.set(b, v);
        }
      } else if (q.Expression) {
        const expr = parseExpression(String(q.Expression));
        const times = new Set(
          ids(expr).flatMap((id) => {
            const s = computed.get(id);
            if (!s)
              throw invalid(
                `The expression '${q.Expression}' refers to '${id}', which is not a query id defined before it`,
              );
            return [...s.keys()];
          }),
        );
        values = new Map(
          [...times].flatMap((t) => {
            const v = evaluate(expr, t, computed);
            return v === undefined ? [] : [[t, v] as [number, number]];
          }),
        );
      } else {
        throw new AwsError(
          'MissingRequiredParameterException',
          `Query ${q.Id} needs MetricStat or Expression`,
        );
      }
      computed.set(q.Id, values);
      if (q.ReturnData === false) continue;
      const times = [...values.keys()].sort((a, b) =>
        input.ScanBy === 'TimestampAscending' ? a - b : b - a,
      );
      results.push({
        Id: q.Id,
        Label: label,
        Timestamps: times.map((t) => t / 1000),
        Values: times.map((t) => values.get(t)!),
        StatusCode: 'Complete',
        Messages: [],
      });
    }
    return { MetricDataResults: results, Messages: [] };
  });

  const describe = (a: AlarmRecord) => ({
    ActionsEnabled: true,
    AlarmActions: [],
    OKActions: [],
    InsufficientDataActions: [],
    Dimensions: [],
    ...a,
  });

  op('DescribeAlarms', (input) => {
    const names = input.AlarmNames as string[] | undefined;
    const alarms = Object.values(state.alarms).filter(
      (a) =>
        (!names?.length || names.includes(a.AlarmName)) &&
        (!input.AlarmNamePrefix || a.AlarmName.startsWith(input.AlarmNamePrefix)) &&
        (!input.StateValue || a.StateValue === input.StateValue),
    );
    const wantsMetric = !input.AlarmTypes || (input.AlarmTypes as string[]).includes('MetricAlarm');
    return { MetricAlarms: wantsMetric ? alarms.map(describe) : [], CompositeAlarms: [] };
  });

  function setAlarmState(name: string, value: AlarmState, reason: string) {
    const alarm = state.alarms[name];
    if (!alarm) throw new AwsError('ResourceNotFound', `Alarm ${name} not found`, 404);
    if (!STATES.includes(value))
      throw invalid(`StateValue must be one of ${STATES.join(', ')}, got '${value}'`);
    Object.assign(alarm, {
      StateValue: value,
      StateReason: reason,
      StateUpdatedTimestamp: Date.now() / 1000,
    });
    ctx.state.save();
  }

  op(
    'SetAlarmState',
    (input) => (
      setAlarmState(String(input.AlarmName ?? ''), input.StateValue!, String(input.StateReason ?? '')),
      {}
    ),
  );

  return {
    /** Create or replace an alarm (state INSUFFICIENT_DATA unless given). */
    putAlarm(alarm: AlarmInput) {
      const t = Date.now() / 1000;
      state.alarms[alarm.AlarmName] = {
        ...alarm,
        AlarmArn: `arn:aws:cloudwatch:${ctx.region}:${ctx.accountId}:alarm:${alarm.AlarmName}`,
        StateValue: alarm.StateValue ?? 'INSUFFICIENT_DATA',
        StateReason: alarm.StateReason ?? 'Unchecked: Initial alarm creation',
        StateUpdatedTimestamp: t,
        AlarmConfigurationUpdatedTimestamp: t,
      };
      ctx.state.save();
    },
    setAlarmState: (name: string, value: AlarmState, reason = `Set by the local twin to ${value}`) =>
      setAlarmState(name, value, reason),
    alarm: (name: string) => state.alarms[name],
    deleteAlarm(name: string) {
      delete state.alarms[name];
      ctx.state.save();
    },
    /** Record a datapoint directly, e.g. for the AWS/ namespaces a real service would publish. */
    putMetric(
      namespace: string,
      metricName: string,
      value: number,
      dimensions: Dimension[] = [],
      time = Date.now(),
    ) {
      record(namespace, metricName, dimensions, {
        t: time,
        sum: value,
        count: 1,
        min: value,
        max: value,
        values: [value],
      });
    },
  };
}

export type CloudWatchApi = ReturnType<typeof registerCloudWatch>;
