import {
  AttachRolePolicyCommand,
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  EntityAlreadyExistsException,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { GithubJobContext } from '../../src/services/github-oidc';
import type { Twin } from '../../src/twin';

const GITHUB = 'token.actions.githubusercontent.com';

/** SDK client settings for the twin, signed as `credentials` (default: the default account's admin). */
export const clientFor = (twin: Twin, credentials = twin.credentials()) => ({
  endpoint: twin.url,
  region: twin.context.region,
  credentials,
  maxAttempts: 1,
});

/** The real IAM client as an account's bootstrap admin. */
export const iamAdmin = (twin: Twin, account: string) =>
  new IAMClient(clientFor(twin, twin.credentials(account)));

/** The GitHub OIDC provider in an account (the twin's issuer stands in for GitHub's), once. */
export async function githubProvider(twin: Twin, account: string): Promise<string> {
  try {
    await iamAdmin(twin, account).send(
      new CreateOpenIDConnectProviderCommand({
        Url: `https://${GITHUB}`,
        ClientIDList: ['sts.amazonaws.com'],
      }),
    );
  } catch (e) {
    if (!(e instanceof EntityAlreadyExistsException)) throw e;
  }
  return `arn:aws:iam::${account}:oidc-provider/${GITHUB}`;
}

/** A trust policy for GitHub jobs whose claims equal `conditions` (keys without the issuer prefix). */
export const githubTrust = (
  account: string,
  conditions: Record<string, string>,
  operator = 'StringEquals',
) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: `arn:aws:iam::${account}:oidc-provider/${GITHUB}` },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        [operator]: Object.fromEntries(Object.entries(conditions).map(([k, v]) => [`${GITHUB}:${k}`, v])),
        ...(operator !== 'StringEquals' && { StringEquals: { [`${GITHUB}:aud`]: 'sts.amazonaws.com' } }),
      },
    },
  ],
});

/** Create (or re-trust) a role through the IAM API, with inline and managed policies. */
export async function putRole(
  twin: Twin,
  roleArn: string,
  trust: object,
  policies: { inline?: Record<string, object>; managed?: string[] } = {},
) {
  const [, , , , account, resource] = roleArn.split(':');
  const name = resource.slice(resource.lastIndexOf('/') + 1);
  const iam = iamAdmin(twin, account);
  try {
    await iam.send(
      new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }),
    );
  } catch (e) {
    if (!(e instanceof EntityAlreadyExistsException)) throw e;
    await iam.send(
      new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: JSON.stringify(trust) }),
    );
  }
  for (const [policyName, doc] of Object.entries(policies.inline ?? {}))
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: name,
        PolicyName: policyName,
        PolicyDocument: JSON.stringify(doc),
      }),
    );
  for (const arn of policies.managed ?? [])
    await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn }));
  return roleArn;
}

/** Credentials of `roleArn` as a GitHub job with `job` context gets them (web identity federation). */
export async function assumeAsJob(twin: Twin, roleArn: string, job: GithubJobContext) {
  const token = await twin.github.mintToken(job, { audience: 'sts.amazonaws.com' });
  const sts = new STSClient(clientFor(twin));
  const out = await sts.send(
    new AssumeRoleWithWebIdentityCommand({
      RoleArn: roleArn,
      RoleSessionName: 'test',
      WebIdentityToken: token,
    }),
  );
  const c = out.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

/** An identity policy document allowing `actions` on `resources`. */
export const allow = (actions: string[], resources: string[] = ['*']) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: actions, Resource: resources }],
});

/**
 * An `Authorization` header naming an account admin's key, for raw `fetch` calls that test wire
 * details (the twin reads the credential scope; it does not verify signatures).
 */
export const sigv4Header = (twin: Twin, service: string, account?: string) =>
  `AWS4-HMAC-SHA256 Credential=${twin.credentials(account).accessKeyId}/20260101/${twin.context.region}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
