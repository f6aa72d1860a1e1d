import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
  CreateAgentRuntimeEndpointCommand,
  DeleteAgentRuntimeCommand,
  DeleteAgentRuntimeEndpointCommand,
  GetAgentRuntimeCommand,
  GetAgentRuntimeEndpointCommand,
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
const DAY = 24 * 3600 * 1000;
/** The documented id pattern of runtimes and endpoints (API reference, AgentRuntimeEndpoint.id). */
const ID = /^[a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}$/;

/**
 * Asynchronous lifecycle, injected failures and version expiry. The twin's delays are short here
 * (scaled); the pipeline's own waits are exercised with delays of seconds in
 * .github/actions/test/twin-timing.test.ts.
 */
describe('AgentCore control plane lifecycle on the twin', () => {
  let twin: Twin;
  let control: BedrockAgentCoreControlClient;
  let image: string;
  const DELAY = 300;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const get = (id: string, version?: string) =>
    control.send(new GetAgentRuntimeCommand({ agentRuntimeId: id, agentRuntimeVersion: version }));
  const endpoint = (id: string, endpointName: string) =>
    control.send(new GetAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName }));
  const until = async (id: string, status: string) => {
    for (let i = 0; i < 200; i++) {
      const rt = await get(id);
      if (rt.status === status) return rt;
      await sleep(10);
    }
    throw new Error(`runtime ${id} never became ${status}`);
  };
  const base = (name: string): CreateAgentRuntimeCommandInput => ({
    agentRuntimeName: name,
    roleArn: ROLE,
    agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
    networkConfiguration: { networkMode: 'PUBLIC' },
  });
  const update = (id: string, description?: string) =>
    control.send(
      new UpdateAgentRuntimeCommand({
        agentRuntimeId: id,
        roleArn: ROLE,
        agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
        networkConfiguration: { networkMode: 'PUBLIC' },
        description,
      }),
    );
  const create = async (name: string) => {
    const created = await control.send(new CreateAgentRuntimeCommand(base(name)));
    await until(created.agentRuntimeId!, 'READY');
    return created.agentRuntimeId!;
  };

  beforeAll(async () => {
    twin = await startTwin({ agentcore: { readyDelayMs: DELAY, endpointReadyDelayMs: 20 } });
    control = new BedrockAgentCoreControlClient(clientConfig(twin));
    image = (await pushFixture(twin, { repository: 'agent', tags: ['v1'] })).imageUri;
  });
  afterAll(() => twin.close());

  it('gives runtimes and endpoints, DEFAULT included, ids in the documented pattern', async () => {
    const id = await create('ids_rt');
    expect(id).toMatch(ID);
    expect(id).toMatch(/^ids_rt-[a-zA-Z0-9]{10}$/);
    const def = await endpoint(id, 'DEFAULT');
    expect(def.id).toMatch(ID);
    expect(def.agentRuntimeEndpointArn).toBe(
      `arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/${id}/runtime-endpoint/DEFAULT`,
    );
    await control.send(new CreateAgentRuntimeEndpointCommand({ agentRuntimeId: id, name: 'live' }));
    expect((await endpoint(id, 'live')).id).toMatch(/^live-[a-zA-Z0-9]{10}$/);
  });

  it('an injected update failure shows UPDATE_FAILED with its failureReason only after a while', async () => {
    const id = await create('fails_update');
    twin.agentcore.injectFault({
      on: 'update',
      runtimeName: 'fails_update',
      failureReason: 'Container failed health checks',
      afterMs: 300,
    });
    expect((await update(id)).status).toBe('UPDATING');
    await sleep(150);
    expect((await get(id)).status).toBe('UPDATING');
    const failed = await until(id, 'UPDATE_FAILED');
    expect(failed).toMatchObject({
      agentRuntimeVersion: '2',
      failureReason: 'Container failed health checks',
    });
    expect(await endpoint(id, 'DEFAULT')).toMatchObject({ status: 'READY', liveVersion: '1' });
    // The fault fired once: the next update succeeds.
    await update(id);
    expect((await until(id, 'READY')).agentRuntimeVersion).toBe('3');
  });

  it('an injected create failure ends CREATE_FAILED with the reason', async () => {
    twin.agentcore.injectFault({ on: 'create', failureReason: 'Role cannot be assumed' });
    const created = await control.send(new CreateAgentRuntimeCommand(base('fails_create')));
    expect(created.status).toBe('CREATING');
    expect(await until(created.agentRuntimeId!, 'CREATE_FAILED')).toMatchObject({
      failureReason: 'Role cannot be assumed',
    });
  });

  it('deletes asynchronously; an injected DELETE_FAILED keeps the runtime until a retried delete', async () => {
    const id = await create('fails_delete');
    twin.agentcore.injectFault({
      on: 'delete',
      runtimeName: 'fails_delete',
      failureReason: 'Internal error',
    });
    expect((await control.send(new DeleteAgentRuntimeCommand({ agentRuntimeId: id }))).status).toBe(
      'DELETING',
    );
    const listed = (await control.send(new ListAgentRuntimesCommand({}))).agentRuntimes!;
    expect(listed.find((r) => r.agentRuntimeId === id)?.status).toBe('DELETING');
    const blocked = await update(id).catch((e) => e);
    expect(blocked.name).toBe('ConflictException');
    expect(await until(id, 'DELETE_FAILED')).toMatchObject({ failureReason: 'Internal error' });
    expect((await control.send(new DeleteAgentRuntimeCommand({ agentRuntimeId: id }))).status).toBe(
      'DELETING',
    );
    await sleep(DELAY + 50);
    const gone = await get(id).catch((e) => e);
    expect(gone.name).toBe('ResourceNotFoundException');
  });

  it('deletes endpoints asynchronously; an injected DELETE_FAILED shows on the endpoint', async () => {
    const id = await create('endpoint_delete');
    await control.send(new CreateAgentRuntimeEndpointCommand({ agentRuntimeId: id, name: 'canary' }));
    twin.agentcore.injectFault({ on: 'delete-endpoint', failureReason: 'Endpoint is in use' });
    const del = () =>
      control.send(new DeleteAgentRuntimeEndpointCommand({ agentRuntimeId: id, endpointName: 'canary' }));
    expect((await del()).status).toBe('DELETING');
    await sleep(DELAY + 50);
    expect(await endpoint(id, 'canary')).toMatchObject({
      status: 'DELETE_FAILED',
      failureReason: 'Endpoint is in use',
    });
    await del();
    expect((await endpoint(id, 'canary')).status).toBe('DELETING');
    await sleep(DELAY + 50);
    expect((await endpoint(id, 'canary').catch((e) => e)).name).toBe('ResourceNotFoundException');
  });

  it('deletes a single version asynchronously', async () => {
    const id = await create('version_delete');
    await update(id);
    await until(id, 'READY');
    await control.send(new DeleteAgentRuntimeCommand({ agentRuntimeId: id, agentRuntimeVersion: '1' }));
    expect((await get(id, '1')).status).toBe('DELETING');
    await sleep(DELAY + 50);
    expect((await get(id, '1').catch((e) => e)).name).toBe('ResourceNotFoundException');
  });

  it('expires versions no endpoint has pointed at for 45 days; the live one stays', async () => {
    const id = await create('expiry_rt');
    await control.send(
      new CreateAgentRuntimeEndpointCommand({ agentRuntimeId: id, name: 'live', agentRuntimeVersion: '1' }),
    );
    await update(id, 'two');
    await until(id, 'READY');
    await update(id, 'three'); // v2 is now inactive: not the latest, no endpoint on it
    await until(id, 'READY');
    const versions = async () =>
      (await control.send(new ListAgentRuntimeVersionsCommand({ agentRuntimeId: id }))).agentRuntimes!.map(
        (v) => v.agentRuntimeVersion,
      );
    twin.clock.advance(44 * DAY);
    expect(await versions()).toEqual(['3', '2', '1']);
    twin.clock.advance(1 * DAY + 1000);
    expect(await versions()).toEqual(['3', '1']);
    expect((await get(id, '2').catch((e) => e)).name).toBe('ResourceNotFoundException');
    const repoint = await control
      .send(
        new UpdateAgentRuntimeEndpointCommand({
          agentRuntimeId: id,
          endpointName: 'live',
          agentRuntimeVersion: '2',
        }),
      )
      .catch((e) => e);
    expect(repoint.name).toBe('ResourceNotFoundException');
    // live still serves version 1, which is active however old it is.
    expect((await get(id, '1')).status).toBe('READY');
    expect(await endpoint(id, 'live')).toMatchObject({ liveVersion: '1' });
  });
});
