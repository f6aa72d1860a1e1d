import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readYamlFile } from './read-yaml';
import { PricesConfigError, pricesFileSchema, type PricesFile } from './prices-schema';

export * from './prices-schema';

export const pricesFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'prices.yaml');

/** Load and validate prices.yaml; errors name the file, the path in it and what is wrong. */
export function loadPrices(file = pricesFile): PricesFile {
  return readYamlFile(file, pricesFileSchema, (message) => new PricesConfigError(message));
}
