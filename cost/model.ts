import type { ModelPrice, RuntimePrice } from '../environments/prices';

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
