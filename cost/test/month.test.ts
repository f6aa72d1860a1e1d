import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPrices } from '../../environments/prices';
import { conversationUsage, estimateMonth, type TrafficProfile } from '../month';
import { docFile, replaceSection, updatedDoc } from '../../scripts/cost-month';

const small: TrafficProfile = {
  days: 1,
  conversationsPerDay: 1,
  turnsPerConversation: 3,
  prefixTokens: 1000,
  userTokensPerTurn: 10,
  memoryTokensPerTurn: 0,
  outputTokensPerTurn: 20,
  toolCallRate: 0,
  toolUseTokens: 0,
  toolResultTokens: 0,
  prefixWritesPerDay: 0,
  backgroundCallsPerTurn: 0,
  backgroundInputTokens: 0,
  backgroundOutputTokens: 0,
  vcpuSecondsPerTurn: 0,
  memoryGb: 0,
  minutesBetweenTurns: 1,
  idleTimeoutSeconds: 0,
};

describe('conversationUsage', () => {
  it('reads the prefix and older history, writes the previous turn, sends the current message', () => {
    // Turn tokens in history: 10 user + 20 answer = 30.
    // k=0: read 1000; k=1: read 1000, write 30; k=2: read 1030, write 30.
    expect(conversationUsage(small, true)).toEqual({
      inputTokens: 30,
      outputTokens: 60,
      cacheReadInputTokens: 3030,
      cacheWriteInputTokens: 60,
    });
    // Uncached, each call sends everything: 1010 + 1040 + 1070.
    expect(conversationUsage(small, false)).toEqual({
      inputTokens: 3120,
      outputTokens: 60,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
    });
  });

  it('adds the tool call’s second model call, which re-reads what the first cached', () => {
    const p = { ...small, turnsPerConversation: 1, toolCallRate: 1, toolUseTokens: 5, toolResultTokens: 15 };
    // First call: input 10, output 20 + 5, read 1000. Second: input 10 + 20, read 1000.
    expect(conversationUsage(p, true)).toEqual({
      inputTokens: 40,
      outputTokens: 25,
      cacheReadInputTokens: 2000,
      cacheWriteInputTokens: 0,
    });
    expect(conversationUsage(p, false).inputTokens).toBe(1010 + 1030);
  });
});

describe('estimateMonth', () => {
  const prices = loadPrices();
  const models = { primary: 'us.anthropic.claude-sonnet-4-6', background: 'us.amazon.nova-pro-v1:0' };

  it('turns cold starts of the shared prefix into writes, and saves exactly the uncached difference', () => {
    const p = { ...small, conversationsPerDay: 10, prefixWritesPerDay: 2 };
    const cached = estimateMonth(p, models, prices, true);
    const plain = estimateMonth(p, models, prices, false);
    expect(cached.models[0].usage.cacheWriteInputTokens).toBe(10 * 60 + 2 * 1000);
    expect(cached.models[0].usage.cacheReadInputTokens).toBe(10 * 3030 - 2 * 1000);
    expect(plain.modelTotal - cached.modelTotal).toBeCloseTo(cached.cacheSavings, 10);
  });

  it('prices runtime compute from CPU per turn and memory held per session', () => {
    const p = {
      ...small,
      vcpuSecondsPerTurn: 3600,
      memoryGb: 2,
      minutesBetweenTurns: 20,
      idleTimeoutSeconds: 3600,
    };
    const m = estimateMonth(p, models, prices, true);
    expect(m.compute.vcpuHours).toBe(3);
    expect(m.compute.gbHours).toBe(2 * 2); // (3 × 20 min + 1 h) × 2 GB
    expect(m.compute.total).toBeCloseTo(3 * prices.runtime.vcpuHour + 4 * prices.runtime.gbHour, 10);
  });
});

describe('docs/cost.md', () => {
  it('holds the worked month as generated from the current prices', async () => {
    const doc = fs.readFileSync(docFile, 'utf8');
    expect(await updatedDoc(doc), 'run npm run cost:month').toBe(doc);
    expect(() => replaceSection('no markers', 'x')).toThrow(/markers for the generated month are missing/);
  });
});
