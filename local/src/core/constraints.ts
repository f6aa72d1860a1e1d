import { z } from 'zod';
import { AwsError } from './respond';

/**
 * Input constraints transcribed from AWS's service models (smithy `length`, `pattern`, `range`,
 * `enum` traits), as zod schemas whose issue messages are the constraint texts AWS's request
 * validation prints ("Member must have length less than or equal to 256"). Each service decides
 * how a violation travels (its error code, message layout, extra members); the checks are shared.
 */

/**
 * The model's pattern. Smithy patterns match anywhere unless anchored, and AWS's models anchor
 * them (`^…$`); one given without anchors is taken as a whole-value pattern. The message quotes it
 * without anchors, as AWS does.
 */
export const pattern = (p: string) => {
  const bare = p.replace(/^\^/, '').replace(/\$$/, '');
  const re = p.startsWith('^') ? new RegExp(p, 'u') : new RegExp(`^(?:${p})$`, 'u');
  return z.string().regex(re, `Member must satisfy regular expression pattern: ${bare}`);
};
export const minLength = (n: number) => `Member must have length greater than or equal to ${n}`;
export const maxLength = (n: number) => `Member must have length less than or equal to ${n}`;
/** A string with the model's `length` trait. */
export const text = (min: number, max?: number) => {
  const s = z.string().min(min, minLength(min));
  return max === undefined ? s : s.max(max, maxLength(max));
};
/** A list with the model's `length` trait. */
export const list = <T extends z.ZodType>(item: T, min: number, max?: number) => {
  const l = z.array(item).min(min, minLength(min));
  return max === undefined ? l : l.max(max, maxLength(max));
};
/** A number with the model's `range` trait. */
export const range = (min: number, max?: number, int = true) => {
  const n = (int ? z.number().int() : z.number()).min(
    min,
    `Member must have value greater than or equal to ${min}`,
  );
  return max === undefined ? n : n.max(max, `Member must have value less than or equal to ${max}`);
};
export const oneOf = <T extends [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `Member must satisfy enum value set: [${values.join(', ')}]` });

/** One failed constraint: where (AWS's member path), the value sent, and the constraint text. */
export interface Violation {
  path: string;
  value: unknown;
  constraint: string;
}

/** AWS names members in lowerCamel and list elements `<list>.<1-based index>.member`. */
const memberPath = (path: PropertyKey[]) =>
  path
    .map((k) =>
      typeof k === 'number' ? `${k + 1}.member` : String(k).charAt(0).toLowerCase() + String(k).slice(1),
    )
    .join('.');

const valueAt = (input: unknown, path: PropertyKey[]) =>
  path.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    input,
  );

/** The input if it satisfies the schema; else the service's error for the violations found. */
export function checkInput<T extends z.ZodType>(
  schema: T,
  input: unknown,
  toError: (violations: Violation[]) => AwsError,
): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw toError(
    parsed.error.issues.map((issue) => {
      const value = valueAt(input, issue.path);
      return {
        path: memberPath(issue.path),
        value,
        constraint: value === undefined || value === null ? 'Member must not be null' : issue.message,
      };
    }),
  );
}

const shown = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));

/** One violation as AWS's request validation words it. */
export const violationText = (v: Violation) =>
  v.value === undefined || v.value === null
    ? `Value null at '${v.path}' failed to satisfy constraint: ${v.constraint}`
    : `Value '${shown(v.value)}' at '${v.path}' failed to satisfy constraint: ${v.constraint}`;

/** "N validation error(s) detected: …; …", the message of AWS's request validation (Coral). */
export const validationMessage = (violations: Violation[]) =>
  `${violations.length} validation error${violations.length === 1 ? '' : 's'} detected: ${violations.map(violationText).join('; ')}`;

/** The usual answer: `code` with the validation message (ValidationException, ValidationError, …). */
export const validationError =
  (code: string, members?: (violations: Violation[]) => Record<string, unknown>) =>
  (violations: Violation[]) =>
    new AwsError(code, validationMessage(violations), 400, members?.(violations));
