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

  it('deploys this project’s shared and dev stacks, finds no differences, then destroys them', async () => {
    const started = performance.now();
    const time: Record<string, number> = {};
    const step = async <T>(name: string, fn: () => Promise<T>) => {
      const t = performance.now();
      const out = await fn();
      time[name] = Math.round(performance.now() - t);
      return out;
    };

    await step('bootstrap', () => cdk('bootstrap', `aws://${ACCOUNT}/us-east-1`));
    expect(twin.cloudformation.stack('CDKToolkit')?.StackStatus).toBe('CREATE_COMPLETE');
    expect(twin.s3.hasBucket(`cdk-hnb659fds-assets-${ACCOUNT}-us-east-1`)).toBe(true);

    await step('deploy shared', () =>
      cdk('deploy', '--app', assembly, SHARED, '--require-approval', 'never'),
    );
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

    const diff = await step('diff', () => cdk('diff', '--app', assembly, SHARED, DEV, '--fail'));
    expect(diff.match(/There were no differences/g)?.length).toBe(2);

    await step('destroy', () => cdk('destroy', '--app', assembly, DEV, SHARED, '--force'));
    expect(twin.cloudformation.stack(DEV)).toBeUndefined();
    expect(twin.cloudformation.stack(SHARED)).toBeUndefined();
    await expect(
      control.send(new GetAgentRuntimeCommand({ agentRuntimeId: outputs.RuntimeId })),
    ).rejects.toThrow(/not found|does not exist/i);

    console.log(
      `cdk against the twin: ${Object.entries(time)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(', ')}; total ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 240_000);
});
