import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
  GetAgentRuntimeCommand,
  UpdateAgentRuntimeCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import {
  BatchGetImageCommand,
  DeleteRepositoryPolicyCommand,
  ECRClient,
  GetRepositoryPolicyCommand,
  SetRepositoryPolicyCommand,
  InitiateLayerUploadCommand,
} from '@aws-sdk/client-ecr';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubWorkflows, loadEnvironment, sharedResourceNames } from '../../environments';
import { sharedAssembly } from '../../infra/test/assembly';
import { assemblyStacks, provisionFromTemplates, type ProvisionReport } from '../src/provision/templates';
import { startTwin, type Twin } from '../src/twin';
import { pushFixture } from './image-fixture';
import { assumeAsJob, clientFor, iamAdmin } from './helpers/iam';

const dev = loadEnvironment('dev');
const prod = loadEnvironment('prod');
const shared = sharedResourceNames(dev.app.app);
const repository = dev.app.github.repository;
const roleArn = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;

/** The identities the CDK app synthesizes, provisioned on a two-account twin: the real policies. */
describe('identities provisioned from the synthesized templates', () => {
  let twin: Twin;
  let report: ProvisionReport;
  beforeAll(async () => {
    twin = await startTwin({ accountId: dev.account, agentcore: { readyDelayMs: 10 } });
    report = await provisionFromTemplates(twin, assemblyStacks(await sharedAssembly()));
  }, 240_000);
  afterAll(() => twin?.close());

  const as = (credentials: Awaited<ReturnType<typeof assumeAsJob>>) => clientFor(twin, credentials);
  const job = {
    preview: () =>
      assumeAsJob(twin, roleArn(dev.account, shared.previewRole), {
        repository,
        eventName: 'pull_request',
        ref: 'refs/pull/7/merge',
        workflowPath: `.github/workflows/${githubWorkflows.preview}`,
      }),
    deploy: (env: typeof dev) =>
      assumeAsJob(twin, roleArn(env.account, env.names.deployRole), {
        repository,
        environment: env.name,
        ref: 'refs/heads/main',
        workflowPath: `.github/workflows/${githubWorkflows.release}`,
      }),
  };

  it('creates roles, providers and repositories in each stack’s account and lists what it skips', async () => {
    const role = await iamAdmin(twin, prod.account).send(
      new GetRoleCommand({ RoleName: prod.names.deployRole }),
    );
    expect(role.Role?.Arn).toBe(roleArn(prod.account, prod.names.deployRole));
    expect(report.created).toContainEqual(
      expect.stringContaining(
        `AWS::ECR::Repository arn:aws:ecr:${dev.region}:${dev.account}:repository/${shared.repository}`,
      ),
    );
    expect(report.skipped).toContainEqual(
      expect.stringMatching(/AWS::BedrockAgentCore::Runtime: type not provisioned/),
    );
  });

  it('the preview role cannot read dev’s SSM parameters', async () => {
    await new SSMClient(clientFor(twin)).send(
      new PutParameterCommand({
        Name: dev.names.imageParameter,
        Value: 'x',
        Type: 'String',
        Overwrite: true,
      }),
    );
    const err = await new SSMClient(as(await job.preview()))
      .send(new GetParameterCommand({ Name: dev.names.imageParameter }))
      .catch((e) => e);
    expect(err.name).toBe('AccessDeniedException');
  });

  // Issue 10 item 8: before the fix the synthesized preview role could push to the release repository.
  it('the preview role cannot push to the release repository (issue 10 item 8)', async () => {
    const err = await new ECRClient(as(await job.preview()))
      .send(new InitiateLayerUploadCommand({ registryId: dev.account, repositoryName: shared.repository }))
      .catch((e) => e);
    expect(err.name).toBe('AccessDeniedException');
  });

  it('the dev deploy role cannot update prod’s runtime', async () => {
    const runtimeArn = `arn:aws:bedrock-agentcore:${prod.region}:${prod.account}:runtime/${prod.names.runtime}-AbCdEf1234`;
    const err = await new BedrockAgentCoreControlClient(as(await job.deploy(dev)))
      .send(
        new UpdateAgentRuntimeCommand({
          agentRuntimeId: runtimeArn,
          roleArn: roleArn(prod.account, prod.names.executionRole),
          agentRuntimeArtifact: { containerConfiguration: { containerUri: 'x' } },
          networkConfiguration: { networkMode: 'PUBLIC' },
        }),
      )
      .catch((e) => e);
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toContain(`bedrock-agentcore:UpdateAgentRuntime on resource: ${runtimeArn}`);
  });

  it('prod credentials pull from the dev registry only through the repository policy', async () => {
    const { digest } = await pushFixture(twin, { repository: shared.repository, tags: [] });
    const deployProd = new ECRClient(as(await job.deploy(prod)));
    const pull = () =>
      deployProd.send(
        new BatchGetImageCommand({
          registryId: dev.account,
          repositoryName: shared.repository,
          imageIds: [{ imageDigest: digest }],
        }),
      );
    expect((await pull()).images).toHaveLength(1);
    const admin = new ECRClient(clientFor(twin));
    const { policyText } = await admin.send(
      new GetRepositoryPolicyCommand({ repositoryName: shared.repository }),
    );
    await admin.send(new DeleteRepositoryPolicyCommand({ repositoryName: shared.repository }));
    try {
      const denied = await pull().catch((e) => e);
      expect(denied.name).toBe('AccessDeniedException');
      expect(denied.message).toContain(
        'because no resource-based policy allows the ecr:BatchGetImage action',
      );
    } finally {
      await admin.send(new SetRepositoryPolicyCommand({ repositoryName: shared.repository, policyText }));
    }
  });

  // AgentCore's runtime-permissions page lists ecr:GetAuthorizationToken (Resource "*") for the
  // execution role beside BatchGetImage and GetDownloadUrlForLayer; the synthesized role lacked it.
  it('the prod runtime’s execution role pulls its image from the dev registry (issue 10: it needs ecr:GetAuthorizationToken)', async () => {
    const { imageUri } = await pushFixture(twin, {
      repository: shared.repository,
      tags: [],
      marker: 'runtime-pull',
    });
    const control = new BedrockAgentCoreControlClient(clientFor(twin, twin.credentials(prod.account)));
    const created = await control.send(
      new CreateAgentRuntimeCommand({
        agentRuntimeName: `${prod.names.runtime}_pull`,
        roleArn: roleArn(prod.account, prod.names.executionRole),
        agentRuntimeArtifact: { containerConfiguration: { containerUri: imageUri } },
        networkConfiguration: { networkMode: 'PUBLIC' },
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const runtime = await control.send(
      new GetAgentRuntimeCommand({ agentRuntimeId: created.agentRuntimeId }),
    );
    expect(runtime.failureReason).toBeUndefined();
    expect(runtime.status).toBe('READY');
  });
});
