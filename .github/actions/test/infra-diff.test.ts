/**
 * The pull request's diff and the scheduled drift check against a twin provisioned as
 * `npm run twin -- --provision` does (both accounts, through the real CDK CLI): the real `cdk diff`
 * read by the steps, signed as each account's read-only diff role, assumed with a GitHub OIDC token of
 * the workflow that uses it — and once through the committed bundle, as the runner runs it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BedrockAgentCoreControlClient,
  GetAgentRuntimeCommand,
  GetAgentRuntimeEndpointCommand,
  ListAgentRuntimeVersionsCommand,
  UpdateAgentRuntimeEndpointCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { ECRClient } from '@aws-sdk/client-ecr';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { githubWorkflows, loadAllEnvironments } from '../../../environments';
import { planTopology } from '../../../infra/src/topology';
import { provisionStacks, type ProvisionedStacks, cdkEnvironment } from '../../../local/src/provision/stacks';
import { pushImage } from '../../../local/src/image/push';
import { startTwin, type Twin } from '../../../local/src/twin';
import { sharedAssembly } from '../../../infra/test/assembly';
import { assumeRole } from '../src/steps/aws-credentials';
import { deployRuntime } from '../src/steps/deploy-runtime';
import {
  diffStacks,
  renderDiffComment,
  stackTable,
  type AccountAccess,
  type AccountStacks,
} from '../src/steps/infra-diff';
import { driftReport } from '../src/steps/infra-drift';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CDK = path.join(ROOT, 'node_modules/aws-cdk/bin/cdk');
const topology = planTopology(loadAllEnvironments());
const dev = topology.deployed.find((e) => e.name === 'dev')!;
const prod = topology.deployed.find((e) => e.name === 'prod')!;
const accounts: AccountStacks[] = topology.accounts.map((p) => ({
  account: p.account,
  region: p.region,
  stacks: [p.stackName, ...p.deployed.map((e) => e.names.stack)],
}));
const allStacks = accounts.flatMap((a) => a.stacks);
const repository = topology.app.github.repository;
const pullRequestJob = {
  repository,
  eventName: 'pull_request',
  ref: 'refs/pull/7/merge',
  workflowPath: `.github/workflows/${githubWorkflows.infraDiff}`,
};
const driftJob = {
  repository,
  eventName: 'schedule',
  ref: `refs/heads/${topology.app.github.mainBranch}`,
  workflowPath: `.github/workflows/${githubWorkflows.infraDrift}`,
};

describe('infra-diff and infra-drift against the twin, in both accounts', () => {
  let twin: Twin;
  let provisioned: ProvisionedStacks;
  let work: string;
  /** A copy of environments/ with new alarm thresholds in dev.yaml and prod.yaml (the pull request). */
  let changed: string;
  const thresholds: Record<string, { before: number; after: number }> = {};

  beforeAll(async () => {
    twin = await startTwin({ accountId: dev.account, agentcore: { logAgentOutput: false } });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'infra-diff-'));
    provisioned = await provisionStacks(twin, {
      bundle: Buffer.from('// first image, never run here\n'),
      assembly: sharedAssembly(),
    });
    changed = path.join(work, 'environments');
    fs.cpSync(path.join(ROOT, 'environments'), changed, { recursive: true });
    for (const [env, by] of [
      ['dev', 5000],
      ['prod', 7000],
    ] as const) {
      const file = path.join(changed, `${env}.yaml`);
      const doc = parse(fs.readFileSync(file, 'utf8')) as { alarms: { latencyP95Ms: number } };
      thresholds[env] = { before: doc.alarms.latencyP95Ms, after: doc.alarms.latencyP95Ms + by };
      doc.alarms.latencyP95Ms += by;
      fs.writeFileSync(file, stringify(doc));
    }
  }, 600_000);
  afterAll(async () => {
    provisioned?.cleanup();
    await twin?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** Each account's diff role, assumed with a fresh OIDC token of `job` (as the action does). */
  const diffRoles =
    (job: typeof pullRequestJob) =>
    async (account: AccountStacks): Promise<AccountAccess> => {
      const sts = (credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) =>
        new STSClient({ endpoint: twin.url, region: account.region, maxAttempts: 1, credentials });
      const { credentials } = await assumeRole({
        sts: sts(),
        identityClient: sts,
        roleArn: `arn:aws:iam::${account.account}:role/${topology.shared.diffRole}`,
        sessionName: 'infra-diff-test',
        durationSeconds: 3600,
        webIdentityToken: await twin.github.mintToken(job, { audience: 'sts.amazonaws.com' }),
        allowedAccountIds: [account.account],
        retryTotalMs: 0,
      });
      return {
        env: {
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          AWS_SESSION_TOKEN: credentials.sessionToken,
        },
      };
    };

  /**
   * The step over the real CLI, the app synthesized from `environments` (main: the assembly the twin
   * was provisioned from, synthesized from environments/ by the same CLI, so no second synth).
   */
  const diff = (environments: string | 'main', access: (a: AccountStacks) => Promise<AccountAccess>) =>
    diffStacks({
      accounts,
      access,
      ...(environments === 'main'
        ? { assembly: provisioned.assembly, synthesize: false }
        : { assembly: path.join(work, `${path.basename(environments)}.out`) }),
      cdk: (args, env) =>
        runCdk(
          twin,
          work,
          environments === 'main' ? args : [...args, '-c', `environmentsDir=${environments}`],
          env,
        ),
    });

  it('a pull request that changes alarm thresholds: each account’s diff role shows exactly its change', async () => {
    const started = performance.now();
    const result = await diff(changed, diffRoles(pullRequestJob));
    console.log(`cdk diff of both accounts: ${((performance.now() - started) / 1000).toFixed(1)} s`);

    expect(result.failed).toEqual([]);
    expect(result.skipped).toEqual([]);
    const byStack = Object.fromEntries(result.diffs.map((d) => [d.stack, d]));
    expect(Object.keys(byStack).sort()).toEqual([...allStacks].sort());
    for (const plan of topology.accounts) {
      expect(byStack[plan.stackName].changed, plan.stackName).toBe(false);
      expect(byStack[plan.stackName].resources).toEqual([]);
    }
    for (const env of [dev, prod]) {
      const { before, after } = thresholds[env.name];
      const changes = byStack[env.names.stack];
      expect(changes.iam).toBeUndefined();
      expect(changes.securityGroups).toBeUndefined();
      expect(changes.resources).toEqual([
        expect.objectContaining({
          action: 'changed',
          type: 'AWS::CloudWatch::Alarm',
          properties: [
            {
              name: 'AlarmDescription',
              from: `p95 runtime latency above ${before} ms`,
              to: `p95 runtime latency above ${after} ms`,
            },
            { name: 'Threshold', from: String(before), to: String(after) },
          ],
        }),
        // The dashboard draws each alarm's threshold (alarm.toAnnotation()), so its body follows.
        expect.objectContaining({
          action: 'changed',
          type: 'AWS::CloudWatch::Dashboard',
          properties: [{ name: 'DashboardBody' }],
        }),
      ]);
      expect(changes.resources[0].path).toMatch(/latency/i);
      expect(stackTable(changes)).toContain(`\`Threshold\`: ${before} → ${after}`);
    }
    const comment = renderDiffComment(result.diffs, { sha: 'a'.repeat(40) });
    expect(comment).toContain(`\`${dev.names.stack}\`: 2 changed`);
    expect(comment).toContain(`\`${prod.names.stack}\`: 2 changed`);
    expect(comment).toContain(`\`${topology.accounts[1].stackName}\`: no changes`);
  }, 300_000);

  it('the diff roles refuse a token of another workflow and cannot create a change set', async () => {
    await expect(
      diffRoles({ ...pullRequestJob, workflowPath: '.github/workflows/preview.yml' })(accounts[0]),
    ).rejects.toThrow(/AccessDenied/);
    // `--method change-set` needs the deploy role (or CreateChangeSet): a read-only role gets neither.
    const access = (await diffRoles(pullRequestJob)(accounts[0])) as { env: Record<string, string> };
    const { output, exitCode } = await runCdk(
      twin,
      work,
      [
        'diff',
        '--app',
        provisioned.assembly,
        '--no-color',
        '--method',
        'change-set',
        '--exclusively',
        dev.names.stack,
      ],
      access.env,
    );
    expect(exitCode, output).not.toBe(0);
  }, 120_000);

  it('drift on a fresh deploy: none; after an out-of-band deploy of dev: dev, with what differs', async () => {
    const fresh = driftReport(await diff('main', diffRoles(driftJob)));
    expect(fresh.drifted.map((d) => d.stack)).toEqual([]);
    expect(fresh.inSync.sort()).toEqual([...allStacks].sort());
    expect(fresh.unchecked).toEqual([]);

    // Someone deploys dev from a branch (the pull request's environments/), bypassing main.
    // (from the assembly the pull request's diff synthesized from them)
    const out = await runCdk(twin, work, [
      'deploy',
      '--app',
      path.join(work, 'environments.out'),
      '--exclusively',
      '--require-approval',
      'never',
      dev.names.stack,
    ]);
    expect(out.exitCode, out.output).toBe(0);

    const report = driftReport(await diff('main', diffRoles(driftJob)));
    expect(report.drifted.map((d) => d.stack)).toEqual([dev.names.stack]);
    const { before, after } = thresholds.dev;
    // Read from main's side: the deployed (old) value is the branch's, the new one main's.
    expect(report.drifted[0].resources[0].properties).toContainEqual({
      name: 'Threshold',
      from: String(after),
      to: String(before),
    });
    expect(report.inSync.sort()).toEqual(allStacks.filter((s) => s !== dev.names.stack).sort());
  }, 600_000);

  // The committed bundle, run as infra-diff.yml runs it (no credentials step: it trades the pull
  // request's OIDC token for each account's diff role), is the rehearsal's "infra PR" step
  // (scripts/rehearse.ts, in CI): a checkout with one threshold changed, one comment, exactly that change.

  it('infra-deploy under prod’s infra role deploys the stack change and leaves the image and live as promoted', async () => {
    // A release promoted a new image in prod: a new runtime version, `live` on it, the records written
    // (what deploy-runtime and promote do with the deploy role).
    const prodAdmin = {
      endpoint: twin.url,
      region: prod.region,
      maxAttempts: 1,
      credentials: twin.credentials(prod.account),
    };
    const image = await pushImage({
      bundle: Buffer.from('// the promoted image\n'),
      repository: topology.shared.repository,
      tags: ['promoted'],
      ecr: new ECRClient({ ...prodAdmin, credentials: twin.credentials(topology.registry.account) }),
    });
    const control = new BedrockAgentCoreControlClient(prodAdmin);
    const runtimeId = twin.inAccount(
      prod.account,
      () =>
        twin.cloudformation.stack(prod.names.stack)!.outputs.find((o) => o.OutputKey === 'RuntimeId')!
          .OutputValue!,
    );
    const deployed = await deployRuntime({
      control,
      runtimeName: prod.names.runtime,
      runtimeId,
      imageUri: image.imageUri,
      wait: { timeoutSeconds: 30, pollSeconds: 0.05 },
    });
    await control.send(
      new UpdateAgentRuntimeEndpointCommand({
        agentRuntimeId: runtimeId,
        endpointName: prod.runtime.liveEndpoint,
        agentRuntimeVersion: deployed.version,
      }),
    );
    const ssm = new SSMClient(prodAdmin);
    for (const [Name, Value] of [
      [prod.names.imageParameter, image.imageUri],
      [prod.names.liveVersionParameter, deployed.version],
    ])
      await ssm.send(new PutParameterCommand({ Name, Value, Type: 'String', Overwrite: true }));
    const versionsBefore = (
      await control.send(new ListAgentRuntimeVersionsCommand({ agentRuntimeId: runtimeId }))
    ).agentRuntimes!.length;

    // infra-deploy.yml's job: prod's infra role (environment prod, main, that workflow), then the CLI.
    const sts = (credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) =>
      new STSClient({ endpoint: twin.url, region: prod.region, maxAttempts: 1, credentials });
    const { credentials } = await assumeRole({
      sts: sts(),
      identityClient: sts,
      roleArn: `arn:aws:iam::${prod.account}:role/${prod.names.infraRole}`,
      sessionName: 'infra-deploy-test',
      durationSeconds: 3600,
      webIdentityToken: await twin.github.mintToken(
        {
          repository,
          eventName: 'push',
          ref: `refs/heads/${topology.app.github.mainBranch}`,
          environment: 'prod',
          workflowPath: `.github/workflows/${githubWorkflows.infraDeploy}`,
        },
        { audience: 'sts.amazonaws.com' },
      ),
      retryTotalMs: 0,
    });
    const out = await runCdk(
      twin,
      work,
      [
        'deploy',
        '--app',
        path.join(work, 'environments.out'),
        '--exclusively',
        '--require-approval',
        'never',
        prod.names.stack,
      ],
      {
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
      },
    );
    expect(out.exitCode, out.output).toBe(0);
    const stack = twin.inAccount(prod.account, () => twin.cloudformation.stack(prod.names.stack)!);
    expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
    // The stack change is deployed ...
    const alarm = twin.inAccount(prod.account, () =>
      twin.cloudwatch.alarm(`${prod.names.alarmPrefix}latency-p95`),
    );
    expect(alarm?.Threshold).toBe(thresholds.prod.after);
    // ... and what runs is what the pipeline promoted: same image, same live version, no new version.
    const runtime = await control.send(new GetAgentRuntimeCommand({ agentRuntimeId: runtimeId }));
    expect(runtime.agentRuntimeVersion).toBe(deployed.version);
    expect(runtime.agentRuntimeArtifact?.containerConfiguration?.containerUri).toBe(image.imageUri);
    const live = await control.send(
      new GetAgentRuntimeEndpointCommand({
        agentRuntimeId: runtimeId,
        endpointName: prod.runtime.liveEndpoint,
      }),
    );
    expect(live.liveVersion).toBe(deployed.version);
    expect(
      (await control.send(new ListAgentRuntimeVersionsCommand({ agentRuntimeId: runtimeId }))).agentRuntimes!
        .length,
    ).toBe(versionsBefore);
  }, 600_000);
});

/** The real CLI from the repository root (cdk.json), as the twin account's admin unless `env` says otherwise. */
function runCdk(twin: Twin, home: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ output: string; exitCode: number }>((resolve, reject) => {
    const out = fs.mkdtempSync(path.join(home, 'synth-'));
    // Its own output folder: other tests run the CLI at the same time, and it locks the one it synths to.
    const withOutput =
      args.includes('--output') || args.includes('--app') ? args : [...args, '--output', out];
    const child = spawn(process.execPath, [CDK, '--no-notices', ...withOutput], {
      cwd: ROOT,
      env: { ...cdkEnvironment(twin, home), ...env },
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ output, exitCode: code ?? 1 }));
  });
}
