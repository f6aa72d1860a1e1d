import type { CreateAgentRuntimeRequest } from '@aws-sdk/client-bedrock-agentcore-control';
import { agentEnvironment, type StackOutputKey } from './agent-contract';
import type { PricesFile } from './prices-schema';

/**
 * A runtime's configuration in the AgentCore API's shape (CreateAgentRuntime without name, image,
 * description, tags and token): what the stack declares, the preview step creates and the rehearsal
 * provisions — built by `runtimeSpec` only, so the three cannot drift apart.
 */
export type RuntimeSpec = Required<
  Pick<
    CreateAgentRuntimeRequest,
    | 'roleArn'
    | 'networkConfiguration'
    | 'protocolConfiguration'
    | 'lifecycleConfiguration'
    | 'authorizerConfiguration'
    | 'requestHeaderConfiguration'
    | 'environmentVariables'
  >
>;

/** The deployed resources a runtime points at: ids from a stack (CDK tokens inside the stack, strings outside). */
export interface RuntimeResources {
  executionRoleArn: string;
  /** OIDC discovery URL of the Cognito pool (…/.well-known/openid-configuration). */
  discoveryUrl: string;
  /** Cognito app clients whose access tokens the runtime accepts (`client_id`; Cognito sets no `aud`). */
  allowedClients: string[];
  guardrailId: string;
  guardrailVersion: string;
  memoryId: string;
  /** `loadPrices()`: the agent prices its answers with its models' prices. */
  prices: PricesFile;
}

/**
 * The one runtime configuration of `env`. The JWT authorizer admits the pool's clients, and
 * `Authorization` is allow-listed so the agent sees the caller's token: its `sub` is the memory actor,
 * without it every user would share one memory.
 */
export function runtimeSpec(
  env: Parameters<typeof agentEnvironment>[0] & {
    runtime: { idleTimeoutSeconds: number; maxLifetimeSeconds: number };
  },
  resources: RuntimeResources,
): RuntimeSpec {
  return {
    roleArn: resources.executionRoleArn,
    networkConfiguration: { networkMode: 'PUBLIC' },
    protocolConfiguration: { serverProtocol: 'AGUI' },
    lifecycleConfiguration: {
      idleRuntimeSessionTimeout: env.runtime.idleTimeoutSeconds,
      maxLifetime: env.runtime.maxLifetimeSeconds,
    },
    authorizerConfiguration: {
      customJWTAuthorizer: {
        discoveryUrl: resources.discoveryUrl,
        allowedClients: resources.allowedClients,
      },
    },
    requestHeaderConfiguration: { requestHeaderAllowlist: ['Authorization'] },
    environmentVariables: agentEnvironment(env, {
      guardrailId: resources.guardrailId,
      guardrailVersion: resources.guardrailVersion,
      memoryId: resources.memoryId,
      prices: resources.prices,
    }),
  };
}

/** The resources of an environment as its stack published them (its outputs parameter). */
export function resourcesFromStackOutputs(
  outputs: Record<StackOutputKey, string>,
  prices: PricesFile,
): RuntimeResources {
  return {
    executionRoleArn: outputs.ExecutionRoleArn,
    discoveryUrl: outputs.DiscoveryUrl,
    allowedClients: [outputs.UserClientId, outputs.MachineClientId],
    guardrailId: outputs.GuardrailId,
    guardrailVersion: outputs.GuardrailVersion,
    memoryId: outputs.MemoryId,
    prices,
  };
}
