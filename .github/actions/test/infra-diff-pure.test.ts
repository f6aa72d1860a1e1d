import { describe, expect, it } from 'vitest';
import { countByAction, diffStacks, parseCdkDiff, renderDiffComment } from '../src/steps/infra-diff';
import { driftHeadline, driftReport, renderDriftSummary } from '../src/steps/infra-drift';

// Shaped as @aws-cdk/cloudformation-diff's formatter prints with --no-color (formatResourceDifference,
// formatTreeDiff, formatIamChanges, formatSecurityGroupChanges in the aws-cdk CLI bundle).
const OUTPUT = `start: Building agentcore-gitops-dev Template
Stack agentcore-gitops-dev (aws://111111111111/us-east-1)
IAM Statement Changes
┌───┬──────────────┬────────┬────────────────┬───────────┐
│   │ Resource     │ Effect │ Action         │ Principal │
├───┼──────────────┼────────┼────────────────┼───────────┤
│ + │ \${Topic.Arn} │ Allow  │ sns:Publish    │ AWS:*     │
└───┴──────────────┴────────┴────────────────┴───────────┘
(NOTE: There may be security-related changes not in this list. See https://github.com/aws/aws-cdk/issues/1299)

Resources
[+] AWS::SNS::Topic Extra/Topic ExtraTopic1234
[-] AWS::CloudWatch::Dashboard Dashboard Dashboard9E4231ED destroy
[~] AWS::Cognito::UserPool UserPool UserPool6BA7E5F2 replace
 └─ [~] UserPoolName (requires replacement)
     ├─ [-] old-pool
     └─ [+] new-pool
[~] AWS::CloudWatch::Alarm Alarm-latency AlarmlatencyA1B2C3D4
 ├─ [~] AlarmDescription
 │   ├─ [-] p95 above 1 ms
 │   └─ [+] p95 above 2 ms
 └─ [~] Threshold
     ├─ [-] 1
     └─ [+] 2


Stack agentcore-gitops-shared (aws://111111111111/us-east-1)
There were no differences

✨  Number of stacks with differences: 1
`;

describe('parseCdkDiff', () => {
  const [dev, shared] = parseCdkDiff(OUTPUT);

  it('splits stacks and reads each resource change with its properties', () => {
    expect(dev.stack).toBe('agentcore-gitops-dev');
    expect(shared).toMatchObject({ stack: 'agentcore-gitops-shared', resources: [] });
    expect(dev.resources.map((r) => [r.action, r.type, r.path, r.logicalId])).toEqual([
      ['added', 'AWS::SNS::Topic', 'Extra/Topic', 'ExtraTopic1234'],
      ['removed', 'AWS::CloudWatch::Dashboard', 'Dashboard', 'Dashboard9E4231ED'],
      ['replaced', 'AWS::Cognito::UserPool', 'UserPool', 'UserPool6BA7E5F2'],
      ['changed', 'AWS::CloudWatch::Alarm', 'Alarm-latency', 'AlarmlatencyA1B2C3D4'],
    ]);
    expect(dev.resources[2].properties).toEqual([
      { name: 'UserPoolName', replacement: 'requires replacement', from: 'old-pool', to: 'new-pool' },
    ]);
    expect(dev.resources[3].properties).toEqual([
      { name: 'AlarmDescription', from: 'p95 above 1 ms', to: 'p95 above 2 ms' },
      { name: 'Threshold', from: '1', to: '2' },
    ]);
    expect(countByAction(dev)).toEqual({
      added: 1,
      changed: 1,
      replaced: 1,
      'may be replaced': 0,
      removed: 1,
    });
  });

  it('keeps the IAM table as the formatter printed it and calls it out in the comment', () => {
    expect(dev.iam).toContain('sns:Publish');
    expect(dev.iam?.startsWith('IAM Statement Changes')).toBe(true);
    expect(dev.securityGroups).toBeUndefined();
    const comment = renderDiffComment([dev, shared], {
      sha: '0123456789abcdef0123456789abcdef01234567',
      skipped: [
        { account: '222222222222', stacks: ['agentcore-gitops-prod'], reason: 'no credentials for it' },
      ],
      failed: [{ account: '333333333333', stacks: ['other'], reason: 'exit 1: AccessDenied' }],
    });
    expect(comment).toContain('`agentcore-gitops-dev`: 1 added, 1 changed, 1 replaced, 1 removed');
    expect(comment).toContain('**IAM changes**');
    expect(comment).toContain('`agentcore-gitops-shared`: no changes');
    expect(comment).toContain('`agentcore-gitops-prod` (account 222222222222): ⚠️ not diffed');
    expect(comment).toContain('`other` (account 333333333333): ❌ diff failed');
    expect(comment).not.toContain('Number of stacks');
  });
});

describe('diffStacks: one account at a time, with that account’s credentials', () => {
  const accounts = [
    {
      account: '111111111111',
      region: 'us-east-1',
      stacks: ['agentcore-gitops-shared', 'agentcore-gitops-dev'],
    },
    {
      account: '222222222222',
      region: 'us-east-1',
      stacks: ['agentcore-gitops-shared-222222222222', 'agentcore-gitops-prod'],
    },
  ];
  const noDifferences = (stacks: string[]) =>
    stacks.map((s) => `Stack ${s} (aws://x/us-east-1)\nThere were no differences\n`).join('\n');

  it('synthesizes once, then diffs each account’s stacks from that assembly with its own variables', async () => {
    const calls: { args: string[]; env?: Record<string, string> }[] = [];
    const result = await diffStacks({
      accounts,
      assembly: '/tmp/out',
      access: async (a) => ({ env: { AWS_ACCESS_KEY_ID: `key-${a.account}` } }),
      cdk: async (args, env) => {
        calls.push({ args, env });
        const stacks = args.filter((a) => a.startsWith('agentcore'));
        return { output: args[0] === 'synth' ? '' : noDifferences(stacks), exitCode: 0 };
      },
    });
    expect(calls.map((c) => c.args[0])).toEqual(['synth', 'diff', 'diff']);
    expect(calls[1].args).toEqual([
      'diff',
      '--app',
      '/tmp/out',
      '--no-color',
      '--method',
      'template',
      '--exclusively',
      ...accounts[0].stacks,
    ]);
    expect(calls.slice(1).map((c) => c.env?.AWS_ACCESS_KEY_ID)).toEqual([
      'key-111111111111',
      'key-222222222222',
    ]);
    expect(result.diffs.map((d) => [d.stack, d.changed])).toEqual(
      accounts.flatMap((a) => a.stacks.map((s) => [s, false])),
    );
    expect(result.failed).toEqual([]);
  });

  it('reports an account without credentials as skipped and a failing account as failed, and still diffs the rest', async () => {
    const result = await diffStacks({
      accounts: [...accounts, { account: '333333333333', region: 'us-east-1', stacks: ['third'] }],
      assembly: '/tmp/out',
      access: async (a) => (a.account === '222222222222' ? { skip: 'no role' } : { env: {} }),
      cdk: async (args) => {
        if (args[0] === 'synth') return { output: '', exitCode: 0 };
        if (args.includes('third'))
          return { output: 'AccessDenied: cloudformation:GetTemplate', exitCode: 1 };
        return { output: noDifferences(accounts[0].stacks), exitCode: 0 };
      },
    });
    expect(result.diffs.map((d) => d.stack)).toEqual(accounts[0].stacks);
    expect(result.skipped).toEqual([
      { account: '222222222222', stacks: accounts[1].stacks, reason: 'no role' },
    ]);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]).toMatchObject({ account: '333333333333', stacks: ['third'] });
    expect(result.failed[0].reason).toContain('AccessDenied: cloudformation:GetTemplate');
  });

  it('fails when the app does not synthesize', async () => {
    await expect(
      diffStacks({
        accounts,
        assembly: '/tmp/out',
        access: async () => ({ env: {} }),
        cdk: async () => ({ output: 'ValidationError: bad yaml', exitCode: 1 }),
      }),
    ).rejects.toThrow(/cdk synth failed.*\n.*bad yaml/);
  });
});

describe('drift report', () => {
  const [dev, shared] = parseCdkDiff(OUTPUT);

  it('a stack the CLI reports "no differences" for is in sync; any other is drifted', () => {
    expect([dev.changed, shared.changed]).toEqual([true, false]);
    const report = driftReport({
      diffs: [dev, shared],
      skipped: [],
      failed: [{ account: '222222222222', stacks: ['agentcore-gitops-prod'], reason: 'exit 1' }],
    });
    expect(report.drifted.map((d) => d.stack)).toEqual(['agentcore-gitops-dev']);
    expect(report.inSync).toEqual(['agentcore-gitops-shared']);
    expect(driftHeadline(report)).toMatch(/^drift: agentcore-gitops-dev differ from main/);
    const summary = renderDriftSummary(report, { sha: 'f'.repeat(40) });
    expect(summary).toContain('> [!CAUTION]');
    expect(summary).toContain('#### `agentcore-gitops-dev`: drifted');
    expect(summary).toContain('`Threshold`: 1 → 2');
    expect(summary).toContain('`agentcore-gitops-prod` (account 222222222222): ⚠️ not checked');
    expect(driftHeadline(driftReport({ diffs: [shared], skipped: [], failed: [] }))).toBe(
      'no drift: all 1 stacks match main',
    );
  });
});
