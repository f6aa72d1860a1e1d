import fs from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';

/** Parse a YAML file to plain data; a missing file or a syntax error names the file. */
export function parseYamlFile(file: string, fail: (message: string) => Error): unknown {
  if (!fs.existsSync(file)) throw fail(`${file}: file not found`);
  // `uniqueKeys` (the default) rejects a key given twice.
  const doc = parseDocument(fs.readFileSync(file, 'utf8'), { prettyErrors: true });
  if (doc.errors.length) {
    throw fail(`${file}: invalid YAML\n${doc.errors.map((e) => `  ${e.message}`).join('\n')}`);
  }
  return doc.toJS();
}

/** Validate data read from `file` with `schema`; every problem names the file, the path and what is wrong. */
export function validateYaml<S extends z.ZodType>(
  file: string,
  data: unknown,
  schema: S,
  fail: (message: string) => Error,
): z.infer<S> {
  const result = schema.safeParse(data);
  if (!result.success) {
    const lines = result.error.issues.map(
      (i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`,
    );
    throw fail(`${file}: ${lines.length} problem(s)\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Read a YAML file and validate it with `schema`. `fail` makes the error of the caller's kind. */
export function readYamlFile<S extends z.ZodType>(
  file: string,
  schema: S,
  fail: (message: string) => Error,
): z.infer<S> {
  return validateYaml(file, parseYamlFile(file, fail), schema, fail);
}
