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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig, pushFixture } from './image-fixture';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CDK = path.join(ROOT, 'node_modules/aws-cdk/bin/cdk');
const ACCOUNT = '111111111111';
const SHARED = 'agentcore-gitops-shared';
const DEV = 'agentcore-gitops-dev';
const IMAGE_PARAMETER = '/agentcore_gitops/dev/image';

/**
 * The real CDK toolkit, unmodified, against the twin: only AWS_ENDPOINT_URL and credentials point it
 * there. The app is synthesized once in-process; the CLI deploys that cloud assembly (`--app <dir>`).
 */
describe('cdk bootstrap / deploy / diff / destroy against the twin', () => {
  let twin: Twin;
  let assembly: string;
  let work: string;

  beforeAll(async () => {
    twin = await startTwin({ accountId: ACCOUNT, agentcore: { logAgentOutput: false } });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-cdk-'));
    assembly = path.join(work, 'cdk.out');
    process.env.CDK_DISABLE_VERSION_CHECK = 'true';
    const { buildApp } = await import('../../infra/src/app');
    buildApp({ outdir: assembly, context: { 'aws:cdk:version-reporting': false } }).app.synth();
  }, 180_000);

  afterAll(async () => {
    await twin?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** Runs `cdk <args>` in an empty directory (no cdk.json) with only the twin's environment. */
  async function cdk(...args: string[]) {
    const env = {
      PATH: process.env.PATH!,
      HOME: work,
      ...twin.env(),
      AWS_CONFIG_FILE: path.join(work, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'no-credentials'),
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      CDK_DISABLE_VERSION_CHECK: 'true',
      CI: 'true',
    };
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

    const diff = await step('diff shared', () => cdk('diff', '--app', assembly, SHARED, '--fail'));
    expect(diff).toContain('There were no differences');
  }, 180_000);

  // Skipped expectation (first-contact defect, issue 10/11): the stack's runtime execution role grants
  // ecr:BatchGetImage and GetDownloadUrlForLayer but not ecr:GetAuthorizationToken, so AgentCore (and
  // the twin) refuse the image: "Access denied while validating ECR URI ... The execution role requires
  // permissions for ecr:GetAuthorizationToken, ecr:BatchGetImage, and ecr:GetDownloadUrlForLayer".
  // Un-skip once infra/ grants it; the deployment then rolls back today, with that reason in its events.
  it.skip('deploys the dev stack with the promoted image, and cdk diff finds no differences', async () => {
    // The pipeline pushes the release image and records it before the environment stack reads it.
    const image = await pushFixture(twin, { repository: 'agentcore-gitops', tags: ['v1'] });
    await new SSMClient(clientConfig(twin)).send(
      new PutParameterCommand({
        Name: IMAGE_PARAMETER,
        Value: image.imageUri,
        Type: 'String',
        Overwrite: true,
      }),
    );
    await step('deploy dev', () => cdk('deploy', '--app', assembly, DEV, '--require-approval', 'never'));

    const dev = twin.cloudformation.stack(DEV)!;
    expect(dev.StackStatus).toBe('CREATE_COMPLETE');
    const outputs = Object.fromEntries(dev.outputs.map((o) => [o.OutputKey, o.OutputValue]));
    const control = new BedrockAgentCoreControlClient(clientConfig(twin));
    const runtime = await control.send(new GetAgentRuntimeCommand({ agentRuntimeId: outputs.RuntimeId }));
    expect(runtime.status).toBe('READY');
    expect(runtime.agentRuntimeArtifact?.containerConfiguration?.containerUri).toBe(image.imageUri);
    expect(runtime.environmentVariables?.MEMORY_ID).toBe(outputs.MemoryId);

    const diff = await step('diff dev', () => cdk('diff', '--app', assembly, DEV, '--fail'));
    expect(diff).toContain('There were no differences');

    await step('destroy dev', () => cdk('destroy', '--app', assembly, DEV, '--force'));
    expect(twin.cloudformation.stack(DEV)).toBeUndefined();
    await expect(
      control.send(new GetAgentRuntimeCommand({ agentRuntimeId: outputs.RuntimeId })),
    ).rejects.toThrow(/not found|does not exist/i);
  }, 180_000);

  it('destroys the shared stack: its roles go, the retained repository stays', async () => {
    await step('destroy shared', () => cdk('destroy', '--app', assembly, SHARED, '--force'));
    expect(twin.cloudformation.stack(SHARED)).toBeUndefined();
    const ecr = new ECRClient(clientConfig(twin));
    const repos = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['agentcore-gitops'] }));
    expect(repos.repositories?.[0]?.repositoryName).toBe('agentcore-gitops');
    await expect(
      new IAMClient(clientConfig(twin)).send(new GetRoleCommand({ RoleName: 'agentcore-gitops-build' })),
    ).rejects.toThrow(/cannot be found/);
  }, 120_000);
});
