import * as iam from 'aws-cdk-lib/aws-iam';
import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { acknowledgeWildcards, type Justified } from './nag';

export const githubIssuer = 'token.actions.githubusercontent.com';
export const stsAudience = 'sts.amazonaws.com';

export interface GithubRoleProps {
  roleName: string;
  description: string;
  provider: iam.IOidcProvider;
  /** The one OIDC `sub` this role trusts (exact match). */
  subject: string;
  /** Further exact claim matches (STS evaluates some GitHub claims as condition keys, e.g. `ref`). */
  claims?: Record<string, string>;
  statements: Justified[];
}

/** A role GitHub Actions assumes with OIDC: exact `aud` and `sub` (StringEquals, never wildcards). */
export function githubRole(scope: Construct, id: string, props: GithubRoleProps): iam.Role {
  const claimConditions = Object.fromEntries(
    Object.entries(props.claims ?? {}).map(([k, v]) => [`${githubIssuer}:${k}`, v]),
  );
  const role = new iam.Role(scope, id, {
    roleName: props.roleName,
    description: props.description,
    assumedBy: new iam.WebIdentityPrincipal(props.provider.openIdConnectProviderArn, {
      StringEquals: {
        [`${githubIssuer}:aud`]: stsAudience,
        [`${githubIssuer}:sub`]: props.subject,
        ...claimConditions,
      },
    }),
  });
  // An inline policy per role keeps each role's permissions in one reviewable document.
  const policy = new iam.Policy(scope, `${id}Policy`, {
    roles: [role],
    statements: props.statements.map((s) => s.statement),
  });
  acknowledgeWildcards(policy, Stack.of(scope), props.statements);
  return role;
}
