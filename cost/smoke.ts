import { PricesConfigError, priceOf, type ModelPrices } from '../environments/prices-schema';
import { addCosts, addUsage, estimateCost, fromAgUiUsage, type CostBreakdown, type Usage } from './model';
import { usd } from './report';

/** The `usage` entries of an AG-UI RUN_FINISHED event (one per model). */
export interface AgUiUsage {
  model?: string;
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  cacheWriteInputTokens?: number;
}

export interface PricedRun {
  usage: Required<Usage>;
  cost: CostBreakdown;
}

/** Tokens (Bedrock accounting) and cost of one run, over all the models it used. */
export function priceRun(entries: AgUiUsage[], prices: ModelPrices): PricedRun {
  const priced = entries.map((e) => {
    if (!e.model)
      throw new PricesConfigError('a RUN_FINISHED usage entry has no model: the agent must name it');
    const usage = fromAgUiUsage(e);
    return { usage, cost: estimateCost(usage, priceOf(prices, e.model)) };
  });
  return { usage: addUsage(...priced.map((p) => p.usage)), cost: addCosts(...priced.map((p) => p.cost)) };
}

/** A job-summary table: tokens and estimated cost per smoke request, and for the whole gate. */
export function smokeCostMarkdown(
  requests: { name: string; usage: AgUiUsage[] }[],
  prices: ModelPrices,
): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const row = (name: string, r: PricedRun) =>
    `| ${name.replaceAll('|', '\\|')} | ${n(r.usage.inputTokens)} | ${n(r.usage.outputTokens)} | ${n(r.usage.cacheReadInputTokens)} | ${n(r.usage.cacheWriteInputTokens)} | ${usd(r.cost.total)} | ${usd(r.cost.cacheSavings)} |`;
  const runs = requests.map((r) => ({ name: r.name, run: priceRun(r.usage, prices) }));
  const gate = priceRun(
    requests.flatMap((r) => r.usage),
    prices,
  );
  return [
    '| Request | Input | Output | Cache read | Cache write | Est. cost | Cache saved |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...runs.map((r) => row(r.name, r.run)),
    row(`**Gate (${requests.length} requests)**`, gate),
    '',
  ].join('\n');
}
