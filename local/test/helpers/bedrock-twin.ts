import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll } from 'vitest';
import { startTwin, type Twin, type TwinOptions } from '../../src/twin';
import { clientConfig } from '../image-fixture';

/**
 * A twin and a Bedrock runtime client on it (HTTP/2, as the agent speaks) for the enclosing suite:
 * started in beforeAll, closed in afterAll, so read the fields inside tests and hooks only.
 */
export function useBedrockTwin(options: TwinOptions) {
  const setup = {} as { twin: Twin; client: BedrockRuntimeClient };
  beforeAll(async () => {
    setup.twin = await startTwin(options);
    setup.client = new BedrockRuntimeClient(clientConfig(setup.twin));
  });
  afterAll(async () => {
    setup.client?.destroy();
    await setup.twin?.close();
  });
  return setup;
}
