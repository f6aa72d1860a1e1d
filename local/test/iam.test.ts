import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  ECRClient,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import {
  CreatePolicyCommand,
  GetOpenIDConnectProviderCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { pushFixture } from './image-fixture';
import { allow, assumeAsJob, clientFor, githubProvider, githubTrust, iamAdmin, putRole } from './helpers/iam';

const DEV = '111111111111';
const PROD = '222222222222';
/** An account without GitHub's OIDC provider. */
const OTHER = '333333333333';
const REPO = 'acme/agentcore-gitops';

describe('accounts and IAM on the twin', () => {
  let twin: Twin;
  beforeAll(async () => {
    twin = await startTwin({ accountId: DEV, accounts: [OTHER], agentcore: { readyDelayMs: 10 } });
    await githubProvider(twin, DEV);
    await githubProvider(twin, PROD);
  });
  afterAll(() => twin.close());

  const role = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
  /** A role GitHub's `main` pushes may assume, with these inline policies; returns its credentials. */
  async function jobRole(account: string, name: string, inline: Record<string, object> = {}) {
    const arn = await putRole(
      twin,
      role(account, name),
      githubTrust(account, { aud: 'sts.amazonaws.com', sub: `repo:${REPO}:ref:refs/heads/main` }),
      { inline },
    );
    return assumeAsJob(twin, arn, { repository: REPO, ref: 'refs/heads/main' });
  }

  it('gives each account its own admin, and GetCallerIdentity tells them apart', async () => {
    const dev = await new STSClient(clientFor(twin, twin.credentials(DEV))).send(
      new GetCallerIdentityCommand({}),
    );
    const prod = await new STSClient(clientFor(twin, twin.credentials(PROD))).send(
      new GetCallerIdentityCommand({}),
    );
    expect(dev).toMatchObject({ Account: DEV, Arn: `arn:aws:iam::${DEV}:user/twin-admin` });
    expect(prod).toMatchObject({ Account: PROD, Arn: `arn:aws:iam::${PROD}:user/twin-admin` });
    expect(twin.env({ account: PROD }).AWS_ACCESS_KEY_ID).toBe(twin.credentials(PROD).accessKeyId);
  });

  it('rejects an access key it never issued, in each protocol’s words', async () => {
    const bogus = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' };
    const json = await new SSMClient(clientFor(twin, bogus))
      .send(new GetParameterCommand({ Name: '/x' }))
      .catch((e) => e);
    expect(json.name).toBe('UnrecognizedClientException');
    expect(json.$metadata.httpStatusCode).toBe(403);
    const query = await new STSClient(clientFor(twin, bogus))
      .send(new GetCallerIdentityCommand({}))
      .catch((e) => e);
    expect(query.name).toBe('InvalidClientTokenId');
  });

  it('keeps resources per account: the same parameter name in two accounts is two parameters', async () => {
    await new SSMClient(clientFor(twin, twin.credentials(DEV))).send(
      new PutParameterCommand({ Name: '/same', Value: 'dev', Type: 'String' }),
    );
    await new SSMClient(clientFor(twin, twin.credentials(PROD))).send(
      new PutParameterCommand({ Name: '/same', Value: 'prod', Type: 'String' }),
    );
    const read = async (account: string) =>
      (
        await new SSMClient(clientFor(twin, twin.credentials(account))).send(
          new GetParameterCommand({ Name: '/same' }),
        )
      ).Parameter;
    expect(await read(DEV)).toMatchObject({
      Value: 'dev',
      ARN: `arn:aws:ssm:us-east-1:${DEV}:parameter/same`,
    });
    expect(await read(PROD)).toMatchObject({
      Value: 'prod',
      ARN: `arn:aws:ssm:us-east-1:${PROD}:parameter/same`,
    });
  });

  it('answers the IAM API in its real shapes', async () => {
    const iam = iamAdmin(twin, DEV);
    const arn = await putRole(twin, role(DEV, 'shapes'), githubTrust(DEV, { sub: 'x' }), {
      inline: { read: allow(['ssm:GetParameter']) },
      managed: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
    });
    const got = await iam.send(new GetRoleCommand({ RoleName: 'shapes' }));
    expect(got.Role).toMatchObject({ Arn: arn, RoleName: 'shapes', Path: '/' });
    expect(JSON.parse(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!)).Statement[0].Action).toBe(
      'sts:AssumeRoleWithWebIdentity',
    );
    const inline = await iam.send(new GetRolePolicyCommand({ RoleName: 'shapes', PolicyName: 'read' }));
    expect(JSON.parse(decodeURIComponent(inline.PolicyDocument!))).toEqual(allow(['ssm:GetParameter']));
    expect(
      (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'shapes' }))).AttachedPolicies,
    ).toEqual([{ PolicyName: 'ReadOnlyAccess', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }]);
    const created = await iam.send(
      new CreatePolicyCommand({ PolicyName: 'custom', PolicyDocument: JSON.stringify(allow(['ecr:*'])) }),
    );
    expect(created.Policy).toMatchObject({
      Arn: `arn:aws:iam::${DEV}:policy/custom`,
      DefaultVersionId: 'v1',
    });
    const version = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: created.Policy!.Arn, VersionId: 'v1' }),
    );
    expect(JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!))).toEqual(allow(['ecr:*']));
    const provider = await iam.send(
      new GetOpenIDConnectProviderCommand({
        OpenIDConnectProviderArn: `arn:aws:iam::${DEV}:oidc-provider/token.actions.githubusercontent.com`,
      }),
    );
    expect(provider).toMatchObject({
      Url: 'token.actions.githubusercontent.com',
      ClientIDList: ['sts.amazonaws.com'],
    });
    const missing = await iam.send(new GetRoleCommand({ RoleName: 'nope' })).catch((e) => e);
    expect(missing).toBeInstanceOf(NoSuchEntityException);
  });

  it('denies a role what its policies do not allow, with the AccessDenied shape of each protocol', async () => {
    const creds = await jobRole(DEV, 'reader', {
      read: allow(['ssm:GetParameter'], [`arn:aws:ssm:us-east-1:${DEV}:parameter/same`]),
    });
    const ssm = new SSMClient(clientFor(twin, creds));
    expect((await ssm.send(new GetParameterCommand({ Name: '/same' }))).Parameter?.Value).toBe('dev');
    const json = await ssm
      .send(new PutParameterCommand({ Name: '/same', Value: 'x', Type: 'String', Overwrite: true }))
      .catch((e) => e);
    expect(json.name).toBe('AccessDeniedException');
    expect(json.message).toBe(
      `User: arn:aws:sts::${DEV}:assumed-role/reader/test is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:${DEV}:parameter/same because no identity-based policy allows the ssm:PutParameter action`,
    );
    const query = await new IAMClient(clientFor(twin, creds))
      .send(new GetRoleCommand({ RoleName: 'reader' }))
      .catch((e) => e);
    expect(query.name).toBe('AccessDenied');
    expect(query.$metadata.httpStatusCode).toBe(403);
    const rest = await new BedrockRuntimeClient(clientFor(twin, creds))
      .send(
        new ConverseCommand({
          modelId: 'us.amazon.nova-pro-v1:0',
          messages: [{ role: 'user', content: [{ text: 'hi' }] }],
        }),
      )
      .catch((e) => e);
    expect(rest.name).toBe('AccessDeniedException');
    expect(rest.message).toContain(
      `bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1:${DEV}:inference-profile/us.amazon.nova-pro-v1:0`,
    );
  });

  it('checks iam:PassRole when a runtime is created with an execution role', async () => {
    const { imageUri } = await pushFixture(twin, { repository: 'passrole' });
    const runtime = allow(['bedrock-agentcore:CreateAgentRuntime']);
    const creds = await jobRole(DEV, 'no-pass', { runtime });
    const input = {
      agentRuntimeName: 'passrole',
      roleArn: role(DEV, 'agent-runtime'),
      agentRuntimeArtifact: { containerConfiguration: { containerUri: imageUri } },
      networkConfiguration: { networkMode: 'PUBLIC' as const },
    };
    const denied = await new BedrockAgentCoreControlClient(clientFor(twin, creds))
      .send(new CreateAgentRuntimeCommand(input))
      .catch((e) => e);
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain(`iam:PassRole on resource: ${role(DEV, 'agent-runtime')}`);
    const passes = await jobRole(DEV, 'passes', {
      runtime,
      pass: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'iam:PassRole',
            Resource: role(DEV, 'agent-runtime'),
            Condition: { StringEquals: { 'iam:PassedToService': 'bedrock-agentcore.amazonaws.com' } },
          },
        ],
      },
    });
    const created = await new BedrockAgentCoreControlClient(clientFor(twin, passes)).send(
      new CreateAgentRuntimeCommand(input),
    );
    expect(created.agentRuntimeArn).toContain(`:${DEV}:runtime/passrole-`);
  });

  it('never matches a trust condition on a claim STS does not expose, and needs the OIDC provider', async () => {
    // `run_id` is in GitHub's token but not among the keys STS evaluates.
    const arn = await putRole(
      twin,
      role(DEV, 'run-pinned'),
      githubTrust(DEV, { sub: `repo:${REPO}:ref:refs/heads/main`, run_id: '*' }, 'StringLike'),
    );
    const err = await assumeAsJob(twin, arn, { repository: REPO, ref: 'refs/heads/main' }).catch((e) => e);
    expect(err.name).toBe('AccessDenied');
    const byRepo = await putRole(
      twin,
      role(DEV, 'repo-pinned'),
      githubTrust(
        DEV,
        { sub: `repo:${REPO}:ref:refs/heads/main`, repository_id: '100000001', workflow: 'release' },
        'StringLike',
      ),
    );
    expect(
      (await assumeAsJob(twin, byRepo, { repository: REPO, ref: 'refs/heads/main' })).accessKeyId,
    ).toMatch(/^ASIA/);
    // An account without GitHub's provider cannot federate, whatever the trust policy says.
    const noProvider = await putRole(
      twin,
      role(OTHER, 'orphan'),
      githubTrust(OTHER, { sub: `repo:${REPO}:ref:refs/heads/main` }),
    );
    const missing = await assumeAsJob(twin, noProvider, { repository: REPO, ref: 'refs/heads/main' }).catch(
      (e) => e,
    );
    expect(missing.name).toBe('InvalidIdentityTokenException');
    expect(missing.message).toMatch(/No OpenIDConnect provider found/);
  });

  it('chains roles: AssumeRole needs the caller’s identity policy and the role’s trust', async () => {
    const target = await putRole(twin, role(DEV, 'cdk-deploy'), {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${DEV}:root` }, Action: 'sts:AssumeRole' },
      ],
    });
    const assume = async (creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
      new STSClient(clientFor(twin, creds)).send(
        new AssumeRoleCommand({ RoleArn: target, RoleSessionName: 'cdk' }),
      );
    const without = await jobRole(DEV, 'infra-none');
    expect((await assume(without).catch((e) => e)).name).toBe('AccessDenied');
    const infra = await jobRole(DEV, 'infra', { chain: allow(['sts:AssumeRole'], [target]) });
    const chained = await assume(infra);
    expect(chained.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${DEV}:assumed-role/cdk-deploy/cdk`);
    // Another account's role trusting only its own account: the identity allow is not enough.
    const prodInfra = await jobRole(PROD, 'infra', { chain: allow(['sts:AssumeRole'], [target]) });
    expect((await assume(prodInfra).catch((e) => e)).name).toBe('AccessDenied');
  });

  it('lets another account into a registry only through the repository policy', async () => {
    const { digest } = await pushFixture(twin, { repository: 'shared' });
    const puller = await jobRole(PROD, 'puller', {
      pull: allow(['ecr:BatchGetImage', 'ecr:DescribeImages']),
    });
    const ecr = new ECRClient(clientFor(twin, puller));
    const get = () =>
      ecr.send(
        new BatchGetImageCommand({
          registryId: DEV,
          repositoryName: 'shared',
          imageIds: [{ imageDigest: digest }],
        }),
      );
    const denied = await get().catch((e) => e);
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain(`because no resource-based policy allows the ecr:BatchGetImage action`);
    await new ECRClient(clientFor(twin, twin.credentials(DEV))).send(
      new SetRepositoryPolicyCommand({
        repositoryName: 'shared',
        policyText: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${PROD}:root` },
              Action: ['ecr:BatchGetImage'],
            },
          ],
        }),
      }),
    );
    expect((await get()).images?.[0].imageId?.imageDigest).toBe(digest);
    // The policy allows BatchGetImage only; the identity allow for DescribeImages is not enough.
    const describe = await ecr
      .send(new DescribeImagesCommand({ registryId: DEV, repositoryName: 'shared' }))
      .catch((e) => e);
    expect(describe.name).toBe('AccessDeniedException');
    // Without registryId the caller addresses its own registry, where there is no such repository.
    const own = await ecr
      .send(new BatchGetImageCommand({ repositoryName: 'shared', imageIds: [{ imageDigest: digest }] }))
      .catch((e) => e);
    expect(own.name).toBe('RepositoryNotFoundException');
    expect(own.message).toContain(`registry with id '${PROD}'`);
  });
});
