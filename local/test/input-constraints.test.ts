import {
  ApplyGuardrailCommand,
  BedrockRuntimeClient,
  ConverseCommand,
} from '@aws-sdk/client-bedrock-runtime';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CognitoIdentityProviderClient,
  DescribeUserPoolClientCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRClient,
  ListImagesCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import {
  GetParameterHistoryCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig } from './image-fixture';

/** What a rejected SDK call threw: its error code and message. */
const rejection = (call: Promise<unknown>) =>
  call.then(
    () => {
      throw new Error('expected the twin to reject the request');
    },
    (e: Error) => ({ name: e.name, message: e.message }),
  );

// The constraints of AWS's service models (docs/twin.md, "Fidelity: limits and timing"), answered
// with each service's own error code and wording, through the real SDK clients.
describe('model input constraints on the twin', () => {
  let twin: Twin;
  beforeAll(async () => {
    twin = await startTwin();
  });
  afterAll(() => twin.close());

  it('ECR: InvalidParameterException naming the member and its constraint', async () => {
    const ecr = new ECRClient(clientConfig(twin));
    expect(await rejection(ecr.send(new CreateRepositoryCommand({ repositoryName: 'a' })))).toEqual({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must have length greater than or equal to 2'",
    });
    expect(await rejection(ecr.send(new CreateRepositoryCommand({ repositoryName: 'Team/Agent' })))).toEqual({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''",
    });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/agent' }));
    expect(
      await rejection(ecr.send(new ListImagesCommand({ repositoryName: 'team/agent', maxResults: 1001 }))),
    ).toEqual({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'maxResults' failed to satisfy constraint: 'must have value less than or equal to 1000'",
    });
    expect(
      await rejection(ecr.send(new ListImagesCommand({ repositoryName: 'team/agent', registryId: '12345' }))),
    ).toMatchObject({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'registryId' failed to satisfy constraint: 'must satisfy regular expression '[0-9]{12}''",
    });
    expect(
      await rejection(
        ecr.send(
          new PutImageCommand({
            repositoryName: 'team/agent',
            imageManifest: '{}',
            imageTag: 't'.repeat(301),
          }),
        ),
      ),
    ).toMatchObject({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must have length less than or equal to 300'",
    });
    expect(
      await rejection(
        ecr.send(new DescribeImagesCommand({ repositoryName: 'team/agent', imageIds: [{ imageTag: '' }] })),
      ),
    ).toMatchObject({ message: expect.stringContaining("at 'imageIds.1.member.imageTag'") });
    // Within the constraints, the same calls pass.
    expect(
      (await ecr.send(new ListImagesCommand({ repositoryName: 'team/agent', maxResults: 1000 }))).imageIds,
    ).toEqual([]);
  });

  it('SSM: ValidationException with the validation message; name depth and value size as documented', async () => {
    const ssm = new SSMClient(clientConfig(twin));
    expect(await rejection(ssm.send(new GetParametersCommand({ Names: [] })))).toEqual({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1",
    });
    expect(
      await rejection(
        ssm.send(new PutParameterCommand({ Name: '/a/b', Value: 'v', Type: 'Text' as 'String' })),
      ),
    ).toEqual({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value 'Text' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [String, StringList, SecureString]",
    });
    expect(
      await rejection(ssm.send(new GetParameterHistoryCommand({ Name: '/a/b', MaxResults: 51 }))),
    ).toEqual({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50",
    });
    expect(
      await rejection(ssm.send(new PutParameterCommand({ Name: '/a b', Value: 'v', Type: 'String' }))),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/^Parameter name: /) });
    const deep = '/' + Array.from({ length: 16 }, (_, i) => `l${i}`).join('/');
    expect(
      await rejection(ssm.send(new PutParameterCommand({ Name: deep, Value: 'v', Type: 'String' }))),
    ).toMatchObject({ name: 'HierarchyLevelLimitExceededException' });
    expect(
      await rejection(
        ssm.send(new PutParameterCommand({ Name: '/a/b', Value: 'x'.repeat(4097), Type: 'String' })),
      ),
    ).toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(
        /^Standard tier parameters support a maximum parameter value of 4096 characters/,
      ),
    });
    const ok = await ssm.send(
      new PutParameterCommand({
        Name: deep.split('/').slice(0, 16).join('/'),
        Value: 'x'.repeat(4096),
        Type: 'String',
      }),
    );
    expect(ok).toMatchObject({ Version: 1, Tier: 'Standard' });
  });

  it('CloudWatch: ValidationException (query code ValidationError) with the validation message', async () => {
    const cw = new CloudWatchClient(clientConfig(twin));
    twin.cloudwatch.putAlarm({ AlarmName: 'agent-errors' } as Parameters<typeof twin.cloudwatch.putAlarm>[0]);
    expect(await rejection(cw.send(new DescribeAlarmsCommand({ MaxRecords: 101 })))).toEqual({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value '101' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100",
    });
    expect(
      await rejection(cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'a'.repeat(256) }))),
    ).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining(
        "at 'alarmNamePrefix' failed to satisfy constraint: Member must have length less than or equal to 255",
      ),
    });
    expect(
      await rejection(
        cw.send(
          new SetAlarmStateCommand({
            AlarmName: 'agent-errors',
            StateValue: 'BROKEN' as 'OK',
            StateReason: 'x',
          }),
        ),
      ),
    ).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining(
        "Value 'BROKEN' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [OK, ALARM, INSUFFICIENT_DATA]",
      ),
    });
    expect(
      await rejection(
        cw.send(
          new PutMetricDataCommand({ Namespace: ':agent', MetricData: [{ MetricName: 'Errors', Value: 1 }] }),
        ),
      ),
    ).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining(
        "at 'namespace' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:]",
      ),
    });
    expect(
      await rejection(
        cw.send(
          new PutMetricDataCommand({
            Namespace: 'agent',
            MetricData: [{ MetricName: 'Errors', Value: 1, Unit: 'Widgets' as 'Count' }],
          }),
        ),
      ),
    ).toMatchObject({ message: expect.stringContaining("at 'metricData.1.member.unit'") });
    expect(
      (await cw.send(new DescribeAlarmsCommand({ MaxRecords: 100, AlarmNamePrefix: 'agent' }))).MetricAlarms,
    ).toHaveLength(1);
  });

  it('Cognito: InvalidParameterException with the validation message', async () => {
    const idp = new CognitoIdentityProviderClient(clientConfig(twin));
    const describe = (UserPoolId: string, ClientId: string) =>
      idp.send(new DescribeUserPoolClientCommand({ UserPoolId, ClientId }));
    expect(await rejection(describe('us-east-1-nounderscore', 'abc'))).toEqual({
      name: 'InvalidParameterException',
      message:
        "1 validation error detected: Value 'us-east-1-nounderscore' at 'userPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+",
    });
    expect(await rejection(describe(`us-east-1_${'a'.repeat(50)}`, 'a-b'))).toEqual({
      name: 'InvalidParameterException',
      message: `2 validation errors detected: Value 'us-east-1_${'a'.repeat(50)}' at 'userPoolId' failed to satisfy constraint: Member must have length less than or equal to 55; Value 'a-b' at 'clientId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+]+`,
    });
    // Within the constraints, the call reaches the pool lookup.
    expect(await rejection(describe('us-east-1_abc123', 'abc'))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('STS: ValidationError with the validation message', async () => {
    const sts = new STSClient(clientConfig(twin));
    const RoleArn = `arn:aws:iam::${twin.context.accountId}:role/absent`;
    expect(await rejection(sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'a' })))).toEqual({
      name: 'ValidationError',
      message:
        "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
    });
    expect(
      await rejection(
        sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'deploy run', DurationSeconds: 899 })),
      ),
    ).toEqual({
      name: 'ValidationError',
      message:
        "2 validation errors detected: Value 'deploy run' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*; Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    });
    expect(
      await rejection(
        sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: 'arn:aws:iam::1:r/x',
            RoleSessionName: 'ci',
            WebIdentityToken: 'abc',
          }),
        ),
      ),
    ).toEqual({
      name: 'ValidationError',
      message:
        "2 validation errors detected: Value 'arn:aws:iam::1:r/x' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; Value 'abc' at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4",
    });
    // Within the constraints, the request reaches authorization (the role does not exist).
    expect(
      await rejection(
        sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'deploy-run', DurationSeconds: 43200 })),
      ),
    ).toMatchObject({ name: 'AccessDenied' });
  });

  it('Bedrock Runtime: ValidationException with the validation message', async () => {
    const bedrock = new BedrockRuntimeClient(clientConfig(twin));
    const messages = [{ role: 'user' as const, content: [{ text: 'hi' }] }];
    const converse = (modelId: string, temperature?: number) =>
      bedrock.send(new ConverseCommand({ modelId, messages, inferenceConfig: { temperature } }));
    expect(await rejection(converse('m'.repeat(2049)))).toEqual({
      name: 'ValidationException',
      message: `1 validation error detected: Value '${'m'.repeat(2049)}' at 'modelId' failed to satisfy constraint: Member must have length less than or equal to 2048`,
    });
    expect(await rejection(converse('amazon.nova-lite-v1:0', 1.5))).toEqual({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1",
    });
    const apply = (guardrailIdentifier: string, source: string) =>
      bedrock.send(
        new ApplyGuardrailCommand({
          guardrailIdentifier,
          guardrailVersion: '1',
          source: source as 'INPUT',
          content: [{ text: { text: 'hello' } }],
        }),
      );
    expect(await rejection(apply('Local_Guardrail', 'BOTH'))).toEqual({
      name: 'ValidationException',
      message:
        "2 validation errors detected: Value 'Local_Guardrail' at 'guardrailIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+)); Value 'BOTH' at 'source' failed to satisfy constraint: Member must satisfy enum value set: [INPUT, OUTPUT]",
    });
    // Within the constraints, the twin's guardrail answers.
    expect((await apply('localguardrail', 'INPUT')).action).toBe('NONE');
  });
});
