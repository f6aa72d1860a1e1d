import type { PricesFile } from '../environments/prices';
import { priceOf } from '../environments/prices';
import { addUsage, estimateCost, runtimeComputeCost, type CostBreakdown, type Usage } from './model';

/** A traffic profile; every figure is an average. */
export interface TrafficProfile {
  days: number;
  conversationsPerDay: number;
  turnsPerConversation: number;
  /** The stable prefix: tool specs + system instructions (ends in cache points; shared by every user). */
  prefixTokens: number;
  /** The user's text per turn. */
  userTokensPerTurn: number;
  /** Retrieved memory records, placed in the current user message (never cached). */
  memoryTokensPerTurn: number;
  /** The answer per turn. */
  outputTokensPerTurn: number;
  /** Share of turns with a tool call: one more model call, reading the tool use and its result. */
  toolCallRate: number;
  toolUseTokens: number;
  toolResultTokens: number;
  /** Cold starts of the shared prefix per day (the cache lives 5 minutes after its last use). */
  prefixWritesPerDay: number;
  /** Background-model calls (classification, summaries) per turn and their size. */
  backgroundCallsPerTurn: number;
  backgroundInputTokens: number;
  backgroundOutputTokens: number;
  /** AgentCore Runtime: CPU actually consumed per turn, memory held for the session. */
  vcpuSecondsPerTurn: number;
  memoryGb: number;
  /** A session lasts the conversation plus the idle timeout before AgentCore ends it. */
  minutesBetweenTurns: number;
  idleTimeoutSeconds: number;
}

export interface ModelMonth {
  modelId: string;
  usage: Required<Usage>;
  cost: CostBreakdown;
}

export interface MonthEstimate {
  caching: boolean;
  models: ModelMonth[];
  modelTotal: number;
  cacheSavings: number;
  compute: { vcpuHours: number; gbHours: number; total: number };
  total: number;
  perConversation: number;
}

/**
 * Tokens of one conversation on the primary model, following the agent's cache layout: at turn k the
 * prefix and the history up to turn k−2 are read from cache, turn k−1 (behind the newest cache point)
 * is written, the current message and memory are plain input. A tool call's second model call reads
 * everything the first one cached. Without caching every call sends it all as input.
 */
export function conversationUsage(p: TrafficProfile, caching: boolean): Required<Usage> {
  const turnTokens =
    p.userTokensPerTurn + p.outputTokensPerTurn + p.toolCallRate * (p.toolUseTokens + p.toolResultTokens);
  const calls: Usage[] = [];
  for (let k = 0; k < p.turnsPerConversation; k++) {
    const written = k === 0 ? 0 : turnTokens; // turn k−1, now behind the newest cache point
    const read = p.prefixTokens + Math.max(0, k - 1) * turnTokens;
    const current = p.userTokensPerTurn + p.memoryTokensPerTurn;
    const toolExtra = p.toolUseTokens + p.toolResultTokens;
    const output = p.outputTokensPerTurn + p.toolCallRate * p.toolUseTokens;
    if (caching) {
      calls.push({
        inputTokens: current,
        outputTokens: output,
        cacheReadInputTokens: read,
        cacheWriteInputTokens: written,
      });
      // The tool call's second request re-reads what the first just cached; only the tool blocks are new.
      calls.push({
        inputTokens: p.toolCallRate * (current + toolExtra),
        outputTokens: 0,
        cacheReadInputTokens: p.toolCallRate * (read + written),
      });
    } else {
      const all = read + written + current;
      calls.push({ inputTokens: all + p.toolCallRate * (all + toolExtra), outputTokens: output });
    }
  }
  return addUsage(...calls);
}

const scale = (u: Required<Usage>, n: number): Required<Usage> => ({
  inputTokens: u.inputTokens * n,
  outputTokens: u.outputTokens * n,
  cacheReadInputTokens: u.cacheReadInputTokens * n,
  cacheWriteInputTokens: u.cacheWriteInputTokens * n,
});

/** A month of the profile on an environment's models, with or without prompt caching. Pure. */
export function estimateMonth(
  p: TrafficProfile,
  models: { primary: string; background: string },
  prices: PricesFile,
  caching: boolean,
): MonthEstimate {
  const conversations = p.conversationsPerDay * p.days;
  const turns = conversations * p.turnsPerConversation;
  let primary = scale(conversationUsage(p, caching), conversations);
  if (caching) {
    // The shared prefix is read by every first turn; on a cold start it is written instead.
    const cold = Math.min(p.prefixWritesPerDay * p.days, conversations) * p.prefixTokens;
    primary = addUsage(primary, {
      inputTokens: 0,
      outputTokens: 0,
      cacheReadInputTokens: -cold,
      cacheWriteInputTokens: cold,
    });
  }
  const background = {
    inputTokens: turns * p.backgroundCallsPerTurn * p.backgroundInputTokens,
    outputTokens: turns * p.backgroundCallsPerTurn * p.backgroundOutputTokens,
    cacheReadInputTokens: 0,
    cacheWriteInputTokens: 0,
  };
  const lines: ModelMonth[] = [
    { modelId: models.primary, usage: primary },
    { modelId: models.background, usage: background },
  ].map((m) => ({ ...m, cost: estimateCost(m.usage, priceOf(prices.models, m.modelId)) }));

  const sessionHours = (p.turnsPerConversation * p.minutesBetweenTurns) / 60 + p.idleTimeoutSeconds / 3600;
  const usage = {
    vcpuHours: (turns * p.vcpuSecondsPerTurn) / 3600,
    gbHours: conversations * sessionHours * p.memoryGb,
  };
  const compute = { ...usage, total: runtimeComputeCost(usage, prices.runtime).total };
  const modelTotal = lines.reduce((s, l) => s + l.cost.total, 0);
  return {
    caching,
    models: lines,
    modelTotal,
    cacheSavings: lines.reduce((s, l) => s + l.cost.cacheSavings, 0),
    compute,
    total: modelTotal + compute.total,
    perConversation: (modelTotal + compute.total) / conversations,
  };
}
