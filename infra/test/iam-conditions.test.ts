import { describe, expect, it } from 'vitest';
import { conditionsMatch, trustAllows } from './iam-conditions';

describe('IAM condition evaluator', () => {
  it('StringEquals matches exactly, any of several values, and never a missing key', () => {
    const c = { StringEquals: { k: ['a', 'b'] } };
    expect(conditionsMatch(c, { k: 'a' })).toBe(true);
    expect(conditionsMatch(c, { k: 'b' })).toBe(true);
    expect(conditionsMatch(c, { k: 'A' })).toBe(false);
    expect(conditionsMatch(c, {})).toBe(false);
  });

  it('StringLike supports * and ? and escapes everything else', () => {
    const c = { StringLike: { k: 'repo:o/r:ref:refs/heads/*' } };
    expect(conditionsMatch(c, { k: 'repo:o/r:ref:refs/heads/main' })).toBe(true);
    expect(conditionsMatch(c, { k: 'repo:o/rr:ref:refs/heads/main' })).toBe(false);
    expect(conditionsMatch({ StringLike: { k: 'a?c' } }, { k: 'abc' })).toBe(true);
    expect(conditionsMatch({ StringLike: { k: 'a.c' } }, { k: 'abc' })).toBe(false);
  });

  it('ANDs operators and keys, and refuses operators it cannot judge', () => {
    const c = { StringEquals: { a: '1', b: '2' }, StringLike: { c: '3*' } };
    expect(conditionsMatch(c, { a: '1', b: '2', c: '33' })).toBe(true);
    expect(conditionsMatch(c, { a: '1', b: '2', c: '4' })).toBe(false);
    expect(() => conditionsMatch({ 'ForAllValues:StringEquals': { a: '1' } }, { a: '1' })).toThrow(
      /not supported/,
    );
  });

  it('a trust policy allows only its federated principal and action, and Deny wins', () => {
    const provider = { Ref: 'P' };
    const allow = {
      Effect: 'Allow' as const,
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: provider },
      Condition: { StringEquals: { sub: 'x' } },
    };
    expect(trustAllows({ Statement: [allow] }, provider, { sub: 'x' })).toBe(true);
    expect(trustAllows({ Statement: [allow] }, { Ref: 'Q' }, { sub: 'x' })).toBe(false);
    expect(trustAllows({ Statement: [{ ...allow, Action: 'sts:AssumeRole' }] }, provider, { sub: 'x' })).toBe(
      false,
    );
    expect(trustAllows({ Statement: [allow, { ...allow, Effect: 'Deny' }] }, provider, { sub: 'x' })).toBe(
      false,
    );
  });
});
