import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { PricesConfigError, pricesFileSchema, type PricesFile } from './prices-schema';

export * from './prices-schema';

export const pricesFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'prices.yaml');

/** Load and validate prices.yaml; errors name the file, the path in it and what is wrong. */
export function loadPrices(file = pricesFile): PricesFile {
  if (!fs.existsSync(file)) throw new PricesConfigError(`${file}: file not found`);
  // `uniqueKeys` (the default) rejects a model priced twice.
  const doc = parseDocument(fs.readFileSync(file, 'utf8'), { prettyErrors: true });
  if (doc.errors.length) {
    throw new PricesConfigError(
      `${file}: invalid YAML\n${doc.errors.map((e) => `  ${e.message}`).join('\n')}`,
    );
  }
  const result = pricesFileSchema.safeParse(doc.toJS());
  if (!result.success) {
    const lines = result.error.issues.map(
      (i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`,
    );
    throw new PricesConfigError(`${file}: ${lines.length} problem(s)\n${lines.join('\n')}`);
  }
  return result.data;
}
