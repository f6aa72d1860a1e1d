import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadAllEnvironments } from '../../../environments';
import { planTopology } from '../../../infra/src/topology';
import { provisionStacks, type ProvisionedStacks, cdkEnvironment } from '../../../local/src/provision/stacks';
import { startTwin, type Twin } from '../../../local/src/twin';
import { diffStacks, renderDiffComment, stackTable } from '../src/steps/infra-diff';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CDK = path.join(ROOT, 'node_modules/aws-cdk/bin/cdk');
const topology = planTopology(loadAllEnvironments());
const dev = topology.deployed.find((e) => e.name === 'dev')!;

/**
 * The pull request's view: a twin provisioned as `npm run twin -- --provision` does, then the real
 * `cdk diff` (cdk.json's app, with environments/ replaced by a copy whose dev.yaml has one new alarm
 * threshold) read by the infra-diff action's step into its table.
 */
describe('infra-diff: a changed alarm threshold in dev.yaml', () => {
  let twin: Twin;
  let provisioned: ProvisionedStacks;
  let work: string;

  beforeAll(async () => {
    twin = await startTwin({ accountId: dev.account, agentcore: { logAgentOutput: false } });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'infra-diff-'));
    provisioned = await provisionStacks(twin, { bundle: Buffer.from('// first image, never run here\n') });
  }, 600_000);
  afterAll(async () => {
    provisioned?.cleanup();
    await twin?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('names exactly that change in the dev stack and nothing in the shared stack', async () => {
    const environments = path.join(work, 'environments');
    fs.cpSync(path.join(ROOT, 'environments'), environments, { recursive: true });
    const file = path.join(environments, 'dev.yaml');
    const doc = parse(fs.readFileSync(file, 'utf8')) as { alarms: { latencyP95Ms: number } };
    const before = doc.alarms.latencyP95Ms;
    doc.alarms.latencyP95Ms = before + 5000;
    fs.writeFileSync(file, stringify(doc));

    const started = performance.now();
    const result = await diffStacks({
      accounts: topology.accounts.map((p) => ({
        account: p.account,
        stacks: [p.stackName, ...p.deployed.map((e) => e.names.stack)],
      })),
      callerAccount: dev.account,
      cdk: (args) => runCdk(twin, work, [...args, '-c', `environmentsDir=${environments}`]),
    });
    console.log(
      `cdk diff of ${dev.account}'s stacks: ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const byStack = Object.fromEntries(result.diffs.map((d) => [d.stack, d]));
    expect(Object.keys(byStack).sort()).toEqual([dev.names.stack, topology.accounts[0].stackName].sort());
    expect(byStack[topology.accounts[0].stackName].resources).toEqual([]);
    const changes = byStack[dev.names.stack];
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
            to: `p95 runtime latency above ${before + 5000} ms`,
          },
          { name: 'Threshold', from: String(before), to: String(before + 5000) },
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
    const table = stackTable(changes);
    expect(table.split('\n')).toHaveLength(4);
    expect(table).toContain(`\`Threshold\`: ${before} → ${before + 5000}`);
    // The other account's stacks are named as not diffed, not dropped.
    expect(result.failed.map((f) => f.stack).sort()).toEqual(
      topology.accounts
        .filter((a) => a.account !== dev.account)
        .flatMap((a) => [a.stackName, ...a.deployed.map((e) => e.names.stack)])
        .sort(),
    );
    const comment = renderDiffComment(result.diffs, { sha: 'a'.repeat(40), failed: result.failed });
    expect(comment).toContain(`\`${dev.names.stack}\`: 2 changed`);
    expect(comment).toContain(`\`${topology.accounts[0].stackName}\`: no changes`);
  }, 300_000);
});

/** The real CLI from the repository root (cdk.json), signed as the twin account's admin; output in order. */
function runCdk(twin: Twin, home: string, args: string[]) {
  return new Promise<{ output: string; exitCode: number }>((resolve, reject) => {
    // Its own output folder: other tests run the CLI at the same time, and it locks the one it synths to.
    const child = spawn(
      process.execPath,
      [CDK, '--no-notices', ...args, '--output', path.join(home, 'cdk.out')],
      {
        cwd: ROOT,
        env: cdkEnvironment(twin, home),
      },
    );
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ output, exitCode: code ?? 1 }));
  });
}
