import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAllEnvironments } from '../../environments';
import { provisionStacks, type ProvisionedStacks, cdkEnvironment } from '../src/provision/stacks';
import { startTwin, type Twin } from '../src/twin';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CDK = path.join(ROOT, 'node_modules/aws-cdk/bin/cdk');
const DEFAULT_ACCOUNT = loadAllEnvironments().find((e) => e.name === 'dev')!.account;

/**
 * `npm run twin -- --provision`'s promise: from an empty twin, every stack deployed through the real
 * CDK CLI; then `npx cdk diff --all` from the repository (cdk.json's app), with only the printed
 * variables set, finds no differences.
 */
describe('provisionStacks: bootstrap and deploy every stack through the CDK CLI', () => {
  let twin: Twin;
  let provisioned: ProvisionedStacks;
  let home: string;
  const lines: string[] = [];

  beforeAll(async () => {
    twin = await startTwin({ accountId: DEFAULT_ACCOUNT, agentcore: { logAgentOutput: false } });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'provision-stacks-'));
  });
  afterAll(async () => {
    provisioned?.cleanup();
    await twin?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
    console.log(lines.join('\n'));
  });

  it('deploys the shared and environment stacks of every account, and cdk diff --all finds nothing', async () => {
    const started = performance.now();
    provisioned = await provisionStacks(twin, {
      bundle: Buffer.from('// a first image; this test does not run it\n'),
      log: (line) => lines.push(line),
    });
    lines.push(`provisioned in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const expected = [
      'agentcore-gitops-shared',
      'agentcore-gitops-shared-222222222222',
      'agentcore-gitops-dev',
      'agentcore-gitops-prod',
    ];
    expect(provisioned.stacks).toEqual(expected);
    for (const stack of expected) {
      const account =
        stack.endsWith('prod') || stack.endsWith('222222222222') ? '222222222222' : DEFAULT_ACCOUNT;
      expect(twin.inAccount(account, () => twin.cloudformation.stack(stack)?.StackStatus)).toBe(
        'CREATE_COMPLETE',
      );
    }

    const diffStarted = performance.now();
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      // Its own output folder: other tests run the CLI at the same time, and it locks the one it synths to.
      [CDK, '--no-notices', '--no-color', 'diff', '--all', '--fail', '--output', path.join(home, 'cdk.out')],
      {
        cwd: ROOT,
        env: cdkEnvironment(twin, home),
        maxBuffer: 64 << 20,
      },
    ).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`cdk diff --all failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    });
    lines.push(`cdk diff --all in ${((performance.now() - diffStarted) / 1000).toFixed(1)} s`);
    const out = stdout + stderr;
    for (const stack of expected)
      expect(out).toMatch(new RegExp(`Stack ${stack}( \\(aws://[^)]+\\))?\\n+There were no differences`));
    expect(out).toContain('Number of stacks with differences: 0');
  }, 600_000);
});
