import fs from 'node:fs';
import { parseDocument } from 'yaml';
// zod's core, which classic and mini schemas share (the price schema is on `zod/mini`, for the agent).
import { safeParse, type $ZodType, type output } from 'zod/v4/core';

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
export function validateYaml<S extends $ZodType>(
  file: string,
  data: unknown,
  schema: S,
  fail: (message: string) => Error,
): output<S> {
  const result = safeParse(schema, data);
  if (!result.success) {
    const lines = result.error.issues.map(
      (i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`,
    );
    throw fail(`${file}: ${lines.length} problem(s)\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Read a YAML file and validate it with `schema`. `fail` makes the error of the caller's kind. */
export function readYamlFile<S extends $ZodType>(
  file: string,
  schema: S,
  fail: (message: string) => Error,
): output<S> {
  return validateYaml(file, parseYamlFile(file, fail), schema, fail);
}
