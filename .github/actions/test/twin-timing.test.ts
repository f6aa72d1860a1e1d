import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BedrockAgentCoreControlClient,
  UpdateAgentRuntimeCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../../local/src/twin';
import { pushLocalImage } from '../../../scripts/push-local-image';
import { getRuntime } from '../src/lib/runtime';
import { deployRuntime, type RuntimeSpec } from '../src/steps/deploy-runtime';

/**
 * The pipeline's waits, polls and timeouts against a twin whose creates and updates take seconds,
 * as they do on AWS (the other suites scale the twin's delays down to milliseconds).
 */
describe('deploy waits with delays of seconds', () => {
  const CREATE_MS = 1500;
  const UPDATE_MS = 2000;
  let twin: Twin;
  let control: BedrockAgentCoreControlClient;
  let images: string[];
  let runtimeId: string;
  const spec: RuntimeSpec = {
    roleArn: 'arn:aws:iam::123456789012:role/agent-runtime',
    networkConfiguration: { networkMode: 'PUBLIC' },
  };
  const wait = { timeoutSeconds: 10, pollSeconds: 0.5 };
  const timed = async <T>(fn: () => Promise<T>) => {
    const start = Date.now();
    const result = await fn().catch((e: Error) => e);
    return { result, ms: Date.now() - start };
  };

  beforeAll(async () => {
    twin = await startTwin({
      agentcore: { createDelayMs: CREATE_MS, updateDelayMs: UPDATE_MS, deleteDelayMs: 1000 },
    });
    const cfg = {
      region: 'us-east-1',
      endpoint: twin.url,
      maxAttempts: 1,
      credentials: twin.credentials(),
    };
    control = new BedrockAgentCoreControlClient(cfg);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'twin-timing-'));
    images = [];
    for (const name of ['one', 'two', 'three', 'four', 'five']) {
      const file = path.join(work, `${name}.mjs`);
      fs.writeFileSync(file, `// ${name}\n`);
      const pushed = await pushLocalImage({
        repository: 'agent',
        tags: [name],
        bundlePath: file,
        create: true,
        ecr: new ECRClient(cfg),
      });
      images.push(pushed.imageUri);
    }
  });
  afterAll(() => twin.close());

  it('creates, then waits through CREATING until READY', async () => {
    const { result, ms } = await timed(() =>
      deployRuntime({ control, runtimeName: 'timed', imageUri: images[0], wait, createIfMissing: spec }),
    );
    expect(result).toMatchObject({ action: 'created', version: '1' });
    expect(ms).toBeGreaterThanOrEqual(CREATE_MS);
    runtimeId = (result as { runtimeId: string }).runtimeId;
    expect((await getRuntime(control, runtimeId)).status).toBe('READY');
  });

  it('waits out an update already in flight, then deploys its own version', async () => {
    const current = await getRuntime(control, runtimeId);
    await control.send(
      new UpdateAgentRuntimeCommand({
        agentRuntimeId: runtimeId,
        roleArn: current.roleArn,
        networkConfiguration: current.networkConfiguration,
        agentRuntimeArtifact: { containerConfiguration: { containerUri: images[1] } },
      }),
    );
    const { result, ms } = await timed(() =>
      deployRuntime({ control, runtimeName: 'timed', imageUri: images[2], wait }),
    );
    expect(result).toMatchObject({ action: 'updated', version: '3', previousVersion: '2' });
    // The in-flight update (2 s) and then its own (2 s).
    expect(ms).toBeGreaterThanOrEqual(2 * UPDATE_MS - 100);
  });

  it('an update that fails after a while fails the deploy with the service’s failureReason', async () => {
    twin.agentcore.injectFault({
      on: 'update',
      runtimeName: 'timed',
      failureReason: 'Runtime health check failed: GET /ping did not answer within 120 s',
    });
    const { result, ms } = await timed(() =>
      deployRuntime({ control, runtimeName: 'timed', imageUri: images[3], wait }),
    );
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toBe(
      'runtime timed version 4 UPDATE_FAILED: Runtime health check failed: GET /ping did not answer within 120 s',
    );
    expect(ms).toBeGreaterThanOrEqual(UPDATE_MS);
  });

  it('a wait longer than the timeout fails naming what it waited for', async () => {
    const { result, ms } = await timed(() =>
      deployRuntime({
        control,
        runtimeName: 'timed',
        imageUri: images[4],
        wait: { timeoutSeconds: 1, pollSeconds: 0.25 },
      }),
    );
    expect((result as Error).message).toBe(
      `timed out after 1 s waiting for runtime ${runtimeId} version 5 to become READY`,
    );
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(ms).toBeLessThan(UPDATE_MS);
  });
});
