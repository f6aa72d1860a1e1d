import { describe, expect, it } from 'vitest';
import { Metrics } from '../../agent/src/telemetry/metrics';
import { EmfError, emfToPutMetricData } from '../emf';

const ts = Date.UTC(2026, 10, 28, 12, 0, 0);

function line(body: Record<string, unknown>, directives: unknown[]): string {
  return JSON.stringify({ _aws: { Timestamp: ts, CloudWatchMetrics: directives }, ...body });
}

describe('emfToPutMetricData', () => {
  it('passes over lines that are not EMF', () => {
    expect(emfToPutMetricData('server listening on 8080')).toBeNull();
    expect(emfToPutMetricData('{"level":"info","msg":"hello"}')).toBeNull();
    expect(emfToPutMetricData('{not json')).toBeNull();
    expect(emfToPutMetricData('')).toBeNull();
  });

  it('makes one datum per metric and dimension set, with units and the timestamp', () => {
    const out = emfToPutMetricData(
      line({ Environment: 'dev', ModelId: 'm.x', inputTokens: 120, Latency: 850.5, requestId: 'r-1' }, [
        {
          Namespace: 'AgentCoreGitops',
          Dimensions: [['Environment'], ['Environment', 'ModelId']],
          Metrics: [
            { Name: 'inputTokens', Unit: 'Count' },
            { Name: 'Latency', Unit: 'Milliseconds', StorageResolution: 1 },
          ],
        },
      ]),
    );
    expect(out).toEqual([
      {
        Namespace: 'AgentCoreGitops',
        MetricData: [
          {
            MetricName: 'inputTokens',
            Dimensions: [{ Name: 'Environment', Value: 'dev' }],
            Timestamp: new Date(ts),
            Unit: 'Count',
            StorageResolution: 60,
            Value: 120,
          },
          {
            MetricName: 'inputTokens',
            Dimensions: [
              { Name: 'Environment', Value: 'dev' },
              { Name: 'ModelId', Value: 'm.x' },
            ],
            Timestamp: new Date(ts),
            Unit: 'Count',
            StorageResolution: 60,
            Value: 120,
          },
          {
            MetricName: 'Latency',
            Dimensions: [{ Name: 'Environment', Value: 'dev' }],
            Timestamp: new Date(ts),
            Unit: 'Milliseconds',
            StorageResolution: 1,
            Value: 850.5,
          },
          {
            MetricName: 'Latency',
            Dimensions: [
              { Name: 'Environment', Value: 'dev' },
              { Name: 'ModelId', Value: 'm.x' },
            ],
            Timestamp: new Date(ts),
            Unit: 'Milliseconds',
            StorageResolution: 1,
            Value: 850.5,
          },
        ],
      },
    ]);
  });

  it('keeps value arrays, defaults the unit to None, and groups directives by namespace', () => {
    const out = emfToPutMetricData(
      line({ TimeToFirstToken: [100, 200, 300], EstimatedCostUsd: 0.012, Other: 1 }, [
        { Namespace: 'A', Dimensions: [[]], Metrics: [{ Name: 'TimeToFirstToken', Unit: 'Milliseconds' }] },
        { Namespace: 'B', Dimensions: [], Metrics: [{ Name: 'Other' }] },
        { Namespace: 'A', Dimensions: [[]], Metrics: [{ Name: 'EstimatedCostUsd' }] },
      ]),
    )!;
    expect(out.map((p) => p.Namespace)).toEqual(['A', 'B']);
    expect(out[0].MetricData!.map((d) => [d.MetricName, d.Value ?? d.Values, d.Unit, d.Dimensions])).toEqual([
      ['TimeToFirstToken', [100, 200, 300], 'Milliseconds', []],
      ['EstimatedCostUsd', 0.012, 'None', []],
    ]);
    expect(out[1].MetricData![0]).toMatchObject({
      MetricName: 'Other',
      Value: 1,
      Unit: 'None',
      Dimensions: [],
    });
  });

  it.each([
    [{ _aws: { CloudWatchMetrics: [] } }, /Timestamp must be a number/],
    [{ _aws: { Timestamp: ts } }, /CloudWatchMetrics must be an array/],
    [
      { _aws: { Timestamp: ts, CloudWatchMetrics: [{ Dimensions: [], Metrics: [] }] } },
      /\[0\]\.Namespace must be a string/,
    ],
    [
      {
        _aws: {
          Timestamp: ts,
          CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['Environment']], Metrics: [{ Name: 'x' }] }],
        },
        x: 1,
      },
      /dimension "Environment" .* needs a non-empty string member "Environment"/,
    ],
    [
      {
        _aws: {
          Timestamp: ts,
          CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [[]], Metrics: [{ Name: 'x', Unit: 'Tokens' }] }],
        },
        x: 1,
      },
      /Unit "Tokens" is not a CloudWatch unit/,
    ],
    [
      {
        _aws: {
          Timestamp: ts,
          CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [[]], Metrics: [{ Name: 'x' }] }],
        },
        x: 'many',
      },
      /metric "x" needs a number or an array/,
    ],
    [
      {
        _aws: {
          Timestamp: ts,
          CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [[]], Metrics: [{ Name: 'x' }] }],
        },
      },
      /metric "x" needs a number/,
    ],
  ])('says what is wrong with a broken EMF line (%#)', (event, message) => {
    expect(() => emfToPutMetricData(JSON.stringify(event))).toThrow(EmfError);
    expect(() => emfToPutMetricData(JSON.stringify(event))).toThrow(message);
  });
});

describe('the agent’s EMF lines', () => {
  it('convert into its token metrics per environment and per model', () => {
    const lines: string[] = [];
    new Metrics('AgentCoreGitops', 'dev', (l) => lines.push(l)).emit(
      [
        { name: 'inputTokens', value: 120, unit: 'Count' },
        { name: 'cacheReadInputTokens', value: 2_000, unit: 'Count' },
      ],
      { ModelId: 'm.x' },
      { requestId: 'r-1' },
    );
    const [put] = emfToPutMetricData(lines[0])!;
    expect(put.Namespace).toBe('AgentCoreGitops');
    expect(
      put.MetricData!.map((d) => [d.MetricName, d.Dimensions!.map((x) => x.Value).join('/'), d.Value]),
    ).toEqual([
      ['inputTokens', 'dev', 120],
      ['inputTokens', 'dev/m.x', 120],
      ['cacheReadInputTokens', 'dev', 2_000],
      ['cacheReadInputTokens', 'dev/m.x', 2_000],
    ]);
  });
});
