import {
  CloudFormationClient,
  CreateChangeSetCommand,
  ExecuteChangeSetCommand,
} from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkRules,
  creationOrder,
  evaluateConditions,
  resolve,
  resolveDynamicReferences,
  resolveParameters,
  type Scope,
  type Template,
} from '../src/services/cloudformation-template';
import { parseQueryInput } from '../src/services/aws-query';
import { startTwin, type Twin } from '../src/twin';
import { clientFor, putRole, sigv4Header } from './helpers/iam';
import { clientConfig } from './image-fixture';

const scope = (over: Partial<Scope> = {}): Scope => ({
  refs: { Env: 'dev', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '111111111111', List: ['a', 'b'] },
  conditions: { IsDev: true, IsProd: false },
  resourceRef: (id) => `phys-${id}`,
  getAtt: (id, attr) => `${id}.${attr}-value`,
  importValue: (name) => `imported-${name}`,
  ...over,
});

describe('CloudFormation intrinsic functions', () => {
  it('Fn::Sub resolves parameters, pseudo parameters, resources, attributes, its variable map and ${!literals}', () => {
    expect(
      resolve(
        { 'Fn::Sub': 'arn:${AWS::Region}:${AWS::AccountId}:${Env}/${Bucket}/${Role.Arn}/${!Keep}' },
        scope(),
      ),
    ).toBe('arn:us-east-1:111111111111:dev/phys-Bucket/Role.Arn-value/${Keep}');
    expect(resolve({ 'Fn::Sub': ['${X}-${Env}', { X: { Ref: 'Thing' } }] }, scope())).toBe('phys-Thing-dev');
  });

  it('Fn::Join, Fn::Select, Fn::Split, Fn::ImportValue and Fn::GetAtt in both forms', () => {
    expect(resolve({ 'Fn::Join': ['/', ['x', { Ref: 'Env' }, { 'Fn::GetAtt': 'Pool.Arn' }]] }, scope())).toBe(
      'x/dev/Pool.Arn-value',
    );
    expect(resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] }, scope())).toBe('b');
    expect(resolve({ 'Fn::Select': [0, { Ref: 'List' }] }, scope())).toBe('a');
    expect(resolve({ 'Fn::ImportValue': { 'Fn::Sub': '${Env}:Id' } }, scope())).toBe('imported-dev:Id');
    expect(() => resolve({ 'Fn::Select': [5, ['a']] }, scope())).toThrow(/cannot select index 5/);
  });

  it('Fn::If picks a branch by condition and AWS::NoValue removes the property or list item', () => {
    const value = {
      A: { 'Fn::If': ['IsDev', 'dev-value', 'other'] },
      B: { 'Fn::If': ['IsProd', 'prod-only', { Ref: 'AWS::NoValue' }] },
      C: ['keep', { 'Fn::If': ['IsProd', 'x', { Ref: 'AWS::NoValue' }] }],
    };
    expect(resolve(value, scope())).toEqual({ A: 'dev-value', C: ['keep'] });
    expect(() => resolve({ 'Fn::If': ['Nope', 1, 2] }, scope())).toThrow(/Unresolved condition: Nope/);
  });

  it('conditions combine Fn::Equals, Fn::Not, Fn::And, Fn::Or and refer to each other', () => {
    const template: Template = {
      Resources: {},
      Conditions: {
        IsDev: { 'Fn::Equals': [{ Ref: 'Env' }, 'dev'] },
        NotDev: { 'Fn::Not': [{ Condition: 'IsDev' }] },
        Both: { 'Fn::And': [{ Condition: 'IsDev' }, { 'Fn::Or': [{ Condition: 'NotDev' }, true] }] },
      },
    };
    expect(evaluateConditions(template, scope())).toEqual({ IsDev: true, NotDev: false, Both: true });
  });

  it('rules fail with their AssertDescription (the CDK bootstrap version check)', () => {
    const template: Template = {
      Resources: {},
      Rules: {
        CheckBootstrapVersion: {
          Assertions: [
            {
              Assert: {
                'Fn::Not': [{ 'Fn::Contains': [['1', '2', '3', '4', '5'], { Ref: 'BootstrapVersion' }] }],
              },
              AssertDescription: "CDK bootstrap stack version 6 required. Please run 'cdk bootstrap'",
            },
          ],
        },
      },
    };
    const at = (v: string) => scope({ refs: { BootstrapVersion: v } });
    expect(() => checkRules(template, at('5'))).toThrow(/version 6 required/);
    expect(() => checkRules(template, at('30'))).not.toThrow();
  });

  it('orders resources by DependsOn and by the references in their properties, and rejects cycles', () => {
    const order = creationOrder({
      Endpoint: { Type: 'T', Properties: { Runtime: { 'Fn::GetAtt': ['Runtime', 'Id'] } } },
      Runtime: { Type: 'T', DependsOn: 'Policy', Properties: { Role: { 'Fn::Sub': '${Role.Arn}' } } },
      Policy: { Type: 'T', Properties: { Roles: [{ Ref: 'Role' }] } },
      Role: { Type: 'T' },
    });
    expect(order).toEqual(['Role', 'Policy', 'Runtime', 'Endpoint']);
    expect(() =>
      creationOrder({ A: { Type: 'T', DependsOn: 'B' }, B: { Type: 'T', Properties: { X: { Ref: 'A' } } } }),
    ).toThrow(/Circular dependency/);
  });

  it('parameters: defaults, previous values, SSM parameter types resolved, missing ones named', () => {
    const template: Template = {
      Resources: {},
      Parameters: {
        BootstrapVersion: {
          Type: 'AWS::SSM::Parameter::Value<String>',
          Default: '/cdk-bootstrap/hnb659fds/version',
        },
        Size: { Type: 'Number', Default: 1 },
        Name: { Type: 'String' },
      },
    };
    const ssm = (name: string) => (name === '/cdk-bootstrap/hnb659fds/version' ? '30' : undefined);
    const out = resolveParameters(
      template,
      [{ ParameterKey: 'Name', UsePreviousValue: true }],
      { Name: 'old' },
      ssm,
    );
    expect(out).toEqual({
      values: { BootstrapVersion: '/cdk-bootstrap/hnb659fds/version', Size: '1', Name: 'old' },
      resolved: { BootstrapVersion: '30' },
    });
    expect(() => resolveParameters(template, [], {}, ssm)).toThrow(/\[Name\] must have values/);
    expect(() =>
      resolveParameters(
        template,
        [
          { ParameterKey: 'Name', ParameterValue: 'x' },
          { ParameterKey: 'BootstrapVersion', ParameterValue: '/missing' },
        ],
        {},
        ssm,
      ),
    ).toThrow(/Unable to fetch parameters \[\/missing\]/);
  });

  it('dynamic references {{resolve:ssm:...}} are substituted, and a missing parameter is named', () => {
    const ssm = (name: string, version?: number) =>
      name === '/app/image' ? `uri${version ? `@v${version}` : ''}` : undefined;
    expect(
      resolveDynamicReferences({ A: ['x-{{resolve:ssm:/app/image}}', '{{resolve:ssm:/app/image:2}}'] }, ssm),
    ).toEqual({
      A: ['x-uri', 'uri@v2'],
    });
    expect(() => resolveDynamicReferences('{{resolve:ssm:/nope}}', ssm)).toThrow(/\/nope not found/);
  });

  it('awsQuery input: nested members, lists of structures and empty lists', () => {
    const body = Buffer.from(
      'Action=CreateChangeSet&StackName=s&Parameters.member.1.ParameterKey=A&Parameters.member.1.ParameterValue=1' +
        '&Capabilities.member.1=CAPABILITY_IAM&Capabilities.member.2=CAPABILITY_NAMED_IAM&Tags=',
    );
    expect(parseQueryInput(body)).toEqual({
      StackName: 's',
      Parameters: [{ ParameterKey: 'A', ParameterValue: '1' }],
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      Tags: '',
    });
  });
});

/** The CloudFormation API over its wire protocol, as the account admin (the CLI test uses the real SDK). */
async function cfn(twin: Twin, action: string, params: Record<string, string>) {
  const res = await fetch(twin.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: sigv4Header(twin, 'cloudformation'),
    },
    body: new URLSearchParams({ Action: action, Version: '2010-05-15', ...params }),
  });
  const text = await res.text();
  if (!res.ok)
    throw new Error(/<Code>(.*?)<\/Code><Message>(.*?)<\/Message>/.exec(text)?.slice(1).join(': ') ?? text);
  return text;
}

describe('CloudFormation stacks in the twin', () => {
  let twin: Twin;
  let ssm: SSMClient;
  beforeAll(async () => {
    twin = await startTwin({ agentcore: { logAgentOutput: false } });
    ssm = new SSMClient(clientConfig(twin));
  });
  afterAll(() => twin.close());

  async function deploy(stackName: string, template: object, type: 'CREATE' | 'UPDATE') {
    const created = await cfn(twin, 'CreateChangeSet', {
      StackName: stackName,
      ChangeSetName: 'cs',
      ChangeSetType: type,
      TemplateBody: JSON.stringify(template),
    });
    const id = /<Id>(.*?)<\/Id>/.exec(created)![1];
    const described = await cfn(twin, 'DescribeChangeSet', { ChangeSetName: id });
    const status = /<Status>(.*?)<\/Status>/.exec(described)![1];
    if (status !== 'CREATE_COMPLETE') return { described, status };
    await cfn(twin, 'ExecuteChangeSet', { ChangeSetName: id });
    await twin.cloudformation.settled();
    return { described, status };
  }

  const parameter = (name: string, value: string) => ({
    Type: 'AWS::SSM::Parameter',
    Properties: { Name: name, Type: 'String', Value: value },
  });
  const value = async (name: string) =>
    ssm
      .send(new GetParameterCommand({ Name: name }))
      .then((r) => r.Parameter!.Value)
      .catch((e: Error) => e.name);

  it('an unknown resource type fails the change set and names the type', async () => {
    const { status, described } = await deploy(
      'unknown-type',
      { Resources: { Q: { Type: 'AWS::SQS::Queue' } } },
      'CREATE',
    );
    expect(status).toBe('FAILED');
    expect(described).toContain('Unrecognized resource types: [AWS::SQS::Queue]');
  });

  it('a failing resource rolls the stack back: what was created is deleted and the events say why', async () => {
    await deploy(
      'rolls-back',
      {
        Resources: {
          First: parameter('/rollback/first', 'one'),
          // Upper-case letters are not allowed in repository names: ECR refuses, the stack rolls back.
          Repo: {
            Type: 'AWS::ECR::Repository',
            DependsOn: 'First',
            Properties: { RepositoryName: 'Not_Valid' },
          },
        },
      },
      'CREATE',
    );
    const s = twin.cloudformation.stack('rolls-back')!;
    expect(s.StackStatus).toBe('ROLLBACK_COMPLETE');
    const rollback = s.events.find((e) => e.ResourceStatus === 'ROLLBACK_IN_PROGRESS')!;
    expect(rollback.ResourceStatusReason).toBe(
      'The following resource(s) failed to create: [Repo]. Rollback requested by user.',
    );
    const failed = s.events.find((e) => e.ResourceStatus === 'CREATE_FAILED')!;
    expect(failed.LogicalResourceId).toBe('Repo');
    // ECR's own wording: it names the member and the constraint, not the value.
    expect(failed.ResourceStatusReason).toMatch(
      /Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression/,
    );
    expect(s.events.map((e) => `${e.LogicalResourceId}:${e.ResourceStatus}`)).toEqual([
      'rolls-back:REVIEW_IN_PROGRESS',
      'rolls-back:CREATE_IN_PROGRESS',
      'First:CREATE_IN_PROGRESS',
      'First:CREATE_COMPLETE',
      'Repo:CREATE_IN_PROGRESS',
      'Repo:CREATE_FAILED',
      'rolls-back:ROLLBACK_IN_PROGRESS',
      'First:DELETE_IN_PROGRESS',
      'First:DELETE_COMPLETE',
      'rolls-back:ROLLBACK_COMPLETE',
    ]);
    expect(await value('/rollback/first')).toBe('ParameterNotFound');
  });

  it('updates in place where CloudFormation does, replaces where a property requires it, and reports which', async () => {
    await deploy('updates', { Resources: { P: parameter('/update/a', 'v1') } }, 'CREATE');
    // Value: "Update requires: No interruption".
    const inPlace = await deploy('updates', { Resources: { P: parameter('/update/a', 'v2') } }, 'UPDATE');
    expect(inPlace.described).toMatch(/<Action>Modify<\/Action>.*<Replacement>False<\/Replacement>/);
    expect(await value('/update/a')).toBe('v2');
    // Name: "Update requires: Replacement" — the new parameter is created, then the old one deleted.
    const replaced = await deploy('updates', { Resources: { P: parameter('/update/b', 'v2') } }, 'UPDATE');
    expect(replaced.described).toContain('<Replacement>True</Replacement>');
    expect(replaced.described).toContain('<Name>Name</Name><RequiresRecreation>Always</RequiresRecreation>');
    expect(await value('/update/b')).toBe('v2');
    expect(await value('/update/a')).toBe('ParameterNotFound');
    expect(twin.cloudformation.stack('updates')!.StackStatus).toBe('UPDATE_COMPLETE');
    const unchanged = await deploy('updates', { Resources: { P: parameter('/update/b', 'v2') } }, 'UPDATE');
    expect(unchanged.status).toBe('FAILED');
    expect(unchanged.described).toContain('The submitted information didn&apos;t contain changes.');
  });

  it('exports feed Fn::ImportValue, and an export in use cannot be deleted', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/exports/source', Value: 'from-ssm', Type: 'String' }));
    await deploy(
      'exporter',
      {
        Parameters: { Source: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/exports/source' } },
        Resources: { P: parameter('/exports/p', '{{resolve:ssm:/exports/source}}') },
        Outputs: { Name: { Value: { 'Fn::Sub': '${P}|${Source}' }, Export: { Name: 'shared-name' } } },
      },
      'CREATE',
    );
    expect(await value('/exports/p')).toBe('from-ssm');
    await deploy(
      'importer',
      { Resources: { P: parameter('/exports/imported', { 'Fn::ImportValue': 'shared-name' } as never) } },
      'CREATE',
    );
    expect(await value('/exports/imported')).toBe('/exports/p|from-ssm');
    await expect(cfn(twin, 'DeleteStack', { StackName: 'exporter' })).rejects.toThrow(
      'ValidationError: Export shared-name cannot be deleted as it is in use by importer',
    );
    await cfn(twin, 'DeleteStack', { StackName: 'importer' });
    await twin.cloudformation.settled();
    expect(await value('/exports/imported')).toBe('ParameterNotFound');
    await expect(cfn(twin, 'DescribeStacks', { StackName: 'importer' })).rejects.toThrow(
      'ValidationError: Stack with id importer does not exist',
    );
  });
});

/**
 * A stack's service role (the CDK bootstrap's execution role): CloudFormation makes every call of the
 * stack's resources with that role's credentials, and whoever names the role must be allowed to pass
 * it (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html).
 */
describe('CloudFormation runs changes under the stack’s service role', () => {
  const account = '123456789012';
  const execRole = `arn:aws:iam::${account}:role/scoped-cfn-exec`;
  let twin: Twin;
  let cfnAdmin: CloudFormationClient;
  beforeAll(async () => {
    twin = await startTwin({ accountId: account, agentcore: { logAgentOutput: false } });
    cfnAdmin = new CloudFormationClient(clientFor(twin));
    await putRole(
      twin,
      execRole,
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
      {
        inline: {
          scoped: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['ssm:PutParameter', 'ssm:GetParameter', 'ssm:DeleteParameter'],
                Resource: `arn:aws:ssm:us-east-1:${account}:parameter/scoped/*`,
              },
            ],
          },
        },
      },
    );
  });
  afterAll(() => twin.close());

  const parameter = (name: string) => ({
    Type: 'AWS::SSM::Parameter',
    Properties: { Name: name, Type: 'String', Value: 'v' },
  });
  async function deploy(
    client: CloudFormationClient,
    stackName: string,
    resources: object,
    roleArn?: string,
  ) {
    const created = await client.send(
      new CreateChangeSetCommand({
        StackName: stackName,
        ChangeSetName: 'cs',
        ChangeSetType: 'CREATE',
        TemplateBody: JSON.stringify({ Resources: resources }),
        RoleARN: roleArn,
      }),
    );
    await client.send(new ExecuteChangeSetCommand({ ChangeSetName: created.Id }));
    await twin.cloudformation.settled();
    return twin.cloudformation.stack(stackName)!;
  }
  const ssmValue = (name: string) =>
    new SSMClient(clientConfig(twin))
      .send(new GetParameterCommand({ Name: name }))
      .then((r) => r.Parameter!.Value)
      .catch((e: Error) => e.name);

  it('a resource the role may not create fails with AccessDenied naming the action, and the stack rolls back', async () => {
    const s = await deploy(
      cfnAdmin,
      'scoped-alarm',
      {
        First: parameter('/scoped/first'),
        // In-process in the twin (CloudWatch alarms): checked against the role all the same.
        Alarm: {
          Type: 'AWS::CloudWatch::Alarm',
          DependsOn: 'First',
          Properties: {
            AlarmName: 'scoped-alarm',
            MetricName: 'Errors',
            Namespace: 'X',
            Statistic: 'Sum',
            Period: 60,
            EvaluationPeriods: 1,
            Threshold: 1,
            ComparisonOperator: 'GreaterThanThreshold',
          },
        },
      },
      execRole,
    );
    expect(s.StackStatus).toBe('ROLLBACK_COMPLETE');
    expect(s.RoleARN).toBe(execRole);
    const failed = s.events.find((e) => e.ResourceStatus === 'CREATE_FAILED')!;
    expect(failed.LogicalResourceId).toBe('Alarm');
    expect(failed.ResourceStatusReason).toContain(
      `User: arn:aws:sts::${account}:assumed-role/scoped-cfn-exec/AWSCloudFormation is not authorized to perform: cloudwatch:PutMetricAlarm`,
    );
    expect(failed.ResourceStatusReason).toContain('(HandlerErrorCode: AccessDenied)');
    // What the role could create was created with its session, and deleted again by the rollback.
    expect(s.events.map((e) => `${e.LogicalResourceId}:${e.ResourceStatus}`)).toContain(
      'First:DELETE_COMPLETE',
    );
    expect(await ssmValue('/scoped/first')).toBe('ParameterNotFound');
    expect(twin.cloudwatch.alarm('scoped-alarm')).toBeUndefined();
  });

  it('calls through the twin’s APIs are signed with the role’s session: outside its policy they are denied', async () => {
    const s = await deploy(cfnAdmin, 'scoped-ssm', { Outside: parameter('/elsewhere/x') }, execRole);
    expect(s.StackStatus).toBe('ROLLBACK_COMPLETE');
    const failed = s.events.find((e) => e.ResourceStatus === 'CREATE_FAILED')!;
    expect(failed.ResourceStatusReason).toMatch(
      /assumed-role\/scoped-cfn-exec\/AWSCloudFormation is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter\/elsewhere\/x/,
    );
    expect(await ssmValue('/elsewhere/x')).toBe('ParameterNotFound');
    // Within the policy the same stack shape succeeds.
    expect((await deploy(cfnAdmin, 'scoped-ok', { P: parameter('/scoped/ok') }, execRole)).StackStatus).toBe(
      'CREATE_COMPLETE',
    );
    expect(await ssmValue('/scoped/ok')).toBe('v');
  });

  it('naming the role needs iam:PassRole on it, and the role must trust CloudFormation', async () => {
    const caller = await putRole(
      twin,
      `arn:aws:iam::${account}:role/stack-operator`,
      {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: account }, Action: 'sts:AssumeRole' }],
      },
      {
        inline: {
          cfn: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'cloudformation:*', Resource: '*' }],
          },
        },
      },
    );
    const session = await new STSClient(clientFor(twin)).send(
      new AssumeRoleCommand({ RoleArn: caller, RoleSessionName: 'operator' }),
    );
    const operator = new CloudFormationClient(
      clientFor(twin, {
        accessKeyId: session.Credentials!.AccessKeyId!,
        secretAccessKey: session.Credentials!.SecretAccessKey!,
        sessionToken: session.Credentials!.SessionToken!,
      }),
    );
    await expect(deploy(operator, 'no-pass', { P: parameter('/scoped/p') }, execRole)).rejects.toThrow(
      `User: arn:aws:sts::${account}:assumed-role/stack-operator/operator is not authorized to perform: iam:PassRole on resource: ${execRole}`,
    );
    const untrusting = await putRole(twin, `arn:aws:iam::${account}:role/not-for-cfn`, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: account }, Action: 'sts:AssumeRole' }],
    });
    await expect(deploy(cfnAdmin, 'bad-role', { P: parameter('/scoped/q') }, untrusting)).rejects.toThrow(
      `Role ${untrusting} is invalid or cannot be assumed`,
    );
  });
});
