import { Token, Validations, type Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** A policy statement plus, when it needs a wildcard, why (the reason becomes the cdk-nag acknowledgement). */
export interface Justified {
  statement: iam.PolicyStatement;
  wildcardReason?: string;
}

/** Acknowledge one cdk-nag AwsSolutions finding on a construct. */
export function acknowledge(scope: IConstruct, finding: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${finding}`, reason });
}

/**
 * Acknowledge AwsSolutions-IAM5 for exactly the wildcard resources of the given statements, each with its
 * statement's reason; a wildcard statement without a reason is a programming error.
 */
export function acknowledgeWildcards(policy: IConstruct, stack: Stack, statements: Justified[]): void {
  for (const { statement, wildcardReason } of statements) {
    const wild = statement.resources.filter((r) => r.includes('*'));
    if (wild.length === 0) continue;
    if (!wildcardReason)
      throw new Error(
        `statement ${statement.sid ?? statement.actions.join(',')} uses ${wild.join(', ')} without a reason`,
      );
    for (const resource of wild) {
      const rendered = Token.isUnresolved(resource) ? String(stack.resolve(resource)) : resource;
      acknowledge(policy, `IAM5[Resource::${rendered}]`, wildcardReason);
    }
  }
}
