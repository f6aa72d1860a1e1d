import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  CreateAgentRuntimeCommand,
  UpdateAgentRuntimeCommand,
  type BedrockAgentCoreControlClient,
  type CreateAgentRuntimeRequest,
  type GetAgentRuntimeResponse,
  type UpdateAgentRuntimeRequest,
} from '@aws-sdk/client-bedrock-agentcore-control';
import {
  containerUri,
  findRuntime,
  getEndpoint,
  getRuntimeWithRaw,
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
  /** The runtime's id from the environment's stack outputs; without it the runtime is found by name. */
  runtimeId?: string;
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

/**
 * What GetAgentRuntime returns that the service sets itself (an update neither takes nor clears it).
 * With UPDATE_FIELDS it must cover every response member: a member added to the SDK is a compile
 * error until someone decides which list it belongs to.
 */
const READ_ONLY_FIELDS = {
  agentRuntimeArn: true,
  agentRuntimeName: true,
  agentRuntimeId: true,
  agentRuntimeVersion: true,
  createdAt: true,
  lastUpdatedAt: true,
  status: true,
  failureReason: true,
  workloadIdentityDetails: true,
} satisfies Record<Exclude<keyof GetAgentRuntimeResponse, keyof typeof UPDATE_FIELDS>, true>;

type RuntimeConfig = Omit<UpdateAgentRuntimeRequest, 'agentRuntimeId' | 'clientToken'>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/**
 * Paths of fields in the service's raw GetAgentRuntime body that an update built from the parsed
 * response would not carry: top-level fields in neither list above, and members (at any depth) the
 * bundled SDK's model lacks, which it drops while parsing (an unknown union member too).
 */
export function uncarriedFields(raw: Record<string, unknown>, parsed: Runtime): string[] {
  const found: string[] = [];
  const walk = (r: unknown, p: unknown, at: string) => {
    if (Array.isArray(r)) {
      r.forEach((item, i) => walk(item, Array.isArray(p) ? p[i] : undefined, `${at}[${i}]`));
      return;
    }
    if (!isObject(r)) return;
    const known = isObject(p) ? p : {};
    for (const [k, v] of Object.entries(r)) {
      if (v === null || v === undefined) continue;
      if (known[k] === undefined) found.push(`${at}.${k}`);
      else walk(v, known[k], `${at}.${k}`);
    }
  };
  const parsedFields = parsed as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(raw)) {
    if (v === null || v === undefined || k in READ_ONLY_FIELDS) continue;
    if (!(k in UPDATE_FIELDS) || parsedFields[k] === undefined) found.push(k);
    else walk(v, parsedFields[k], k);
  }
  return found;
}

/** Refuse an update that would clear a field: name the fields and the fix. */
function assertNothingCleared(runtime: Runtime, raw: Record<string, unknown>): void {
  const fields = uncarriedFields(raw, runtime);
  if (!fields.length) return;
  throw new Error(
    `runtime ${runtime.agentRuntimeName} version ${runtime.agentRuntimeVersion} has ${fields.join(', ')}, which UpdateAgentRuntime would clear: ` +
      'the update is a full replace and this action does not carry those fields, so nothing was changed. ' +
      'Upgrade @aws-sdk/client-bedrock-agentcore-control and add each field to UPDATE_FIELDS in ' +
      '.github/actions/src/steps/deploy-runtime.ts (or to READ_ONLY_FIELDS if the service sets it itself), then rebuild the actions',
  );
}

/** Every field an update carries, copied from a GetAgentRuntime response. */
export function configOf(source: Runtime): RuntimeConfig {
  const config: Record<string, unknown> = {};
  for (const key of Object.keys(UPDATE_FIELDS) as (keyof typeof UPDATE_FIELDS)[]) {
    if (source[key] !== undefined) config[key] = structuredClone(source[key]);
  }
  return config as RuntimeConfig;
}

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
  const artifact = current.agentRuntimeArtifact;
  if (!artifact?.containerConfiguration) {
    throw new Error(
      `runtime ${current.agentRuntimeName} has no container artifact; an artifact's type cannot be changed by an update`,
    );
  }
  return {
    ...configOf(current),
    agentRuntimeId: current.agentRuntimeId,
    agentRuntimeArtifact: {
      containerConfiguration: { ...artifact.containerConfiguration, containerUri: imageUri },
    },
    roleArn: current.roleArn,
    clientToken: deployClientToken(current.agentRuntimeId!, current.agentRuntimeVersion, imageUri),
  };
}

/** The stack's runtime id must name the environment's runtime: anything else is a mis-wired outputs parameter. */
function checkName(runtime: Runtime, runtimeName: string): void {
  if (runtime.agentRuntimeName !== runtimeName) {
    throw new Error(
      `runtime ${runtime.agentRuntimeId} (from the stack outputs) is named ${runtime.agentRuntimeName}, not ${runtimeName}; redeploy the environment's stack`,
    );
  }
}

/**
 * Blue/green step 1–2: put `imageUri` into a new runtime version and wait until it is READY.
 * DEFAULT follows the new version (the candidate); the `live` endpoint is left alone.
 */
export async function deployRuntime(input: DeployRuntimeInput): Promise<DeployRuntimeResult> {
  const { control, runtimeName, imageUri, wait } = input;
  const log = input.log ?? (() => {});
  const id = input.runtimeId ?? (await findRuntime(control, runtimeName))?.agentRuntimeId;
  if (!id) {
    if (!input.createIfMissing) {
      throw new Error(
        `no AgentCore runtime is named "${runtimeName}"; deploy the environment's stack first (cdk deploy)`,
      );
    }
    return create(input, input.createIfMissing);
  }
  const settled = await waitUntilSettled(control, id, wait);
  checkName(settled, runtimeName);
  const base = { runtimeId: id, runtimeArn: settled.agentRuntimeArn!, runtimeName, imageUri };
  if (containerUri(settled) === imageUri && settled.status === 'READY') {
    log(
      `runtime ${runtimeName} version ${settled.agentRuntimeVersion} already runs ${imageUri}; nothing to deploy`,
    );
    return {
      ...base,
      version: settled.agentRuntimeVersion!,
      previousVersion: settled.agentRuntimeVersion,
      action: 'unchanged',
    };
  }
  const { runtime: current, raw } = await getRuntimeWithRaw(control, id);
  assertNothingCleared(current, raw);
  log(
    `updating ${runtimeName} from version ${current.agentRuntimeVersion} (${containerUri(current)}) to ${imageUri}`,
  );
  const updated = await control.send(new UpdateAgentRuntimeCommand(updateRequest(current, imageUri)));
  const version = updated.agentRuntimeVersion!;
  await waitUntilReady(control, id, version, wait);
  log(`runtime ${runtimeName} version ${version} is READY`);
  return { ...base, version, previousVersion: current.agentRuntimeVersion, action: 'updated' };
}

export interface RestoreDefaultInput {
  control: BedrockAgentCoreControlClient;
  runtimeId: string;
  runtimeName: string;
  /** The endpoint clients call (`runtime.liveEndpoint`): DEFAULT is made to serve what it serves. */
  endpointName: string;
  wait: WaitOptions;
  log?: (message: string) => void;
}

export interface RestoreDefaultResult {
  runtimeId: string;
  runtimeArn: string;
  runtimeName: string;
  /** The version DEFAULT serves now. */
  version: string;
  /** The version the live endpoint serves (whose image and configuration DEFAULT now has). */
  liveVersion: string;
  /** The newest version before the restore: the rejected candidate. */
  rejectedVersion: string;
  imageUri: string;
  action: 'restored' | 'unchanged';
}

/**
 * After a failed gate: DEFAULT follows the newest version, and the runtime's JWT authorizer accepts
 * user tokens on any qualifier, so the rejected candidate stays callable until a newer version
 * exists. Make one from what `live` serves (its version's image and full configuration).
 */
export async function restoreDefault(input: RestoreDefaultInput): Promise<RestoreDefaultResult> {
  const { control, runtimeId, runtimeName, endpointName, wait } = input;
  const log = input.log ?? (() => {});
  const newest = await waitUntilSettled(control, runtimeId, wait);
  checkName(newest, runtimeName);
  const liveVersion = (await getEndpoint(control, runtimeId, endpointName)).liveVersion;
  if (!liveVersion)
    throw new Error(
      `endpoint ${endpointName} of ${runtimeName} serves no version; nothing to restore DEFAULT to`,
    );
  const { runtime: live, raw } = await getRuntimeWithRaw(control, runtimeId, liveVersion);
  const result = {
    runtimeId,
    runtimeArn: newest.agentRuntimeArn!,
    runtimeName,
    liveVersion,
    rejectedVersion: newest.agentRuntimeVersion!,
    imageUri: containerUri(live)!,
  };
  if (
    newest.agentRuntimeVersion === liveVersion ||
    (newest.status === 'READY' && isDeepStrictEqual(configOf(newest), configOf(live)))
  ) {
    log(
      `DEFAULT (version ${newest.agentRuntimeVersion}) already serves what ${endpointName} serves (version ${liveVersion}); nothing to restore`,
    );
    return { ...result, version: newest.agentRuntimeVersion!, action: 'unchanged' };
  }
  assertNothingCleared(live, raw);
  log(
    `DEFAULT serves version ${newest.agentRuntimeVersion} (${containerUri(newest)}); restoring it to ${endpointName}'s version ${liveVersion} (${containerUri(live)})`,
  );
  const updated = await control.send(
    new UpdateAgentRuntimeCommand({
      ...configOf(live),
      agentRuntimeId: runtimeId,
      clientToken: createHash('sha256')
        .update(`RestoreDefault\n${runtimeId}\n${newest.agentRuntimeVersion}\n${liveVersion}`)
        .digest('hex'),
    }),
  );
  const version = updated.agentRuntimeVersion!;
  await waitUntilReady(control, runtimeId, version, wait);
  log(`DEFAULT serves version ${version}: ${endpointName}'s image and configuration`);
  return { ...result, version, action: 'restored' };
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
