import { createHash } from 'node:crypto';
import {
  CreateAgentRuntimeCommand,
  UpdateAgentRuntimeCommand,
  type BedrockAgentCoreControlClient,
  type CreateAgentRuntimeRequest,
  type UpdateAgentRuntimeRequest,
} from '@aws-sdk/client-bedrock-agentcore-control';
import {
  containerUri,
  findRuntime,
  waitUntilReady,
  waitUntilSettled,
  type Runtime,
  type WaitOptions,
} from '../lib/runtime';

/** Settings for a runtime that does not exist yet (preview mode); name and image come from the deploy. */
export type RuntimeSpec = Omit<
  CreateAgentRuntimeRequest,
  'agentRuntimeName' | 'agentRuntimeArtifact' | 'clientToken'
>;

export interface DeployRuntimeInput {
  control: BedrockAgentCoreControlClient;
  runtimeName: string;
  imageUri: string;
  wait: WaitOptions;
  /** Preview mode: create the runtime with these settings when it is missing. */
  createIfMissing?: RuntimeSpec;
  log?: (message: string) => void;
}

export interface DeployRuntimeResult {
  runtimeId: string;
  runtimeArn: string;
  runtimeName: string;
  /** The version now carrying `imageUri` (DEFAULT follows it; `live` is not touched). */
  version: string;
  /** The newest version before this deploy; undefined when the runtime was just created. */
  previousVersion?: string;
  imageUri: string;
  /** What happened: a new version, nothing (image already current), or a new runtime. */
  action: 'updated' | 'unchanged' | 'created';
}

/**
 * Every field UpdateAgentRuntime accepts besides id and token. The update is a full replace (omitted
 * fields are cleared), so each must be copied from GetAgentRuntime; typing the list as a record of
 * the request's keys makes a field added to the SDK a compile error here instead of a silent loss.
 */
const UPDATE_FIELDS = {
  agentRuntimeArtifact: true,
  roleArn: true,
  networkConfiguration: true,
  description: true,
  authorizerConfiguration: true,
  requestHeaderConfiguration: true,
  protocolConfiguration: true,
  lifecycleConfiguration: true,
  metadataConfiguration: true,
  environmentVariables: true,
  filesystemConfigurations: true,
  capacityProviderConfiguration: true,
  platformVersion: true,
} satisfies Record<Exclude<keyof UpdateAgentRuntimeRequest, 'agentRuntimeId' | 'clientToken'>, true>;

/** Same operation + runtime + base version + image → same token, so a retried update is not applied twice. */
export function deployClientToken(
  runtimeId: string,
  baseVersion: string | undefined,
  imageUri: string,
): string {
  return createHash('sha256')
    .update(`UpdateAgentRuntime\n${runtimeId}\n${baseVersion}\n${imageUri}`)
    .digest('hex');
}

/** The current configuration with only the container image swapped. */
export function updateRequest(current: Runtime, imageUri: string): UpdateAgentRuntimeRequest {
  const request: Record<string, unknown> = {};
  for (const key of Object.keys(UPDATE_FIELDS) as (keyof typeof UPDATE_FIELDS)[]) {
    if (current[key] !== undefined) request[key] = structuredClone(current[key]);
  }
  const artifact = current.agentRuntimeArtifact;
  if (!artifact?.containerConfiguration) {
    throw new Error(
      `runtime ${current.agentRuntimeName} has no container artifact; an artifact's type cannot be changed by an update`,
    );
  }
  return {
    ...(request as Omit<UpdateAgentRuntimeRequest, 'agentRuntimeId'>),
    agentRuntimeId: current.agentRuntimeId,
    agentRuntimeArtifact: {
      containerConfiguration: { ...artifact.containerConfiguration, containerUri: imageUri },
    },
    roleArn: current.roleArn,
    clientToken: deployClientToken(current.agentRuntimeId!, current.agentRuntimeVersion, imageUri),
  };
}

/**
 * Blue/green step 1–2: put `imageUri` into a new runtime version and wait until it is READY.
 * DEFAULT follows the new version (the candidate); the `live` endpoint is left alone.
 */
export async function deployRuntime(input: DeployRuntimeInput): Promise<DeployRuntimeResult> {
  const { control, runtimeName, imageUri, wait } = input;
  const log = input.log ?? (() => {});
  const found = await findRuntime(control, runtimeName);
  if (!found) {
    if (!input.createIfMissing) {
      throw new Error(
        `no AgentCore runtime is named "${runtimeName}"; deploy the environment's stack first (cdk deploy)`,
      );
    }
    return create(input, input.createIfMissing);
  }
  const current = await waitUntilSettled(control, found.agentRuntimeId!, wait);
  const base = {
    runtimeId: current.agentRuntimeId!,
    runtimeArn: current.agentRuntimeArn!,
    runtimeName,
    imageUri,
  };
  if (containerUri(current) === imageUri && current.status === 'READY') {
    log(
      `runtime ${runtimeName} version ${current.agentRuntimeVersion} already runs ${imageUri}; nothing to deploy`,
    );
    return {
      ...base,
      version: current.agentRuntimeVersion!,
      previousVersion: current.agentRuntimeVersion,
      action: 'unchanged',
    };
  }
  log(
    `updating ${runtimeName} from version ${current.agentRuntimeVersion} (${containerUri(current)}) to ${imageUri}`,
  );
  const updated = await control.send(new UpdateAgentRuntimeCommand(updateRequest(current, imageUri)));
  const version = updated.agentRuntimeVersion!;
  await waitUntilReady(control, base.runtimeId, version, wait);
  log(`runtime ${runtimeName} version ${version} is READY`);
  return { ...base, version, previousVersion: current.agentRuntimeVersion, action: 'updated' };
}

async function create(input: DeployRuntimeInput, spec: RuntimeSpec): Promise<DeployRuntimeResult> {
  const { control, runtimeName, imageUri, wait } = input;
  input.log?.(`creating runtime ${runtimeName} with ${imageUri}`);
  const created = await control.send(
    new CreateAgentRuntimeCommand({
      ...spec,
      agentRuntimeName: runtimeName,
      agentRuntimeArtifact: { containerConfiguration: { containerUri: imageUri } },
      clientToken: createHash('sha256')
        .update(`CreateAgentRuntime\n${runtimeName}\n${imageUri}`)
        .digest('hex'),
    }),
  );
  const version = created.agentRuntimeVersion!;
  await waitUntilReady(control, created.agentRuntimeId!, version, wait);
  return {
    runtimeId: created.agentRuntimeId!,
    runtimeArn: created.agentRuntimeArn!,
    runtimeName,
    version,
    imageUri,
    action: 'created',
  };
}
