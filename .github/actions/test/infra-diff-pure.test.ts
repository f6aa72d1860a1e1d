import { describe, expect, it } from 'vitest';
import { countByAction, parseCdkDiff, renderDiffComment } from '../src/steps/infra-diff';

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
      failed: [{ stack: 'agentcore-gitops-prod', reason: 'in account 222222222222' }],
    });
    expect(comment).toContain('`agentcore-gitops-dev`: 1 added, 1 changed, 1 replaced, 1 removed');
    expect(comment).toContain('**IAM changes**');
    expect(comment).toContain('`agentcore-gitops-shared`: no changes');
    expect(comment).toContain('`agentcore-gitops-prod`: ⚠️ not diffed');
    expect(comment).not.toContain('Number of stacks');
  });
});
