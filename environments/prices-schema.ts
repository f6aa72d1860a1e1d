import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// The price schema and the pure helpers around it, without file access, so that the agent bundle can
// use them; `prices.ts` loads `prices.yaml` with them. On `zod/mini`: the agent validates MODEL_PRICES
// before its port opens, and classic zod would add ~450 KB to read and run first.

/**
 * Default messages in English, as classic zod gives them (it sets this locale when imported; `zod/mini`
 * sets none and would say "Invalid input"). One global setting, the same one classic zod makes.
 */
export function withEnglishMessages(): void {
  z.config(en());
}
withEnglishMessages();

/** USD per million tokens; the model ids are the keys used in `models.primary`/`models.background`. */
const price = z.number().check(z.nonnegative());
export const modelPriceSchema = z.strictObject({
  inputPerMillion: price,
  outputPerMillion: price,
  cacheReadPerMillion: price,
  cacheWritePerMillion: price,
});

const provenance = {
  takenOn: z.iso.date('must be the date the price was taken, YYYY-MM-DD'),
  source: z.url('must be the URL the price was taken from'),
  verified: z.boolean(),
  note: z.optional(z.string()),
};

export const runtimePriceSchema = z.strictObject({
  vcpuHour: price,
  gbHour: price,
});

const modelId = z.string().check(z.minLength(3));

export const pricesFileSchema = z.strictObject({
  currency: z.literal('USD'),
  models: z.record(modelId, z.extend(modelPriceSchema, provenance)),
  runtime: z.extend(runtimePriceSchema, provenance),
});

/** The per-model prices an agent needs (the MODEL_PRICES variable): no provenance, only figures. */
export const modelPricesSchema = z.record(modelId, modelPriceSchema);

export type ModelPrice = z.infer<typeof modelPriceSchema>;
export type RuntimePrice = z.infer<typeof runtimePriceSchema>;
export type PricesFile = z.infer<typeof pricesFileSchema>;
export type ModelPrices = z.infer<typeof modelPricesSchema>;

export class PricesConfigError extends Error {}

/** The price of one model, or an error that says where to add it. */
export function priceOf(table: ModelPrices | PricesFile['models'], modelId: string): ModelPrice {
  const price = Object.hasOwn(table, modelId) ? table[modelId] : undefined;
  if (!price) {
    throw new PricesConfigError(
      `no price for model "${modelId}": add it under models: in environments/prices.yaml (priced: ${Object.keys(table).join(', ') || 'none'})`,
    );
  }
  const { inputPerMillion, outputPerMillion, cacheReadPerMillion, cacheWritePerMillion } = price;
  return { inputPerMillion, outputPerMillion, cacheReadPerMillion, cacheWritePerMillion };
}

/** The prices of the given models only, e.g. an environment's primary and background model. */
export function pricesFor(prices: PricesFile, modelIds: string[]): ModelPrices {
  return Object.fromEntries([...new Set(modelIds)].map((id) => [id, priceOf(prices.models, id)]));
}

/**
 * The MODEL_PRICES value for an environment's runtime: JSON of its models' prices. The stack sets it
 * from this file, so a price change is a stack deploy, never an image rebuild.
 */
export function modelPricesVariable(
  prices: PricesFile,
  models: { primary: string; background: string },
): string {
  return JSON.stringify(pricesFor(prices, [models.primary, models.background]));
}

/** Parse MODEL_PRICES (what the agent does at start); errors say what is wrong and where it comes from. */
export function parseModelPrices(json: string): ModelPrices {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw new PricesConfigError(
      `MODEL_PRICES is not JSON (${(e as Error).message}); the stack sets it from environments/prices.yaml`,
    );
  }
  const result = z.safeParse(modelPricesSchema, value);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new PricesConfigError(`MODEL_PRICES: ${lines.length} problem(s)\n${lines.join('\n')}`);
  }
  return result.data;
}
