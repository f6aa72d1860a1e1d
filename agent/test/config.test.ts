import { describe, expect, it } from 'vitest';
import { ConfigError, fillNamespace, loadConfig } from '../src/config';

describe('config', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({ AWS_REGION: 'us-east-1' });
    expect(c).toMatchObject({
      PORT: 8080,
      HOST: '0.0.0.0',
      MODEL_ID: 'us.anthropic.claude-sonnet-4-6',
      BACKGROUND_MODEL_ID: 'us.amazon.nova-pro-v1:0',
      GUARDRAIL_STREAM_MODE: 'sync',
      MEMORY_SEMANTIC_NAMESPACE: '/facts/{actorId}',
      MEMORY_PREFERENCE_NAMESPACE: '/preferences/{actorId}',
      MEMORY_SUMMARY_NAMESPACE: '/summaries/{actorId}/{sessionId}',
      METRICS_NAMESPACE: 'AgentCoreGitops',
      MAX_TOOL_STEPS: 8,
      MAX_BODY_BYTES: 1024 * 1024,
      SHUTDOWN_DEADLINE_MS: 25_000,
    });
    expect(c.MEMORY_ID).toBeUndefined();
    expect(c.GUARDRAIL_ID).toBeUndefined();
  });

  it('takes AWS_DEFAULT_REGION and treats empty values as unset', () => {
    const c = loadConfig({ AWS_DEFAULT_REGION: 'eu-west-1', PORT: '', MEMORY_ID: ' ' });
    expect(c.AWS_REGION).toBe('eu-west-1');
    expect(c.PORT).toBe(8080);
    expect(c.MEMORY_ID).toBeUndefined();
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        GUARDRAIL_VERSION: 'latest',
        GUARDRAIL_STREAM_MODE: 'fast',
        MAX_TOOL_STEPS: '0',
        MEMORY_SUMMARY_NAMESPACE: '/summaries/{user}',
        LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([
      'PORT must be a whole number (got "eighty")',
      'AWS_REGION is required (e.g. us-east-1); AWS_DEFAULT_REGION is accepted too',
      'GUARDRAIL_VERSION must be DRAFT or a version number like 1 (got "latest")',
      'GUARDRAIL_STREAM_MODE must be sync or async (got "fast")',
      'MEMORY_SUMMARY_NAMESPACE unknown placeholder {user}; use {actorId} or {sessionId} (got "/summaries/{user}")',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'MAX_TOOL_STEPS must be at least 1 (got "0")',
      'GUARDRAIL_VERSION is set but GUARDRAIL_ID is not: set both or neither',
    ]);
    expect((error as Error).message).toMatch(/^Invalid agent configuration:\n {2}- PORT/);
  });

  it('fills namespace templates', () => {
    expect(fillNamespace('/summaries/{actorId}/{sessionId}', { actorId: 'a1', sessionId: 's1' })).toBe(
      '/summaries/a1/s1',
    );
  });

  describe('MODEL_PRICES', () => {
    const price = {
      inputPerMillion: 3,
      outputPerMillion: 15,
      cacheReadPerMillion: 0.3,
      cacheWritePerMillion: 3.75,
    };
    const both = { 'us.anthropic.claude-sonnet-4-6': price, 'us.amazon.nova-pro-v1:0': price };
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ AWS_REGION: 'us-east-1', ...env });
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    };

    it('is optional, and parsed into prices per model when set', () => {
      expect(loadConfig({ AWS_REGION: 'us-east-1' }).MODEL_PRICES).toBeUndefined();
      expect(
        loadConfig({ AWS_REGION: 'us-east-1', MODEL_PRICES: JSON.stringify(both) }).MODEL_PRICES,
      ).toEqual(both);
    });

    it('lists a malformed value with the other problems, one line each', () => {
      expect(problems({ MODEL_PRICES: '{oops', PORT: 'x' })).toEqual([
        'PORT must be a whole number (got "x")',
        expect.stringMatching(
          /^MODEL_PRICES is not JSON \(.+\); the stack sets it from environments\/prices\.yaml \(got "\{oops"\)$/,
        ),
      ]);
      const bad = JSON.stringify({ 'us.anthropic.claude-sonnet-4-6': { ...price, inputPerMillion: -1 } });
      expect(problems({ MODEL_PRICES: bad })).toEqual([
        expect.stringMatching(
          /^MODEL_PRICES 1 problem\(s\): us\.anthropic\.claude-sonnet-4-6\.inputPerMillion: .+ \(got /,
        ),
      ]);
    });

    it('must price both models the agent runs', () => {
      const primaryOnly = JSON.stringify({ 'us.anthropic.claude-sonnet-4-6': price });
      expect(problems({ MODEL_PRICES: primaryOnly })).toEqual([
        'MODEL_PRICES has no price for BACKGROUND_MODEL_ID "us.amazon.nova-pro-v1:0" (priced: us.anthropic.claude-sonnet-4-6); add it to environments/prices.yaml and redeploy the stack',
      ]);
    });
  });
});
