import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig } from './image-fixture';

describe('CloudWatch on the twin', () => {
  let twin: Twin;
  let cw: CloudWatchClient;
  const t0 = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000);
  const dims = [{ Name: 'Environment', Value: 'dev' }];

  beforeAll(async () => {
    twin = await startTwin();
    cw = new CloudWatchClient(clientConfig(twin));
  });
  afterAll(() => twin.close());

  it('stores datapoints and answers GetMetricData with Sum, Average, p95 and arithmetic expressions', async () => {
    const latencies = Array.from({ length: 20 }, (_, i) => (i + 1) * 10); // 10..200 ms
    await cw.send(
      new PutMetricDataCommand({
        Namespace: 'AgentCoreGitops',
        MetricData: [
          { MetricName: 'Latency', Dimensions: dims, Timestamp: t0, Values: latencies, Unit: 'Milliseconds' },
        ],
      }),
    );
    await cw.send(
      new PutMetricDataCommand({
        Namespace: 'AgentCoreGitops',
        MetricData: [
          { MetricName: 'Errors', Dimensions: dims, Timestamp: t0, Value: 2 },
          { MetricName: 'Invocations', Dimensions: dims, Timestamp: t0, Value: 20 },
        ],
      }),
    );
    const stat = (Id: string, MetricName: string, Stat: string, ReturnData = true) => ({
      Id,
      ReturnData,
      MetricStat: {
        Metric: { Namespace: 'AgentCoreGitops', MetricName, Dimensions: dims },
        Period: 60,
        Stat,
      },
    });
    const out = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(t0.getTime() - 60_000),
        EndTime: new Date(),
        MetricDataQueries: [
          stat('p', 'Latency', 'p95'),
          stat('avg', 'Latency', 'Average'),
          stat('e', 'Errors', 'Sum', false),
          stat('n', 'Invocations', 'Sum', false),
          { Id: 'rate', Expression: '100 * e / n', Label: 'ErrorRate' },
        ],
      }),
    );
    const byId = Object.fromEntries(out.MetricDataResults!.map((r) => [r.Id, r]));
    expect(Object.keys(byId)).toEqual(['p', 'avg', 'rate']);
    expect(byId.p.Values).toEqual([190]);
    expect(byId.p.Timestamps).toEqual([t0]);
    expect(byId.avg.Values).toEqual([105]);
    expect(byId.rate).toMatchObject({ Label: 'ErrorRate', Values: [10], StatusCode: 'Complete' });
    // A different dimension set is a different metric.
    const other = await cw.send(
      new GetMetricDataCommand({
        StartTime: t0,
        EndTime: new Date(),
        MetricDataQueries: [
          {
            Id: 'x',
            MetricStat: {
              Metric: { Namespace: 'AgentCoreGitops', MetricName: 'Latency' },
              Period: 60,
              Stat: 'Sum',
            },
          },
        ],
      }),
    );
    expect(other.MetricDataResults![0].Values).toEqual([]);
  });

  it('rejects metric math it does not implement with a clear error', async () => {
    const err = await cw
      .send(
        new GetMetricDataCommand({
          StartTime: t0,
          EndTime: new Date(),
          MetricDataQueries: [{ Id: 'm', Expression: 'SUM(METRICS())' }],
        }),
      )
      .catch((e) => e);
    expect(err.name).toBe('InvalidParameterValueException');
    expect(err.message).toMatch(/SUM\(\) is not implemented/);
  });

  it('describes alarms registered in-process and changes their state both ways', async () => {
    twin.cloudwatch.putAlarm({
      AlarmName: 'agent-dev-errors',
      Namespace: 'AWS/Bedrock-AgentCore',
      MetricName: 'SystemErrors',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      Period: 60,
      Statistic: 'Sum',
    });
    twin.cloudwatch.putAlarm({ AlarmName: 'agent-prod-errors', StateValue: 'OK' });
    const all = await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'agent-dev' }));
    expect(all.MetricAlarms?.map((a) => [a.AlarmName, a.StateValue])).toEqual([
      ['agent-dev-errors', 'INSUFFICIENT_DATA'],
    ]);
    twin.cloudwatch.setAlarmState('agent-dev-errors', 'ALARM', 'Threshold crossed: 3 errors');
    const alarming = await cw.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }));
    expect(alarming.MetricAlarms?.[0]).toMatchObject({
      AlarmName: 'agent-dev-errors',
      StateReason: 'Threshold crossed: 3 errors',
      Threshold: 1,
    });
    expect(alarming.MetricAlarms?.[0].StateUpdatedTimestamp).toBeInstanceOf(Date);
    await cw.send(
      new SetAlarmStateCommand({ AlarmName: 'agent-dev-errors', StateValue: 'OK', StateReason: 'recovered' }),
    );
    expect(twin.cloudwatch.alarm('agent-dev-errors')?.StateValue).toBe('OK');
    const missing = await cw
      .send(new SetAlarmStateCommand({ AlarmName: 'nope', StateValue: 'OK', StateReason: 'x' }))
      .catch((e) => e);
    expect(missing.name).toBe('ResourceNotFound');
  });
});
