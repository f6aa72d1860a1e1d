import {
  GetAgentRuntimeCommand,
  GetAgentRuntimeEndpointCommand,
  paginateListAgentRuntimes,
  paginateListAgentRuntimeVersions,
  type AgentRuntime,
  type BedrockAgentCoreControlClient,
  type GetAgentRuntimeCommandOutput,
  type GetAgentRuntimeEndpointCommandOutput,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { pollUntil, type Clock, type PollOptions } from './poll';

export type Runtime = GetAgentRuntimeCommandOutput;
export type RuntimeEndpoint = GetAgentRuntimeEndpointCommandOutput;

/** How long to wait and how often to look (from the environment file). */
export interface WaitOptions {
  timeoutSeconds: number;
  pollSeconds: number;
  clock?: Clock;
}

/** Poll bounds for waiting on `what`, from the environment's wait options. */
export function pollOptions(wait: WaitOptions, what: string): PollOptions {
  return {
    timeoutMs: wait.timeoutSeconds * 1000,
    intervalMs: wait.pollSeconds * 1000,
    clock: wait.clock,
    what,
  };
}

export async function listRuntimes(control: BedrockAgentCoreControlClient): Promise<AgentRuntime[]> {
  const all: AgentRuntime[] = [];
  for await (const page of paginateListAgentRuntimes({ client: control }, {}))
    all.push(...(page.agentRuntimes ?? []));
  return all;
}

/** The runtime with this exact name, or undefined; more than one is an error (names should be unique). */
export async function findRuntime(
  control: BedrockAgentCoreControlClient,
  name: string,
): Promise<AgentRuntime | undefined> {
  const matches = (await listRuntimes(control)).filter((r) => r.agentRuntimeName === name);
  if (matches.length > 1) {
    throw new Error(
      `${matches.length} runtimes are named "${name}" (${matches.map((r) => r.agentRuntimeId).join(', ')}); ` +
        'delete the extra ones so the pipeline knows which to deploy',
    );
  }
  return matches[0];
}

export async function requireRuntime(
  control: BedrockAgentCoreControlClient,
  name: string,
): Promise<AgentRuntime> {
  const found = await findRuntime(control, name);
  if (!found) {
    throw new Error(
      `no AgentCore runtime is named "${name}"; deploy the environment's stack first (npm run synth / cdk deploy)`,
    );
  }
  return found;
}

export function getRuntime(control: BedrockAgentCoreControlClient, agentRuntimeId: string, version?: string) {
  return control.send(new GetAgentRuntimeCommand({ agentRuntimeId, agentRuntimeVersion: version }));
}

/**
 * GetAgentRuntime, plus the response body exactly as the service sent it: the SDK drops members its
 * model lacks, so only the raw JSON shows a field a newer service version added.
 */
export async function getRuntimeWithRaw(
  control: BedrockAgentCoreControlClient,
  agentRuntimeId: string,
  version?: string,
): Promise<{ runtime: Runtime; raw: Record<string, unknown> }> {
  const command = new GetAgentRuntimeCommand({ agentRuntimeId, agentRuntimeVersion: version });
  let raw: Record<string, unknown> = {};
  // Innermost deserialize middleware: it sees the HTTP response before the SDK parses it, reads the
  // body once and hands the parser the same bytes (a Uint8Array body is accepted as collected).
  command.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const response = result.response as { statusCode?: number; body?: unknown };
      if (response.statusCode !== 200 || !response.body) return result;
      const chunks: Uint8Array[] = [];
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) chunks.push(chunk);
      const bytes = Buffer.concat(chunks);
      response.body = bytes;
      raw = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      return result;
    },
    { step: 'deserialize', priority: 'low', name: 'captureRawAgentRuntime' },
  );
  const runtime = await control.send(command);
  return { runtime, raw };
}

export function getEndpoint(
  control: BedrockAgentCoreControlClient,
  agentRuntimeId: string,
  endpointName: string,
) {
  return control.send(new GetAgentRuntimeEndpointCommand({ agentRuntimeId, endpointName }));
}

export async function listVersions(
  control: BedrockAgentCoreControlClient,
  agentRuntimeId: string,
): Promise<number[]> {
  const versions: number[] = [];
  for await (const page of paginateListAgentRuntimeVersions({ client: control }, { agentRuntimeId })) {
    for (const v of page.agentRuntimes ?? []) versions.push(Number(v.agentRuntimeVersion));
  }
  return [...new Set(versions)].sort((a, b) => a - b);
}

const SETTLING = new Set(['CREATING', 'UPDATING']);
const BROKEN = new Set(['CREATE_FAILED', 'DELETING', 'DELETE_FAILED']);

/**
 * Wait while the runtime is CREATING/UPDATING. CREATE_FAILED and DELETING/DELETE_FAILED cannot be
 * deployed to; UPDATE_FAILED can (the previous version still serves and a new update is the fix).
 */
export async function waitUntilSettled(
  control: BedrockAgentCoreControlClient,
  agentRuntimeId: string,
  wait: WaitOptions,
): Promise<Runtime> {
  return pollUntil(
    async () => {
      const r = await getRuntime(control, agentRuntimeId);
      if (BROKEN.has(r.status ?? '')) {
        throw new Error(
          `runtime ${r.agentRuntimeName} is ${r.status}${r.failureReason ? `: ${r.failureReason}` : ''}; it cannot be deployed to`,
        );
      }
      return SETTLING.has(r.status ?? '') ? undefined : r;
    },
    pollOptions(wait, `runtime ${agentRuntimeId} to finish its current change`),
  );
}

/** Wait until `version` is READY; UPDATE_FAILED/CREATE_FAILED end the wait with the service's reason. */
export async function waitUntilReady(
  control: BedrockAgentCoreControlClient,
  agentRuntimeId: string,
  version: string,
  wait: WaitOptions,
): Promise<Runtime> {
  return pollUntil(
    async () => {
      const r = await getRuntime(control, agentRuntimeId);
      if (r.status === 'UPDATE_FAILED' || r.status === 'CREATE_FAILED') {
        throw new Error(
          `runtime ${r.agentRuntimeName} version ${version} ${r.status}: ${r.failureReason ?? '(no failureReason given)'}`,
        );
      }
      return r.status === 'READY' && Number(r.agentRuntimeVersion) >= Number(version) ? r : undefined;
    },
    pollOptions(wait, `runtime ${agentRuntimeId} version ${version} to become READY`),
  );
}

export function containerUri(r: {
  agentRuntimeArtifact?: Runtime['agentRuntimeArtifact'];
}): string | undefined {
  return r.agentRuntimeArtifact?.containerConfiguration?.containerUri;
}
