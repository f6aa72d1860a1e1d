import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BedrockAgentCoreClient, InvokeAgentRuntimeCommand } from '@aws-sdk/client-bedrock-agentcore';
import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
  CreateAgentRuntimeEndpointCommand,
  GetAgentRuntimeCommand,
  GetAgentRuntimeEndpointCommand,
  ListAgentRuntimeVersionsCommand,
  UpdateAgentRuntimeCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig, ecrClient, pushFixture } from './image-fixture';

const ROLE = 'arn:aws:iam::123456789012:role/agent-runtime';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a twin with a state directory', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'twin-persist-'));
  let twin: Twin | undefined;
  afterAll(async () => {
    await twin?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('keeps runtimes, versions, endpoints, images and parameters across a restart, and still runs them', async () => {
    twin = await startTwin({ stateDir, agentcore: { readyDelayMs: 10 } });
    const { imageUri, digest } = await pushFixture(twin, { repository: 'agent', tags: ['v1'] });
    let control = new BedrockAgentCoreControlClient(clientConfig(twin));
    const spec = {
      roleArn: ROLE,
      agentRuntimeArtifact: { containerConfiguration: { containerUri: imageUri } },
      networkConfiguration: { networkMode: 'PUBLIC' as const },
    };
    const { agentRuntimeId, agentRuntimeArn } = await control.send(
      new CreateAgentRuntimeCommand({
        agentRuntimeName: 'kept',
        ...spec,
        environmentVariables: { VERSION_LABEL: 'v1' },
      }),
    );
    await sleep(30);
    await control.send(
      new UpdateAgentRuntimeCommand({
        agentRuntimeId,
        ...spec,
        environmentVariables: { VERSION_LABEL: 'v2' },
      }),
    );
    await control.send(
      new CreateAgentRuntimeEndpointCommand({ agentRuntimeId, name: 'live', agentRuntimeVersion: '1' }),
    );
    await new SSMClient(clientConfig(twin)).send(
      new PutParameterCommand({ Name: '/app/dev/image', Value: imageUri, Type: 'String' }),
    );
    await sleep(30);
    await twin.close();

    twin = await startTwin({ stateDir });
    control = new BedrockAgentCoreControlClient(clientConfig(twin));
    expect(await control.send(new GetAgentRuntimeCommand({ agentRuntimeId }))).toMatchObject({
      status: 'READY',
      agentRuntimeVersion: '2',
      environmentVariables: { VERSION_LABEL: 'v2' },
    });
    expect(
      (await control.send(new ListAgentRuntimeVersionsCommand({ agentRuntimeId }))).agentRuntimes,
    ).toHaveLength(2);
    expect(
      await control.send(new GetAgentRuntimeEndpointCommand({ agentRuntimeId, endpointName: 'live' })),
    ).toMatchObject({ status: 'READY', liveVersion: '1' });
    const images = await ecrClient(twin).send(new DescribeImagesCommand({ repositoryName: 'agent' }));
    expect(images.imageDetails?.[0]).toMatchObject({ imageDigest: digest, imageTags: ['v1'] });
    expect(
      (await new SSMClient(clientConfig(twin)).send(new GetParameterCommand({ Name: '/app/dev/image' })))
        .Parameter?.Value,
    ).toBe(imageUri);

    const data = new BedrockAgentCoreClient(clientConfig(twin));
    const out = await data.send(
      new InvokeAgentRuntimeCommand({
        agentRuntimeArn,
        qualifier: 'live',
        payload: new TextEncoder().encode('{}'),
      }),
    );
    expect(await out.response!.transformToString()).toContain('"label":"v1"');
  });
});

describe('closing a persisted twin', () => {
  it('waits for signing keys still being made, so they are saved before the folder can go', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twin-close-'));
    try {
      const quick = await startTwin({ stateDir: dir });
      await quick.close();
      const saved = JSON.parse(fs.readFileSync(path.join(dir, 'github-oidc.json'), 'utf8'));
      expect(saved.privateJwk).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
