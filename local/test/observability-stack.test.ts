import {
  CloudFormationClient,
  CreateChangeSetCommand,
  ExecuteChangeSetCommand,
} from '@aws-sdk/client-cloudformation';
import {
  GetIndexingRulesCommand,
  GetTraceSegmentDestinationCommand,
  PutResourcePolicyCommand,
  UpdateTraceSegmentDestinationCommand,
  XRayClient,
} from '@aws-sdk/client-xray';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { allow, clientFor, putRole } from './helpers/iam';

/**
 * What the stacks' observability resources do in the twin: Transaction Search (one per account),
 * CloudWatch Logs log groups and resource policies, vended-log deliveries, X-Ray resource policies,
 * each through CloudFormation as `cdk deploy` drives it, and under a service role as the CDK
 * bootstrap's execution role.
 */
const account = '123456789012';
const region = 'us-east-1';
const runtimeArn = `arn:aws:bedrock-agentcore:${region}:${account}:runtime/agent_dev-abcdefghij`;

/** The Logs resource policy of CloudWatch-Transaction-Search-Cloudformation.html. */
const transactionSearchPolicy = (name = 'TransactionSearchAccess') => ({
  Type: 'AWS::Logs::ResourcePolicy',
  Properties: {
    PolicyName: name,
    PolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'TransactionSearchXRayAccess',
          Effect: 'Allow',
          Principal: { Service: 'xray.amazonaws.com' },
          Action: 'logs:PutLogEvents',
          Resource: [
            `arn:aws:logs:${region}:${account}:log-group:aws/spans:*`,
            `arn:aws:logs:${region}:${account}:log-group:/aws/application-signals/data:*`,
          ],
        },
      ],
    }),
  },
});
const transactionSearch = (dependsOn?: string) => ({
  Type: 'AWS::XRay::TransactionSearchConfig',
  ...(dependsOn && { DependsOn: dependsOn }),
  Properties: { IndexingPercentage: 5 },
});

let twin: Twin;
let cfn: CloudFormationClient;
let xray: XRayClient;
beforeAll(async () => {
  twin = await startTwin({ accountId: account, agentcore: { logAgentOutput: false } });
  cfn = new CloudFormationClient(clientFor(twin));
  xray = new XRayClient(clientFor(twin));
});
afterAll(() => twin.close());

async function deploy(stackName: string, resources: object, roleArn?: string) {
  const created = await cfn.send(
    new CreateChangeSetCommand({
      StackName: stackName,
      ChangeSetName: 'cs',
      ChangeSetType: 'CREATE',
      TemplateBody: JSON.stringify({ Resources: resources }),
      RoleARN: roleArn,
    }),
  );
  await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: created.Id }));
  await twin.cloudformation.settled();
  return twin.cloudformation.stack(stackName)!;
}
const failure = (s: {
  events: { ResourceStatus?: string; LogicalResourceId?: string; ResourceStatusReason?: string }[];
}) => s.events.find((e) => e.ResourceStatus === 'CREATE_FAILED');

describe('Transaction Search through CloudFormation (one per account)', () => {
  it('X-Ray refuses the CloudWatch Logs destination until a Logs resource policy lets it write aws/spans', async () => {
    await expect(
      xray.send(new UpdateTraceSegmentDestinationCommand({ Destination: 'CloudWatchLogs' })),
    ).rejects.toThrow(/not allowed to write to the aws\/spans log group/);
    expect(await xray.send(new GetTraceSegmentDestinationCommand({}))).toMatchObject({
      Destination: 'XRay',
    });
  });

  it('the resource policy and then TransactionSearchConfig turn it on: CloudWatchLogs, aws/spans, the indexing rule', async () => {
    const s = await deploy('search-on', {
      Policy: transactionSearchPolicy(),
      Search: transactionSearch('Policy'),
    });
    expect(s.StackStatus).toBe('CREATE_COMPLETE');
    expect(await xray.send(new GetTraceSegmentDestinationCommand({}))).toMatchObject({
      Destination: 'CloudWatchLogs',
      Status: 'ACTIVE',
    });
    expect(twin.logs.logGroup('aws/spans')).toBeDefined();
    const rules = await xray.send(new GetIndexingRulesCommand({}));
    expect(rules.IndexingRules).toEqual([
      expect.objectContaining({ Name: 'Default', Rule: { Probabilistic: { DesiredSamplingPercentage: 5 } } }),
    ]);
  });

  it('a second TransactionSearchConfig in the account fails with AlreadyExists and its stack rolls back', async () => {
    const s = await deploy('search-again', {
      Policy: transactionSearchPolicy('SecondPolicy'),
      Search: transactionSearch('Policy'),
    });
    expect(s.StackStatus).toBe('ROLLBACK_COMPLETE');
    const failed = failure(s)!;
    expect(failed.LogicalResourceId).toBe('Search');
    // AWS's handler says no more than this ("null"); docs/infra.md says what to do.
    expect(failed.ResourceStatusReason).toBe(
      'Resource handler returned message: "null" (HandlerErrorCode: AlreadyExists)',
    );
    // The rollback removed the policy this stack created; the first stack's Transaction Search stays on.
    expect(twin.logs.resourcePolicies()).not.toHaveProperty('SecondPolicy');
    expect((await xray.send(new GetTraceSegmentDestinationCommand({}))).Destination).toBe('CloudWatchLogs');
  });
});

describe('log groups and resource policies: CloudWatch Logs’ limits', () => {
  it('RetentionInDays must be one of CloudWatch Logs’ periods; a taken name is AlreadyExists', async () => {
    const ok = await deploy('groups', {
      G: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/app/logs', RetentionInDays: 30 } },
    });
    expect(ok.StackStatus).toBe('CREATE_COMPLETE');
    expect(twin.logs.logGroup('/app/logs')).toMatchObject({ retentionInDays: 30 });
    const odd = await deploy('groups-odd', {
      G: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/app/odd', RetentionInDays: 31 } },
    });
    expect(failure(odd)!.ResourceStatusReason).toMatch(
      /Value '31' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set/,
    );
    const taken = await deploy('groups-taken', {
      G: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/app/logs' } },
    });
    expect(failure(taken)!.ResourceStatusReason).toBe(
      `Resource handler returned message: "Resource of type 'AWS::Logs::LogGroup' with identifier '/app/logs' already exists." (HandlerErrorCode: AlreadyExists)`,
    );
  });

  it('at most 10 Logs resource policies per account and region; X-Ray at most 5', async () => {
    const existing = Object.keys(twin.logs.resourcePolicies()).length;
    const many = Object.fromEntries(
      Array.from({ length: 11 - existing }, (_, i) => [`P${i}`, transactionSearchPolicy(`extra-${i}`)]),
    );
    const s = await deploy('too-many-policies', many);
    expect(s.StackStatus).toBe('ROLLBACK_COMPLETE');
    expect(failure(s)!.ResourceStatusReason).toBe('Resource limit exceeded.');
    const doc = JSON.stringify(allow(['xray:PutTraceSegments']));
    for (let i = 0; i < 5; i++)
      await xray.send(new PutResourcePolicyCommand({ PolicyName: `p${i}`, PolicyDocument: doc }));
    await expect(
      xray.send(new PutResourcePolicyCommand({ PolicyName: 'p5', PolicyDocument: doc })),
    ).rejects.toMatchObject({ name: 'PolicyCountLimitExceededException' });
  });
});

describe('vended-log deliveries of a runtime', () => {
  const source = (name: string, logType: string, arn = runtimeArn) => ({
    Type: 'AWS::Logs::DeliverySource',
    Properties: { Name: name, LogType: logType, ResourceArn: arn },
  });
  const delivery = (source: string, destination: string) => ({
    Type: 'AWS::Logs::Delivery',
    Properties: {
      DeliverySourceName: { Ref: source },
      DeliveryDestinationArn: { 'Fn::GetAtt': [destination, 'Arn'] },
    },
  });

  it('spans to X-Ray and application logs to a log group, as the Runtime construct wires them', async () => {
    const s = await deploy('deliveries', {
      Group: {
        Type: 'AWS::Logs::LogGroup',
        Properties: { LogGroupName: '/app/runtime', RetentionInDays: 7 },
      },
      TracesSource: source('rt-traces', 'TRACES'),
      TracesDest: {
        Type: 'AWS::Logs::DeliveryDestination',
        Properties: { Name: 'rt-xray', DeliveryDestinationType: 'XRAY' },
      },
      Traces: delivery('TracesSource', 'TracesDest'),
      LogsSource: source('rt-logs', 'APPLICATION_LOGS'),
      LogsDest: {
        Type: 'AWS::Logs::DeliveryDestination',
        Properties: {
          Name: 'rt-cwl',
          DeliveryDestinationType: 'CWL',
          DestinationResourceArn: { 'Fn::GetAtt': ['Group', 'Arn'] },
        },
      },
      Logs: delivery('LogsSource', 'LogsDest'),
    });
    expect(s.StackStatus).toBe('CREATE_COMPLETE');
    expect(
      twin.logs
        .deliveries()
        .map((d) => [d.deliverySourceName, d.deliveryDestinationType])
        .sort(),
    ).toEqual([
      ['rt-logs', 'CWL'],
      ['rt-traces', 'XRAY'],
    ]);
  });

  it('refuses a log type the resource does not deliver, and spans sent to a log group', async () => {
    const badType = await deploy('bad-log-type', { S: source('rt-vpc', 'VPC_FLOW_LOGS') });
    expect(failure(badType)!.ResourceStatusReason).toMatch(
      /Log type VPC_FLOW_LOGS is not supported for runtime resources of bedrock-agentcore: use one of APPLICATION_LOGS, USAGE_LOGS, TRACES/,
    );
    const misrouted = await deploy('misrouted', {
      Group: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/app/spans-here' } },
      S: source('rt-traces-2', 'TRACES'),
      D: {
        Type: 'AWS::Logs::DeliveryDestination',
        Properties: { Name: 'to-cwl', DestinationResourceArn: { 'Fn::GetAtt': ['Group', 'Arn'] } },
      },
      L: delivery('S', 'D'),
    });
    expect(failure(misrouted)!.ResourceStatusReason).toMatch(
      /A TRACES delivery source cannot deliver to a CWL destination: traces go to XRAY/,
    );
  });

  it('under the execution role: the delivery source needs AgentCore’s AllowVendedLogDeliveryForResource', async () => {
    const role = `arn:aws:iam::${account}:role/logs-only-cfn`;
    await putRole(
      twin,
      role,
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'cloudformation.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      },
      { inline: { logs: allow(['logs:PutDeliverySource', 'logs:DeleteDeliverySource']) } },
    );
    const s = await deploy('no-vended-permission', { S: source('rt-denied', 'APPLICATION_LOGS') }, role);
    expect(s.StackStatus).toBe('ROLLBACK_COMPLETE');
    expect(failure(s)!.ResourceStatusReason).toMatch(
      /assumed-role\/logs-only-cfn\/AWSCloudFormation is not authorized to perform: bedrock-agentcore:AllowVendedLogDeliveryForResource.*\(HandlerErrorCode: AccessDenied\)/,
    );
    expect(twin.logs.deliverySource('rt-denied')).toBeUndefined();
  });
});
