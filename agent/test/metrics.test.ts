import { describe, expect, it } from 'vitest';
import { emfRecord, Metrics, usageMetrics } from '../src/telemetry/metrics';

describe('embedded metric format', () => {
  it('puts the _aws block, dimension values and metric values in one object', () => {
    const record = emfRecord({
      namespace: 'AgentCoreGitops',
      dimensions: { Environment: 'dev', ModelId: 'm' },
      dimensionSets: [['Environment'], ['Environment', 'ModelId']],
      metrics: [
        { name: 'inputTokens', value: 12, unit: 'Count' },
        { name: 'Latency', value: 340, unit: 'Milliseconds' },
      ],
      properties: { requestId: 'r1' },
      timestamp: 1_700_000_000_000,
    });
    expect(record).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          {
            Namespace: 'AgentCoreGitops',
            Dimensions: [['Environment'], ['Environment', 'ModelId']],
            Metrics: [
              { Name: 'inputTokens', Unit: 'Count' },
              { Name: 'Latency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      Environment: 'dev',
      ModelId: 'm',
      requestId: 'r1',
      inputTokens: 12,
      Latency: 340,
    });
  });

  it('refuses a dimension set naming a missing dimension', () => {
    expect(() =>
      emfRecord({ namespace: 'n', dimensions: {}, dimensionSets: [['Environment']], metrics: [] }),
    ).toThrow('EMF dimension set names "Environment", which has no value');
  });

  it('writes one JSON line per emit, always with the Environment dimension', () => {
    const lines: string[] = [];
    const metrics = new Metrics('AgentCoreGitops', 'prod', (l) => lines.push(l));
    metrics.emit([{ name: 'ToolCalls', value: 2, unit: 'Count' }]);
    metrics.emit([{ name: 'UserMessages', value: 1, unit: 'Count' }], { Topic: 'time' });
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Environment']]);
    expect(first).toMatchObject({ Environment: 'prod', ToolCalls: 2 });
    expect(second._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Environment'], ['Environment', 'Topic']]);
    expect(second).toMatchObject({ Environment: 'prod', Topic: 'time', UserMessages: 1 });
  });

  it('prices an answer’s tokens: EstimatedCostUsd and CacheSavingsUsd (unit None) beside the counts', () => {
    const usage = {
      inputTokens: 1000,
      outputTokens: 200,
      cacheReadInputTokens: 5000,
      cacheWriteInputTokens: 400,
    };
    const price = {
      inputPerMillion: 3,
      outputPerMillion: 15,
      cacheReadPerMillion: 0.3,
      cacheWritePerMillion: 3.75,
    };
    const metrics = usageMetrics(usage, price);
    const byName = Object.fromEntries(metrics.map((m) => [m.name, m]));
    expect(byName.inputTokens).toEqual({ name: 'inputTokens', value: 1000, unit: 'Count' });
    expect(byName.cacheWriteInputTokens).toEqual({
      name: 'cacheWriteInputTokens',
      value: 400,
      unit: 'Count',
    });
    // 1000×3 + 200×15 + 5000×0.3 + 400×3.75 = 9000 per million.
    expect(byName.EstimatedCostUsd.unit).toBe('None');
    expect(byName.EstimatedCostUsd.value).toBeCloseTo(0.009, 12);
    // 5000×(3 − 0.3) − 400×(3.75 − 3) = 13200 per million.
    expect(byName.CacheSavingsUsd).toMatchObject({ unit: 'None' });
    expect(byName.CacheSavingsUsd.value).toBeCloseTo(0.0132, 12);
    // Unpriced (MODEL_PRICES not set): the counts only.
    expect(usageMetrics(usage).map((m) => m.name)).toEqual([
      'inputTokens',
      'outputTokens',
      'cacheReadInputTokens',
      'cacheWriteInputTokens',
    ]);
  });
});
