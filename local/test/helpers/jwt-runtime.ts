import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { runInput, invocationUrl } from '../../../.github/actions/src/lib/agui';
import type { ClientCredentials } from '../../../.github/actions/src/lib/cognito';
import { pollUntil } from '../../../.github/actions/src/lib/poll';
import {
  getEndpoint,
  waitUntilReady as waitUntilRuntimeReady,
} from '../../../.github/actions/src/lib/runtime';
import { pushLocalImage } from '../../../scripts/push-local-image';
import type { Twin } from '../../src/twin';
import { clientConfig, ecrClient } from '../image-fixture';

/** Tiny polls: the twin settles after its `agentcore.readyDelayMs`. */
const WAIT = { timeoutSeconds: 10, pollSeconds: 0.01 };

/** Build the real agent bundle in a temporary folder and push it to the twin's ECR as `agentcore-gitops:<tags>`. */
export async function pushAgentImage(twin: Twin, tags: string[]) {
  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-image-'));
  try {
    return await pushLocalImage({
      repository: 'agentcore-gitops',
      tags,
      create: true,
      ecr: ecrClient(twin),
      build: { outfile: path.join(buildDir, 'server.mjs') },
    });
  } finally {
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
}

/** A Cognito pool on the twin with an `agent/invoke` scope and one confidential client that may use it. */
export function cognitoClient(twin: Twin, poolName: string) {
  const poolId = twin.cognito.createUserPool(poolName);
  twin.cognito.createResourceServer(poolId, 'agent', ['invoke']);
  const { clientId, clientSecret } = twin.cognito.createClient(poolId, {
    name: 'smoke',
    scopes: ['agent/invoke'],
  });
  const credentials: ClientCredentials = {
    tokenUrl: `${twin.cognito.issuer(poolId)}/oauth2/token`,
    clientId,
    clientSecret: clientSecret!,
    scope: 'agent/invoke',
  };
  return { discoveryUrl: twin.cognito.discoveryUrl(poolId), credentials };
}

export interface JwtRuntimeOptions {
  name: string;
  imageUri: string;
  /** The Cognito client whose tokens the runtime's JWT authorizer accepts. */
  cognito: ReturnType<typeof cognitoClient>;
  environmentVariables: Record<string, string>;
}

/** An AG-UI runtime behind a Cognito JWT authorizer, returned once it and its DEFAULT endpoint serve version 1. */
export async function createJwtRuntime(twin: Twin, options: JwtRuntimeOptions) {
  const control = new BedrockAgentCoreControlClient(clientConfig(twin));
  try {
    const { agentRuntimeId, agentRuntimeArn } = await control.send(
      new CreateAgentRuntimeCommand({
        agentRuntimeName: options.name,
        roleArn: 'arn:aws:iam::123456789012:role/agentcore-gitops-runtime',
        agentRuntimeArtifact: { containerConfiguration: { containerUri: options.imageUri } },
        networkConfiguration: { networkMode: 'PUBLIC' },
        protocolConfiguration: { serverProtocol: 'AGUI' },
        authorizerConfiguration: {
          customJWTAuthorizer: {
            discoveryUrl: options.cognito.discoveryUrl,
            allowedClients: [options.cognito.credentials.clientId],
          },
        },
        environmentVariables: options.environmentVariables,
      }),
    );
    await waitUntilReady(control, agentRuntimeId!);
    return { agentRuntimeId: agentRuntimeId!, agentRuntimeArn: agentRuntimeArn! };
  } finally {
    control.destroy();
  }
}

/** Runtime READY at version 1 and DEFAULT serving it; any *_FAILED status ends the wait at once. */
async function waitUntilReady(control: BedrockAgentCoreControlClient, agentRuntimeId: string) {
  await waitUntilRuntimeReady(control, agentRuntimeId, '1', WAIT);
  await pollUntil(
    async () => {
      const ep = await getEndpoint(control, agentRuntimeId, 'DEFAULT');
      if (ep.status?.endsWith('_FAILED'))
        throw new Error(`endpoint DEFAULT is ${ep.status}: ${ep.failureReason ?? '(no reason)'}`);
      return ep.status === 'READY' && ep.liveVersion === '1' ? ep : undefined;
    },
    {
      timeoutMs: WAIT.timeoutSeconds * 1000,
      intervalMs: WAIT.pollSeconds * 1000,
      what: `runtime ${agentRuntimeId} endpoint DEFAULT to serve version 1`,
    },
  );
}

/** One AG-UI turn over HTTP with a bearer token: status, content type, body and the SSE events in it. */
export async function invokeOverHttp(
  twin: Twin,
  call: { runtimeArn: string; token: string; sessionId: string; prompt: string },
) {
  const response = await fetch(
    invocationUrl({ dataPlaneUrl: twin.url, runtimeArn: call.runtimeArn, qualifier: 'DEFAULT' }),
    {
      method: 'POST',
      headers: {
        authorization: `Bearer ${call.token}`,
        'content-type': 'application/json',
        accept: 'text/event-stream',
        'x-amzn-bedrock-agentcore-runtime-session-id': call.sessionId,
      },
      body: JSON.stringify(runInput(call.prompt, call.sessionId)),
    },
  );
  const text = await response.text();
  const events = text
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => JSON.parse(f.slice(6)) as { type: string; delta?: string; usage?: unknown[] });
  return { status: response.status, contentType: response.headers.get('content-type'), text, events };
}
