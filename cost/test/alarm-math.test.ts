import { describe, expect, it } from 'vitest';
import { spendMath } from '../alarm-math';

const prices = {
  'm.big': { inputPerMillion: 3, outputPerMillion: 15, cacheReadPerMillion: 0.3, cacheWritePerMillion: 3.75 },
  'm.small': {
    inputPerMillion: 0.8,
    outputPerMillion: 3.2,
    cacheReadPerMillion: 0.2,
    cacheWritePerMillion: 0,
  },
};

/** Evaluates the expression the way CloudWatch would for one period, with the given sums (absent = no data). */
function evaluate(expression: string, sums: Record<string, number>): number {
  const js = expression.replace(/FILL\((\w+),0\)/g, (_, id: string) => String(sums[id] ?? 0));
  expect(js).toMatch(/^[\d.+*/() ]+$/);
  return Function(`return ${js}`)() as number;
}

describe('spendMath', () => {
  it('prices Bedrock token counts and the agent’s cache tokens per model over a day', () => {
    const math = spendMath({ modelIds: ['m.big', 'm.small'], prices, environment: 'dev' });
    expect(math.periodSeconds).toBe(86_400);
    expect(math.metrics.map((m) => [m.id, m.namespace, m.metricName, m.dimensions])).toEqual([
      ['in0', 'AWS/Bedrock', 'InputTokenCount', { ModelId: 'm.big' }],
      ['out0', 'AWS/Bedrock', 'OutputTokenCount', { ModelId: 'm.big' }],
      ['cr0', 'AgentCoreGitops', 'cacheReadInputTokens', { Environment: 'dev', ModelId: 'm.big' }],
      ['cw0', 'AgentCoreGitops', 'cacheWriteInputTokens', { Environment: 'dev', ModelId: 'm.big' }],
      ['in1', 'AWS/Bedrock', 'InputTokenCount', { ModelId: 'm.small' }],
      ['out1', 'AWS/Bedrock', 'OutputTokenCount', { ModelId: 'm.small' }],
      ['cr1', 'AgentCoreGitops', 'cacheReadInputTokens', { Environment: 'dev', ModelId: 'm.small' }],
    ]);
    expect(math.metrics.every((m) => m.statistic === 'Sum')).toBe(true);
    // 1M in + 100k out + 2M cache reads + 100k cache writes on the big model; 1M in on the small one:
    // 3 + 1.5 + 0.6 + 0.375 + 0.8 = 6.275 USD.
    expect(
      evaluate(math.expression, {
        in0: 1_000_000,
        out0: 100_000,
        cr0: 2_000_000,
        cw0: 100_000,
        in1: 1_000_000,
      }),
    ).toBeCloseTo(6.275, 10);
    expect(evaluate(math.expression, {})).toBe(0);
  });

  it('honours the namespace and period, and fails clearly for an unpriced model', () => {
    const math = spendMath({
      modelIds: ['m.small'],
      prices,
      environment: 'prod',
      metricsNamespace: 'X',
      periodSeconds: 3600,
    });
    expect(math.metrics.find((m) => m.id === 'cr0')?.namespace).toBe('X');
    expect(math.label).toBe('Estimated model spend (USD per 1 h)');
    expect(() => spendMath({ modelIds: ['m.none'], prices, environment: 'dev' })).toThrow(
      /no price for model "m\.none"/,
    );
  });

  it('refuses more metrics than an alarm may use', () => {
    const many = Object.fromEntries(['a', 'b', 'c'].map((k) => [`m.${k}`, prices['m.big']]));
    expect(() => spendMath({ modelIds: Object.keys(many), prices: many, environment: 'dev' })).toThrow(
      /needs 12 metrics; a CloudWatch alarm allows 10/,
    );
  });
});
