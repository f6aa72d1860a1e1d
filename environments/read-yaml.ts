import fs from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';

/**
 * Read a YAML file and validate it with `schema`; every problem names the file, the path in it and
 * what is wrong. `fail` makes the error of the caller's kind.
 */
export function readYamlFile<S extends z.ZodType>(
  file: string,
  schema: S,
  fail: (message: string) => Error,
): z.infer<S> {
  if (!fs.existsSync(file)) throw fail(`${file}: file not found`);
  // `uniqueKeys` (the default) rejects a key given twice.
  const doc = parseDocument(fs.readFileSync(file, 'utf8'), { prettyErrors: true });
  if (doc.errors.length) {
    throw fail(`${file}: invalid YAML\n${doc.errors.map((e) => `  ${e.message}`).join('\n')}`);
  }
  const result = schema.safeParse(doc.toJS());
  if (!result.success) {
    const lines = result.error.issues.map(
      (i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`,
    );
    throw fail(`${file}: ${lines.length} problem(s)\n${lines.join('\n')}`);
  }
  return result.data;
}
