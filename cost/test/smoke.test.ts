import { describe, expect, it } from 'vitest';
import { priceRun, smokeCostMarkdown } from '../smoke';

const prices = {
  'm.big': { inputPerMillion: 3, outputPerMillion: 15, cacheReadPerMillion: 0.3, cacheWritePerMillion: 3.75 },
  'm.small': { inputPerMillion: 1, outputPerMillion: 2, cacheReadPerMillion: 0.1, cacheWritePerMillion: 1 },
};

describe('priceRun', () => {
  it('prices each model of a RUN_FINISHED usage list and adds them up', () => {
    // m.big: 1,000 AG-UI input tokens of which 800 are cache reads, so 200 are billed at the full price.
    const run = priceRun(
      [
        { model: 'm.big', inputTokens: 1_000, outputTokens: 100, cachedInputTokens: 800 },
        { model: 'm.small', inputTokens: 500, outputTokens: 50 },
      ],
      prices,
    );
    expect(run.usage).toEqual({
      inputTokens: 700,
      outputTokens: 150,
      cacheReadInputTokens: 800,
      cacheWriteInputTokens: 0,
    });
    expect(run.cost.total).toBeCloseTo((200 * 3 + 800 * 0.3 + 100 * 15 + 500 * 1 + 50 * 2) / 1e6, 12);
    expect(run.cost.cacheSavings).toBeCloseTo((800 * 2.7) / 1e6, 12);
  });

  it('needs the model of every entry, and its price', () => {
    expect(() => priceRun([{ inputTokens: 1 }], prices)).toThrow(/has no model/);
    expect(() => priceRun([{ model: 'm.none', inputTokens: 1 }], prices)).toThrow(
      /no price for model "m\.none"/,
    );
  });
});

describe('smokeCostMarkdown', () => {
  it('lists each request and the gate total', () => {
    const md = smokeCostMarkdown(
      [
        { name: 'a | b', usage: [{ model: 'm.big', inputTokens: 1_000_000, outputTokens: 0 }] },
        { name: 'c', usage: [{ model: 'm.small', inputTokens: 1_000_000, outputTokens: 1_000_000 }] },
      ],
      prices,
    );
    expect(md.split('\n')).toEqual([
      '| Request | Input | Output | Cache read | Cache write | Est. cost | Cache saved |',
      '|---|---:|---:|---:|---:|---:|---:|',
      '| a \\| b | 1,000,000 | 0 | 0 | 0 | $3.00 | $0.00 |',
      '| c | 1,000,000 | 1,000,000 | 0 | 0 | $3.00 | $0.00 |',
      '| **Gate (2 requests)** | 2,000,000 | 1,000,000 | 0 | 0 | $6.00 | $0.00 |',
      '',
    ]);
  });
});
