import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
  CreateAgentRuntimeEndpointCommand,
  DeleteAgentRuntimeCommand,
  DeleteAgentRuntimeEndpointCommand,
  GetAgentRuntimeCommand,
  GetAgentRuntimeEndpointCommand,
  ListAgentRuntimeEndpointsCommand,
  ListAgentRuntimesCommand,
  ListAgentRuntimeVersionsCommand,
  UpdateAgentRuntimeCommand,
  UpdateAgentRuntimeEndpointCommand,
  type CreateAgentRuntimeCommandInput,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig, pushFixture } from './image-fixture';

const ROLE = 'arn:aws:iam::123456789012:role/agent-runtime';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AgentCore control plane on the twin', () => {
  let twin: Twin;
  let control: BedrockAgentCoreControlClient;
  let image: string;
  let amd64: string;
  const until = async (id: string, status: string, version?: string) => {
    for (let i = 0; i < 300; i++) {
      const rt = await control.send(
        new GetAgentRuntimeCommand({ agentRuntimeId: id, agentRuntimeVersion: version }),
      );
      if (rt.status === status) return rt;
      await sleep(10);
    }
    throw new Error(`runtime ${id} never became ${status}`);
  };
  const base = (name: string, uri = image): CreateAgentRuntimeCommandInput => ({
    agentRuntimeName: name,
    roleArn: ROLE,
    agentRuntimeArtifact: { containerConfiguration: { containerUri: uri } },
    networkConfiguration: { networkMode: 'PUBLIC' },
    environmentVariables: { VERSION_LABEL: 'one', KEEP: 'me' },
  });

  beforeAll(async () => {
    twin = await startTwin({ agentcore: { readyDelayMs: 200, endpointReadyDelayMs: 30 } });
    control = new BedrockAgentCoreControlClient(clientConfig(twin));
    image = (await pushFixture(twin, { repository: 'agent', tags: ['v1'] })).imageUri;
    amd64 = (
      await pushFixture(twin, { repository: 'agent', tags: ['amd'], architecture: 'amd64', marker: 'amd' })
    ).imageUri;
  });
  afterAll(() => twin.close());

  it('creates a runtime CREATING → READY with ISO timestamps, version 1 and a DEFAULT endpoint', async () => {
    const created = await control.send(new CreateAgentRuntimeCommand(base('agent_a')));
    expect(created).toMatchObject({ status: 'CREATING', agentRuntimeVersion: '1' });
    expect(created.agentRuntimeArn).toBe(
      `arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/${created.agentRuntimeId}`,
    );
    expect(created.createdAt).toBeInstanceOf(Date);
    const ready = await until(created.agentRuntimeId!, 'READY');
    expect(ready.lifecycleConfiguration).toEqual({ idleRuntimeSessionTimeout: 900, maxLifetime: 28800 });
    expect(ready.environmentVariables).toEqual({ VERSION_LABEL: 'one', KEEP: 'me' });
    const def = await control.send(
      new GetAgentRuntimeEndpointCommand({ agentRuntimeId: created.agentRuntimeId, endpointName: 'DEFAULT' }),
    );
    expect(def).toMatchObject({ status: 'READY', liveVersion: '1', targetVersion: '1' });
  });

  it('validates names and rejects a duplicate name', async () => {
    const hyphen = await control
      .send(new CreateAgentRuntimeCommand(base('agent-with-hyphen')))
      .catch((e) => e);
    expect(hyphen.name).toBe('ValidationException');
    expect(hyphen.message).toMatch(/agentRuntimeName/);
    const dup = await control.send(new CreateAgentRuntimeCommand(base('agent_a'))).catch((e) => e);
    expect(dup.name).toBe('ConflictException');
  });

  it('update is a full replace creating a new version; updating while UPDATING conflicts', async () => {
    const [rt] = (await control.send(new ListAgentRuntimesCommand({}))).agentRuntimes!.filter(
      (r) => r.agentRuntimeName === 'agent_a',
    );
    const id = rt.agentRuntimeId!;
    const updated = await control.send(
      new UpdateAgentRuntimeCommand({
        agentRuntimeId: id,
        roleArn: ROLE,
        agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
        networkConfiguration: { networkMode: 'PUBLIC' },
        environmentVariables: { VERSION_LABEL: 'two' },
      }),
    );
    expect(updated).toMatchObject({ status: 'UPDATING', agentRuntimeVersion: '2' });
    const conflict = await control
      .send(
        new UpdateAgentRuntimeCommand({
          agentRuntimeId: id,
          roleArn: ROLE,
          networkConfiguration: { networkMode: 'PUBLIC' },
          agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
        }),
      )
      .catch((e) => e);
    expect(conflict.name).toBe('ConflictException');
    const def = await control.send(
      new GetAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName: 'DEFAULT' }),
    );
    expect(def).toMatchObject({ status: 'UPDATING', liveVersion: '1', targetVersion: '2' });

    const v2 = await until(id, 'READY');
    expect(v2.agentRuntimeVersion).toBe('2');
    expect(v2.environmentVariables).toEqual({ VERSION_LABEL: 'two' }); // KEEP was left out, so it is gone
    const v1 = await control.send(
      new GetAgentRuntimeCommand({ agentRuntimeId: id, agentRuntimeVersion: '1' }),
    );
    expect(v1.environmentVariables).toEqual({ VERSION_LABEL: 'one', KEEP: 'me' });
    const versions = await control.send(new ListAgentRuntimeVersionsCommand({ agentRuntimeId: id }));
    expect(versions.agentRuntimes?.map((v) => v.agentRuntimeVersion)).toEqual(['2', '1']);
    expect(
      (
        await control.send(
          new GetAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName: 'DEFAULT' }),
        )
      ).liveVersion,
    ).toBe('2');
  });

  it('pins named endpoints until they are updated, reporting target then live version', async () => {
    const [rt] = (await control.send(new ListAgentRuntimesCommand({}))).agentRuntimes!.filter(
      (r) => r.agentRuntimeName === 'agent_a',
    );
    const id = rt.agentRuntimeId!;
    const created = await control.send(
      new CreateAgentRuntimeEndpointCommand({ agentRuntimeId: id, name: 'live', agentRuntimeVersion: '1' }),
    );
    expect(created).toMatchObject({ status: 'CREATING', targetVersion: '1' });
    await sleep(60);
    expect(
      await control.send(new GetAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName: 'live' })),
    ).toMatchObject({ status: 'READY', liveVersion: '1', targetVersion: '1' });
    const moving = await control.send(
      new UpdateAgentRuntimeEndpointCommand({
        agentRuntimeId: id,
        endpointName: 'live',
        agentRuntimeVersion: '2',
      }),
    );
    expect(moving).toMatchObject({ status: 'UPDATING', liveVersion: '1', targetVersion: '2' });
    await sleep(60);
    expect(
      await control.send(new GetAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName: 'live' })),
    ).toMatchObject({ status: 'READY', liveVersion: '2', targetVersion: '2' });
    const dup = await control
      .send(new CreateAgentRuntimeEndpointCommand({ agentRuntimeId: id, name: 'live' }))
      .catch((e) => e);
    expect(dup.name).toBe('ConflictException');
    for (let i = 0; i < 8; i++)
      await control.send(new CreateAgentRuntimeEndpointCommand({ agentRuntimeId: id, name: `ep${i}` }));
    const eleventh = await control
      .send(new CreateAgentRuntimeEndpointCommand({ agentRuntimeId: id, name: 'one_too_many' }))
      .catch((e) => e);
    expect(eleventh.name).toBe('ServiceQuotaExceededException');
    const list = await control.send(new ListAgentRuntimeEndpointsCommand({ agentRuntimeId: id }));
    expect(list.runtimeEndpoints).toHaveLength(10);
    const deleting = await control.send(
      new DeleteAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName: 'ep0' }),
    );
    expect(deleting.status).toBe('DELETING');
    expect(
      await control.send(new GetAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName: 'ep0' })),
    ).toMatchObject({ status: 'DELETING' });
    await sleep(250); // deleteDelayMs follows readyDelayMs (200 ms)
    const gone = await control
      .send(new GetAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName: 'ep0' }))
      .catch((e) => e);
    expect(gone.name).toBe('ResourceNotFoundException');
    const def = await control
      .send(new DeleteAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName: 'DEFAULT' }))
      .catch((e) => e);
    expect(def.name).toBe('ValidationException');
  });

  it('fails an update whose image is missing or not arm64, with the reason; DEFAULT stays put', async () => {
    const created = await control.send(new CreateAgentRuntimeCommand(base('agent_b')));
    const id = created.agentRuntimeId!;
    await until(id, 'READY');
    const missing = `123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:no-such-tag`;
    await control.send(
      new UpdateAgentRuntimeCommand({
        agentRuntimeId: id,
        roleArn: ROLE,
        networkConfiguration: { networkMode: 'PUBLIC' },
        agentRuntimeArtifact: { containerConfiguration: { containerUri: missing } },
      }),
    );
    const failed = await until(id, 'UPDATE_FAILED');
    expect(failed.failureReason).toContain(missing);
    await control.send(
      new UpdateAgentRuntimeCommand({
        agentRuntimeId: id,
        roleArn: ROLE,
        networkConfiguration: { networkMode: 'PUBLIC' },
        agentRuntimeArtifact: { containerConfiguration: { containerUri: amd64 } },
      }),
    );
    const arch = await until(id, 'UPDATE_FAILED', '3');
    expect(arch.failureReason).toBe(
      `Architecture incompatible for uri '${amd64}'. Supported architectures: [arm64]`,
    );
    expect(
      (
        await control.send(
          new GetAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName: 'DEFAULT' }),
        )
      ).liveVersion,
    ).toBe('1');

    const bad = await control.send(new CreateAgentRuntimeCommand(base('agent_c', amd64)));
    expect((await until(bad.agentRuntimeId!, 'CREATE_FAILED')).failureReason).toMatch(
      /Architecture incompatible/,
    );
  });

  it('returns the same answer for a repeated client token instead of a second version', async () => {
    const [rt] = (await control.send(new ListAgentRuntimesCommand({}))).agentRuntimes!.filter(
      (r) => r.agentRuntimeName === 'agent_b',
    );
    const input = {
      agentRuntimeId: rt.agentRuntimeId,
      roleArn: ROLE,
      agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
      networkConfiguration: { networkMode: 'PUBLIC' as const },
      clientToken: 'deploy-abc-0000000000000000000000',
    };
    const first = await control.send(new UpdateAgentRuntimeCommand(input));
    const again = await control.send(new UpdateAgentRuntimeCommand(input));
    expect(again.agentRuntimeVersion).toBe(first.agentRuntimeVersion);
  });

  it('deletes runtimes asynchronously (DELETING, then gone); a missing one is ResourceNotFound', async () => {
    const [rt] = (await control.send(new ListAgentRuntimesCommand({}))).agentRuntimes!.filter(
      (r) => r.agentRuntimeName === 'agent_c',
    );
    expect(
      (await control.send(new DeleteAgentRuntimeCommand({ agentRuntimeId: rt.agentRuntimeId }))).status,
    ).toBe('DELETING');
    expect(
      (await control.send(new GetAgentRuntimeCommand({ agentRuntimeId: rt.agentRuntimeId }))).status,
    ).toBe('DELETING');
    expect(
      (await control.send(new DeleteAgentRuntimeCommand({ agentRuntimeId: rt.agentRuntimeId }))).status,
    ).toBe('DELETING');
    await sleep(250);
    const again = await control
      .send(new DeleteAgentRuntimeCommand({ agentRuntimeId: rt.agentRuntimeId }))
      .catch((e) => e);
    expect(again.name).toBe('ResourceNotFoundException');
    expect(again.$metadata.httpStatusCode).toBe(404);
  });
});
