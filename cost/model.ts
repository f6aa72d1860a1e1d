import type { ModelPrice, RuntimePrice } from '../environments/prices-schema';

// What the agent needs besides estimateCost: parse MODEL_PRICES and pick a model's price.
export {
  PricesConfigError,
  parseModelPrices,
  priceOf,
  type ModelPrice,
  type ModelPrices,
} from '../environments/prices-schema';

/**
 * Token counts of one model call (or a sum of calls) in Bedrock's accounting: `inputTokens` are the
 * input tokens billed at the full price, i.e. NOT counting the cache reads and writes, which Bedrock
 * reports beside it (ConverseStream `metadata.usage`).
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

/** USD. `total` = input + output + cacheRead + cacheWrite. */
export interface CostBreakdown {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  total: number;
  /**
   * What caching saved against sending the same tokens uncached: cache reads at (input − cache-read
   * price) minus the premium paid on cache writes (cache-write − input price). Negative when writes
   * were not yet paid back by reads.
   */
  cacheSavings: number;
}

const perToken = (tokens: number, perMillion: number) => (tokens * perMillion) / 1_000_000;

function count(name: string, value: number | undefined): number {
  const n = value ?? 0;
  if (!Number.isFinite(n) || n < 0)
    throw new RangeError(`${name} must be a non-negative number of tokens, got ${value}`);
  return n;
}

/** The cost of one answer (or of summed usage) at a model's prices. Pure. */
export function estimateCost(usage: Usage, price: ModelPrice): CostBreakdown {
  const inputTokens = count('inputTokens', usage.inputTokens);
  const outputTokens = count('outputTokens', usage.outputTokens);
  const read = count('cacheReadInputTokens', usage.cacheReadInputTokens);
  const write = count('cacheWriteInputTokens', usage.cacheWriteInputTokens);
  const input = perToken(inputTokens, price.inputPerMillion);
  const output = perToken(outputTokens, price.outputPerMillion);
  const cacheRead = perToken(read, price.cacheReadPerMillion);
  const cacheWrite = perToken(write, price.cacheWritePerMillion);
  return {
    input,
    output,
    cacheRead,
    cacheWrite,
    total: input + output + cacheRead + cacheWrite,
    cacheSavings:
      perToken(read, price.inputPerMillion - price.cacheReadPerMillion) -
      perToken(write, price.cacheWritePerMillion - price.inputPerMillion),
  };
}

/**
 * AG-UI `TokenUsage` (RUN_FINISHED) counts cache reads and writes inside `inputTokens`; Bedrock
 * reports them beside it. This turns the former into the latter, for pricing.
 */
export function fromAgUiUsage(u: {
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  cacheWriteInputTokens?: number;
}): Required<Usage> {
  const read = u.cachedInputTokens ?? 0;
  const write = u.cacheWriteInputTokens ?? 0;
  const inputTokens = (u.inputTokens ?? 0) - read - write;
  if (inputTokens < 0)
    throw new RangeError(
      `AG-UI inputTokens (${u.inputTokens}) must include cachedInputTokens and cacheWriteInputTokens`,
    );
  return {
    inputTokens,
    outputTokens: u.outputTokens ?? 0,
    cacheReadInputTokens: read,
    cacheWriteInputTokens: write,
  };
}

/** Adds usages (e.g. the calls of one answer: tool steps, background model). */
export function addUsage(...usages: Usage[]): Required<Usage> {
  return usages.reduce<Required<Usage>>(
    (sum, u) => ({
      inputTokens: sum.inputTokens + u.inputTokens,
      outputTokens: sum.outputTokens + u.outputTokens,
      cacheReadInputTokens: sum.cacheReadInputTokens + (u.cacheReadInputTokens ?? 0),
      cacheWriteInputTokens: sum.cacheWriteInputTokens + (u.cacheWriteInputTokens ?? 0),
    }),
    { inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheWriteInputTokens: 0 },
  );
}

/** Adds cost breakdowns (e.g. of several models). */
export function addCosts(...costs: CostBreakdown[]): CostBreakdown {
  const zero: CostBreakdown = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0, cacheSavings: 0 };
  return costs.reduce(
    (s, c) => ({
      input: s.input + c.input,
      output: s.output + c.output,
      cacheRead: s.cacheRead + c.cacheRead,
      cacheWrite: s.cacheWrite + c.cacheWrite,
      total: s.total + c.total,
      cacheSavings: s.cacheSavings + c.cacheSavings,
    }),
    zero,
  );
}

export interface ComputeUsage {
  vcpuHours: number;
  gbHours: number;
}

/** AgentCore Runtime compute: consumed vCPU-hours and GB-hours at the runtime's prices. */
export function runtimeComputeCost(usage: ComputeUsage, price: RuntimePrice) {
  const cpu = count('vcpuHours', usage.vcpuHours) * price.vcpuHour;
  const memory = count('gbHours', usage.gbHours) * price.gbHour;
  return { cpu, memory, total: cpu + memory };
}
