import * as iam from 'aws-cdk-lib/aws-iam';
import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { acknowledgeWildcards, type Justified } from './nag';

export const githubIssuer = 'token.actions.githubusercontent.com';
export const stsAudience = 'sts.amazonaws.com';

/** One context a role trusts: an exact `sub` plus further claim matches. */
export interface GithubTrust {
  /** The one OIDC `sub` this trust statement accepts (exact match). */
  subject: string;
  claims?: Record<string, string | string[]>;
  claimPatterns?: Record<string, string>;
}

export interface GithubRoleProps {
  roleName: string;
  description: string;
  provider: iam.IOidcProvider;
  /** The one OIDC `sub` this role trusts (exact match). */
  subject: string;
  /**
   * Further exact claim matches, any of a key's values (STS evaluates `ref`, `environment`,
   * `job_workflow_ref`, `repository`, … as condition keys; any other claim never matches).
   */
  claims?: Record<string, string | string[]>;
  /** Claim matches with a wildcard (StringLike), e.g. a pull request's `job_workflow_ref`. */
  claimPatterns?: Record<string, string>;
  /** Further contexts, each its own trust statement (a job of another workflow with the same purpose). */
  alsoTrusted?: GithubTrust[];
  statements: Justified[];
}

/** A role GitHub Actions assumes with OIDC: exact `aud` and `sub` (StringEquals, never wildcards). */
export function githubRole(scope: Construct, id: string, props: GithubRoleProps): iam.Role {
  const keyed = <T>(claims: Record<string, T> = {}) =>
    Object.fromEntries(Object.entries(claims).map(([k, v]) => [`${githubIssuer}:${k}`, v]));
  const principal = (trust: GithubTrust) => {
    const patterns = keyed(trust.claimPatterns);
    return new iam.WebIdentityPrincipal(props.provider.openIdConnectProviderArn, {
      StringEquals: {
        [`${githubIssuer}:aud`]: stsAudience,
        [`${githubIssuer}:sub`]: trust.subject,
        ...keyed(trust.claims),
      },
      ...(Object.keys(patterns).length > 0 && { StringLike: patterns }),
    });
  };
  const role = new iam.Role(scope, id, {
    roleName: props.roleName,
    description: props.description,
    assumedBy: principal(props),
  });
  // Separate statements: conditions of one statement are ANDed, so contexts cannot share one.
  for (const trust of props.alsoTrusted ?? [])
    role.assumeRolePolicy!.addStatements(
      new iam.PolicyStatement({
        actions: ['sts:AssumeRoleWithWebIdentity'],
        principals: [principal(trust)],
      }),
    );
  // An inline policy per role keeps each role's permissions in one reviewable document.
  const policy = new iam.Policy(scope, `${id}Policy`, {
    roles: [role],
    statements: props.statements.map((s) => s.statement),
  });
  acknowledgeWildcards(policy, Stack.of(scope), props.statements);
  return role;
}
