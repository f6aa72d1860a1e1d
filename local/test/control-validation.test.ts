import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
  CreateAgentRuntimeEndpointCommand,
  GetAgentRuntimeCommand,
  ListAgentRuntimeVersionsCommand,
  UpdateAgentRuntimeCommand,
  UpdateAgentRuntimeEndpointCommand,
  type CreateAgentRuntimeCommandInput,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { BedrockAgentCoreClient, InvokeAgentRuntimeCommand } from '@aws-sdk/client-bedrock-agentcore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig, pushFixture } from './image-fixture';

const ROLE = 'arn:aws:iam::123456789012:role/agent-runtime';
const TOKEN = 'a'.repeat(33);

/** The constraints of AWS's service model, answered as AWS does (ValidationException reason + fieldList). */
describe('AgentCore control plane input constraints on the twin', () => {
  let twin: Twin;
  let control: BedrockAgentCoreControlClient;
  let image: string;
  let id: string;
  const base = (name: string): CreateAgentRuntimeCommandInput => ({
    agentRuntimeName: name,
    roleArn: ROLE,
    agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
    networkConfiguration: { networkMode: 'PUBLIC' },
  });
  const fail = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: Error & { reason?: string; fieldList?: { name: string; message: string }[] }) => e,
    );

  beforeAll(async () => {
    twin = await startTwin({ agentcore: { readyDelayMs: 10 } });
    control = new BedrockAgentCoreControlClient(clientConfig(twin));
    image = (await pushFixture(twin, { repository: 'agent', tags: ['v1'] })).imageUri;
    id = (await control.send(new CreateAgentRuntimeCommand(base('valid_rt')))).agentRuntimeId!;
  });
  afterAll(() => twin.close());

  it('reports every violated constraint with reason FieldValidationFailed and a fieldList', async () => {
    const e = await fail(
      control.send(
        new CreateAgentRuntimeCommand({
          ...base('has-hyphen'),
          clientToken: 'too-short',
          networkConfiguration: { networkMode: 'PRIVATE' as 'PUBLIC' },
          lifecycleConfiguration: { idleRuntimeSessionTimeout: 30 },
        }),
      ),
    );
    expect(e.name).toBe('ValidationException');
    expect(e.reason).toBe('FieldValidationFailed');
    expect(e.fieldList?.map((f) => f.name).sort()).toEqual([
      'agentRuntimeName',
      'clientToken',
      'lifecycleConfiguration.idleRuntimeSessionTimeout',
      'networkConfiguration.networkMode',
    ]);
    expect(e.message).toMatch(/^4 validation errors detected: /);
    expect(e.message).toContain(
      "Value 'has-hyphen' at 'agentRuntimeName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}",
    );
    expect(e.message).toContain(
      "Value 'too-short' at 'clientToken' failed to satisfy constraint: Member must have length greater than or equal to 33",
    );
    expect(e.message).toContain('Member must satisfy enum value set: [PUBLIC, VPC]');
    expect(e.message).toContain('Member must have value greater than or equal to 60');
  });

  it('the twin’s further field checks carry the reason too', async () => {
    const e = await fail(
      control.send(
        new CreateAgentRuntimeCommand({
          ...base('jwt_rt'),
          authorizerConfiguration: { customJWTAuthorizer: { discoveryUrl: 'https://issuer.example' } },
        }),
      ),
    );
    expect(e).toMatchObject({ name: 'ValidationException', reason: 'FieldValidationFailed' });
    expect(e.message).toMatch(/discoveryUrl must end in \/\.well-known\/openid-configuration/);
  });

  it('requires networkConfiguration on UpdateAgentRuntime, as the API reference does', async () => {
    const e = await fail(
      control.send(
        new UpdateAgentRuntimeCommand({
          agentRuntimeId: id,
          roleArn: ROLE,
          agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
        }),
      ),
    );
    expect(e.message).toBe(
      "1 validation error detected: Value null at 'networkConfiguration' failed to satisfy constraint: Member must not be null",
    );
  });

  it('validates ids and versions in paths and queries', async () => {
    const badId = await fail(control.send(new GetAgentRuntimeCommand({ agentRuntimeId: 'no_suffix' })));
    expect(badId).toMatchObject({ name: 'ValidationException', reason: 'FieldValidationFailed' });
    expect(badId.fieldList?.[0].name).toBe('agentRuntimeId');
    const badVersion = await fail(
      control.send(new GetAgentRuntimeCommand({ agentRuntimeId: id, agentRuntimeVersion: '0' })),
    );
    expect(badVersion.message).toContain("Value '0' at 'agentRuntimeVersion'");
    const list = await fail(control.send(new ListAgentRuntimeVersionsCommand({ agentRuntimeId: 'x' })));
    expect(list.name).toBe('ValidationException');
    const description = await fail(
      control.send(
        new UpdateAgentRuntimeEndpointCommand({
          agentRuntimeId: id,
          endpointName: 'DEFAULT',
          description: 'd'.repeat(257),
        }),
      ),
    );
    expect(description.message).toContain('Member must have length less than or equal to 256');
  });

  it('InvokeAgentRuntime: a session id shorter than 33 characters is a FieldValidationFailed', async () => {
    const rt = await control.send(new GetAgentRuntimeCommand({ agentRuntimeId: id }));
    const data = new BedrockAgentCoreClient(clientConfig(twin));
    const e = await fail(
      data.send(
        new InvokeAgentRuntimeCommand({
          agentRuntimeArn: rt.agentRuntimeArn,
          runtimeSessionId: 'short-session',
          payload: new TextEncoder().encode('{}'),
        }),
      ),
    );
    expect(e).toMatchObject({ name: 'ValidationException', reason: 'FieldValidationFailed' });
    expect(e.message).toBe(
      "1 validation error detected: Value 'short-session' at 'runtimeSessionId' failed to satisfy constraint: Member must have length greater than or equal to 33",
    );
  });

  it('same client token and body: the original answer; a different body: IdempotentParameterMismatchException', async () => {
    const first = await control.send(
      new CreateAgentRuntimeCommand({ ...base('token_rt'), clientToken: TOKEN }),
    );
    const again = await control.send(
      new CreateAgentRuntimeCommand({ ...base('token_rt'), clientToken: TOKEN }),
    );
    expect(again.agentRuntimeId).toBe(first.agentRuntimeId);
    const changed = await fail(
      control.send(new CreateAgentRuntimeCommand({ ...base('token_rt2'), clientToken: TOKEN })),
    );
    expect(changed).toMatchObject({
      name: 'ValidationException',
      reason: 'IdempotentParameterMismatchException',
    });
    const endpoint = { agentRuntimeId: first.agentRuntimeId, name: 'live', clientToken: `b${TOKEN}` };
    const ep1 = await control.send(new CreateAgentRuntimeEndpointCommand(endpoint));
    const ep2 = await control.send(new CreateAgentRuntimeEndpointCommand(endpoint));
    expect(ep2.agentRuntimeEndpointArn).toBe(ep1.agentRuntimeEndpointArn);
  });
});
