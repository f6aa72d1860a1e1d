import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { agentBundleInputs } from '../../scripts/build-agent';
import { addUsage, estimateCost, fromAgUiUsage, runtimeComputeCost } from '../model';

// Round figures make every expectation checkable by hand.
const price = {
  inputPerMillion: 3,
  outputPerMillion: 15,
  cacheReadPerMillion: 0.3,
  cacheWritePerMillion: 3.75,
};

describe('estimateCost', () => {
  it('prices input and output per million tokens', () => {
    const c = estimateCost({ inputTokens: 1_000_000, outputTokens: 100_000 }, price);
    expect(c.input).toBeCloseTo(3, 10);
    expect(c.output).toBeCloseTo(1.5, 10);
    expect(c.cacheRead).toBe(0);
    expect(c.cacheWrite).toBe(0);
    expect(c.total).toBeCloseTo(4.5, 10);
    expect(c.cacheSavings).toBe(0);
  });

  it('counts cache reads as savings against the full input price', () => {
    // 1M tokens read from cache cost $0.30 instead of $3: $2.70 saved.
    const c = estimateCost({ inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 1_000_000 }, price);
    expect(c.cacheRead).toBeCloseTo(0.3, 10);
    expect(c.total).toBeCloseTo(0.3, 10);
    expect(c.cacheSavings).toBeCloseTo(2.7, 10);
  });

  it('nets the cache-write premium off the savings, going negative before reads pay it back', () => {
    // First turn: 2,000 tokens written at $3.75/M instead of $3/M: $0.0015 premium, nothing read yet.
    const first = estimateCost({ inputTokens: 100, outputTokens: 50, cacheWriteInputTokens: 2_000 }, price);
    expect(first.cacheWrite).toBeCloseTo(0.0075, 12);
    expect(first.input).toBeCloseTo(0.0003, 12);
    expect(first.output).toBeCloseTo(0.00075, 12);
    expect(first.total).toBeCloseTo(0.0003 + 0.00075 + 0.0075, 12);
    expect(first.cacheSavings).toBeCloseTo(-0.0015, 12);
    // Second turn reads the 2,000 back: 2,000 × ($3 − $0.30)/M = $0.0054 saved.
    const both = estimateCost(
      addUsage(
        { inputTokens: 100, outputTokens: 50, cacheWriteInputTokens: 2_000 },
        { inputTokens: 120, outputTokens: 60, cacheReadInputTokens: 2_000 },
      ),
      price,
    );
    expect(both.cacheSavings).toBeCloseTo(0.0054 - 0.0015, 12);
    expect(both.total).toBeCloseTo((220 * 3 + 110 * 15 + 2_000 * 0.3 + 2_000 * 3.75) / 1_000_000, 12);
  });

  it('rejects negative or non-numeric token counts with the field name', () => {
    expect(() => estimateCost({ inputTokens: -1, outputTokens: 0 }, price)).toThrow(
      /inputTokens must be a non-negative/,
    );
    expect(() => estimateCost({ inputTokens: 0, outputTokens: Number.NaN }, price)).toThrow(/outputTokens/);
  });
});

describe('runtimeComputeCost', () => {
  it('prices vCPU-hours and GB-hours', () => {
    const c = runtimeComputeCost({ vcpuHours: 2, gbHours: 10 }, { vcpuHour: 0.0895, gbHour: 0.00945 });
    expect(c.cpu).toBeCloseTo(0.179, 10);
    expect(c.memory).toBeCloseTo(0.0945, 10);
    expect(c.total).toBeCloseTo(0.2735, 10);
  });
});

describe('fromAgUiUsage', () => {
  it('takes the cache tokens out of AG-UI’s inputTokens', () => {
    expect(
      fromAgUiUsage({
        inputTokens: 1_000,
        outputTokens: 50,
        cachedInputTokens: 700,
        cacheWriteInputTokens: 200,
      }),
    ).toEqual({ inputTokens: 100, outputTokens: 50, cacheReadInputTokens: 700, cacheWriteInputTokens: 200 });
    expect(fromAgUiUsage({ inputTokens: 10, outputTokens: 2 })).toEqual({
      inputTokens: 10,
      outputTokens: 2,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
    });
    expect(() => fromAgUiUsage({ inputTokens: 10, cachedInputTokens: 20 })).toThrow(
      /must include cachedInputTokens/,
    );
  });
});

const root = path.resolve(import.meta.dirname, '../..');

/** Repository-relative inputs of a bundle of `contents` (ESM for Node, as the agent is bundled). */
async function bundleInputs(contents: string): Promise<string[]> {
  const out = await build({
    stdin: { contents, resolveDir: root, loader: 'ts' },
    absWorkingDir: root,
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
  });
  return Object.keys(out.metafile.inputs);
}

describe('the agent-facing module', () => {
  it('bundles for the agent without file access or the YAML parser', async () => {
    const inputs = await bundleInputs("export * from './cost/model';");
    expect(inputs).toContain('environments/prices-schema.ts');
    expect(inputs.filter((i) => /node_modules\/yaml\/|environments\/prices\.ts|node:fs/.test(i))).toEqual([]);
  });

  it('is all the agent bundle takes of prices: no prices.yaml loader, no YAML parser', async () => {
    const inputs = await agentBundleInputs();
    expect(inputs.filter((i) => /^(cost|environments)\//.test(i)).sort()).toEqual([
      'cost/model.ts',
      'environments/prices-schema.ts',
    ]);
    expect(inputs.filter((i) => /node_modules\/yaml\//.test(i))).toEqual([]);
  });
});
