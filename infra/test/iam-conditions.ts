/**
 * A small evaluator of IAM policy conditions, enough to check trust policies against OIDC claims:
 * StringEquals / StringLike (and their ArnEquals / ArnLike cousins), single or multiple values,
 * every operator and key ANDed, any of a key's values ORed; a missing key never matches.
 * Anything else (IfExists, ForAllValues:, negations, ...) throws, so a policy this cannot judge fails the test.
 */
export type Conditions = Record<string, Record<string, string | string[]>>;
export type RequestContext = Record<string, string | undefined>;

const operators: Record<string, (pattern: string, value: string) => boolean> = {
  StringEquals: (p, v) => p === v,
  ArnEquals: (p, v) => p === v,
  StringLike: like,
  ArnLike: like,
};

function like(pattern: string, value: string): boolean {
  const source = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(value);
}

export function conditionsMatch(conditions: Conditions | undefined, context: RequestContext): boolean {
  for (const [operator, entries] of Object.entries(conditions ?? {})) {
    const test = operators[operator];
    if (!test) throw new Error(`condition operator ${operator} is not supported by this evaluator`);
    for (const [key, expected] of Object.entries(entries)) {
      const value = context[key];
      if (value === undefined) return false;
      const patterns = Array.isArray(expected) ? expected : [expected];
      if (!patterns.some((p) => test(p, value))) return false;
    }
  }
  return true;
}

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Principal?: { Federated?: unknown };
  Condition?: Conditions;
}

/** Whether a trust policy lets the federated principal `provider` assume the role with web identity in `context`. */
export function trustAllows(
  document: { Statement: Statement[] },
  provider: unknown,
  context: RequestContext,
): boolean {
  const applies = (s: Statement) =>
    [s.Action].flat().includes('sts:AssumeRoleWithWebIdentity') &&
    JSON.stringify(s.Principal?.Federated) === JSON.stringify(provider) &&
    conditionsMatch(s.Condition, context);
  const matching = document.Statement.filter(applies);
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny');
}
