import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  BedrockAgentCoreControlClient,
  GetAgentRuntimeCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { cdkEnvironment } from '../src/provision/stacks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubWorkflows, loadEnvironment, runtimeLogGroup, sharedResourceNames } from '../../environments';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig, pushFixture } from './image-fixture';
import { assumeAsJob, clientFor } from './helpers/iam';
import { sharedAssembly } from '../../infra/test/assembly';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CDK = path.join(ROOT, 'node_modules/aws-cdk/bin/cdk');
const devEnv = loadEnvironment('dev');
const ACCOUNT = devEnv.account;
const SHARED = sharedResourceNames(devEnv.app.app).sharedStack;
const DEV = devEnv.names.stack;
const IMAGE_PARAMETER = devEnv.names.imageParameter;

/**
 * The real CDK toolkit, unmodified, against the twin: only AWS_ENDPOINT_URL and credentials point it
 * there. The CLI deploys the run's cloud assembly of the app (`--app <dir>`, infra/test/assembly.ts).
 */
describe('cdk bootstrap / deploy / diff / destroy against the twin', () => {
  let twin: Twin;
  let assembly: string;
  let work: string;

  beforeAll(async () => {
    twin = await startTwin({ accountId: ACCOUNT, agentcore: { logAgentOutput: false } });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-cdk-'));
    assembly = await sharedAssembly();
  }, 600_000);

  afterAll(async () => {
    await twin?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** Runs `cdk <args>` in an empty directory (no cdk.json) with only the twin's environment. */
  async function cdk(...args: string[]) {
    const env = cdkEnvironment(twin, work);
    try {
      const { stdout, stderr } = await promisify(execFile)(
        process.execPath,
        [CDK, '--no-notices', '--no-color', ...args],
        {
          cwd: work,
          env,
          maxBuffer: 64 << 20,
        },
      );
      return stdout + stderr;
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`cdk ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`, {
        cause: e,
      });
    }
  }

  const time: Record<string, number> = {};
  const step = async <T>(name: string, fn: () => Promise<T>) => {
    const t = performance.now();
    const out = await fn();
    time[name] = Math.round(performance.now() - t);
    return out;
  };
  afterAll(() =>
    console.log(
      `cdk against the twin: ${Object.entries(time)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(', ')}`,
    ),
  );

  it('bootstraps the account and deploys the shared stack; cdk diff then finds no differences', async () => {
    await step('bootstrap', () => cdk('bootstrap', `aws://${ACCOUNT}/us-east-1`));
    expect(twin.cloudformation.stack('CDKToolkit')?.StackStatus).toBe('CREATE_COMPLETE');
    expect(twin.s3.hasBucket(`cdk-hnb659fds-assets-${ACCOUNT}-us-east-1`)).toBe(true);
    // The bootstrap roles are real IAM roles: the toolkit assumes them for publishing and deploying.
    const role = await new IAMClient(clientConfig(twin)).send(
      new GetRoleCommand({ RoleName: `cdk-hnb659fds-deploy-role-${ACCOUNT}-us-east-1` }),
    );
    expect(role.Role?.Arn).toBe(
      `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-deploy-role-${ACCOUNT}-us-east-1`,
    );

    const out = await step('deploy shared', () =>
      cdk('deploy', '--app', assembly, SHARED, '--require-approval', 'never'),
    );
    expect(out).toContain(
      `${SHARED}.RepositoryUri = ${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/agentcore-gitops`,
    );
    expect(twin.cloudformation.stack(SHARED)?.StackStatus).toBe('CREATE_COMPLETE');
    // dev.yaml says transactionSearch: create, so the shared stack turned Transaction Search on.
    expect(twin.xray.traceSegmentDestination().Destination).toBe('CloudWatchLogs');

    const diff = await step('diff shared', () => cdk('diff', '--app', assembly, SHARED, '--fail'));
    expect(diff).toContain('There were no differences');
  }, 180_000);

  // Before issue 10's fix the execution role lacked ecr:GetAuthorizationToken and this deployment rolled
  // back ("Access denied while validating ECR URI"), as AgentCore itself would refuse the image.
  it('deploys the dev stack with the promoted image, and cdk diff finds no differences', async () => {
    // The pipeline pushes the release image and records it before the environment stack reads it.
    const image = await pushFixture(twin, {
      repository: sharedResourceNames(devEnv.app.app).repository,
      tags: ['v1'],
    });
    // The first deploy of an environment needs both records the stack resolves (docs/infra.md): the
    // image and the version `live` serves; later deploys read what promote wrote.
    const ssm = new SSMClient(clientConfig(twin));
    for (const [Name, Value] of [
      [IMAGE_PARAMETER, image.imageUri],
      [devEnv.names.liveVersionParameter, '1'],
    ])
      await ssm.send(new PutParameterCommand({ Name, Value, Type: 'String', Overwrite: true }));
    await step('deploy dev', () => cdk('deploy', '--app', assembly, DEV, '--require-approval', 'never'));

    const dev = twin.cloudformation.stack(DEV)!;
    expect(dev.StackStatus).toBe('CREATE_COMPLETE');
    const outputs = Object.fromEntries(dev.outputs.map((o) => [o.OutputKey, o.OutputValue]));
    const control = new BedrockAgentCoreControlClient(clientConfig(twin));
    const runtime = await control.send(new GetAgentRuntimeCommand({ agentRuntimeId: outputs.RuntimeId }));
    expect(runtime.status).toBe('READY');
    expect(runtime.agentRuntimeArtifact?.containerConfiguration?.containerUri).toBe(image.imageUri);
    expect(runtime.environmentVariables?.MEMORY_ID).toBe(outputs.MemoryId);
    // The runtime's log groups carry the file's retention; its spans and logs are delivered.
    const groups = [
      devEnv.names.applicationLogGroup,
      devEnv.names.usageLogGroup,
      runtimeLogGroup(outputs.RuntimeId, 'DEFAULT'),
      runtimeLogGroup(outputs.RuntimeId, devEnv.runtime.liveEndpoint),
    ];
    for (const name of groups)
      expect(twin.logs.logGroup(name)?.retentionInDays, name).toBe(devEnv.observability.logRetentionDays);
    expect(
      twin.logs
        .deliveries()
        .map((d) => d.deliveryDestinationType)
        .sort(),
    ).toEqual(['CWL', 'CWL', 'XRAY']);

    const diff = await step('diff dev', () => cdk('diff', '--app', assembly, DEV, '--fail'));
    expect(diff).toContain('There were no differences');

    await step('destroy dev', () => cdk('destroy', '--app', assembly, DEV, '--force'));
    expect(twin.cloudformation.stack(DEV)).toBeUndefined();
    // Deliveries go with the stack; the log groups (RetainExceptOnCreate) keep what they hold.
    expect(twin.logs.deliveries()).toEqual([]);
    for (const name of groups) expect(twin.logs.logGroup(name), name).toBeDefined();
    await expect(
      control.send(new GetAgentRuntimeCommand({ agentRuntimeId: outputs.RuntimeId })),
    ).rejects.toThrow(/not found|does not exist/i);
  }, 180_000);

  it('no pipeline role can assume a CDK bootstrap role; only the infra role can', async () => {
    const shared = sharedResourceNames(devEnv.app.app);
    const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
    const bootstrapRoles = ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map((kind) =>
      role(`cdk-hnb659fds-${kind}-role-${ACCOUNT}-${twin.context.region}`),
    );
    const main = 'refs/heads/main';
    const job = (workflow: string, context: Record<string, string>) => ({
      repository: devEnv.app.github.repository,
      ref: main,
      workflowPath: `.github/workflows/${workflow}`,
      ...context,
    });
    // Each role as the workflow job that really assumes it (its trust policy must accept that token).
    const pipeline = [
      [shared.buildRole, job(githubWorkflows.release, { eventName: 'push' })],
      [devEnv.names.deployRole, job(githubWorkflows.release, { eventName: 'push', environment: 'dev' })],
      [shared.sweepRole, job(githubWorkflows.sweep, { eventName: 'schedule' })],
      [
        shared.previewRole,
        job(githubWorkflows.preview, { eventName: 'pull_request', ref: 'refs/pull/7/merge' }),
      ],
      [
        shared.diffRole,
        job(githubWorkflows.infraDiff, { eventName: 'pull_request', ref: 'refs/pull/7/merge' }),
      ],
    ] as const;
    const chain = async (credentials: Awaited<ReturnType<typeof assumeAsJob>>, target: string) =>
      new STSClient(clientFor(twin, credentials))
        .send(new AssumeRoleCommand({ RoleArn: target, RoleSessionName: 'chain' }))
        .then(
          () => 'allowed',
          (e: Error) => e.name,
        );
    for (const [name, context] of pipeline) {
      const credentials = await assumeAsJob(twin, role(name), context);
      for (const target of bootstrapRoles)
        expect(`${name} → ${await chain(credentials, target)}`).toBe(`${name} → AccessDenied`);
    }
    const infra = await assumeAsJob(
      twin,
      role(devEnv.names.infraRole),
      job(githubWorkflows.infraDeploy, { eventName: 'push', environment: 'dev' }),
    );
    for (const target of bootstrapRoles) expect(await chain(infra, target)).toBe('allowed');
  }, 60_000);

  it('destroys the shared stack: its roles go, the retained repository stays', async () => {
    await step('destroy shared', () => cdk('destroy', '--app', assembly, SHARED, '--exclusively', '--force'));
    expect(twin.cloudformation.stack(SHARED)).toBeUndefined();
    const ecr = new ECRClient(clientConfig(twin));
    const repos = await ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: [sharedResourceNames(devEnv.app.app).repository] }),
    );
    expect(repos.repositories?.[0]?.repositoryName).toBe(sharedResourceNames(devEnv.app.app).repository);
    await expect(
      new IAMClient(clientConfig(twin)).send(new GetRoleCommand({ RoleName: 'agentcore-gitops-build' })),
    ).rejects.toThrow(/cannot be found/);
  }, 120_000);
});
