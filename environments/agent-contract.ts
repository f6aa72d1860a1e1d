import { modelPricesVariable, type PricesFile } from './prices-schema';

/**
 * Values the agent reads and the stack, the pipeline and the docs must agree on — defined once.
 * The agent receives them as environment variables (MEMORY_*_NAMESPACE, METRICS_NAMESPACE).
 */

/** Namespaces the memory strategies write long-term records to and the agent retrieves from. */
export const memoryNamespaces = {
  semantic: '/facts/{actorId}',
  userPreference: '/preferences/{actorId}',
  summary: '/summaries/{actorId}/{sessionId}',
} as const;

/** The memory's long-term strategies as CreateMemory takes them: what the stack gives the agent, and
 * what `npm start` and the tests create on the twin. */
type Strategy = { name: string; namespaces: string[] };
export const memoryStrategies: (
  | { semanticMemoryStrategy: Strategy }
  | { userPreferenceMemoryStrategy: Strategy }
  | { summaryMemoryStrategy: Strategy }
)[] = [
  { semanticMemoryStrategy: { name: 'facts', namespaces: [memoryNamespaces.semantic] } },
  { userPreferenceMemoryStrategy: { name: 'preferences', namespaces: [memoryNamespaces.userPreference] } },
  { summaryMemoryStrategy: { name: 'summaries', namespaces: [memoryNamespaces.summary] } },
];

/** CloudWatch namespace of the agent's own embedded-metric-format metrics (dimension `Environment`). */
export const metricsNamespace = 'AgentCoreGitops';

/** Metric names the agent emits that alarms watch. */
export const agentMetricNames = {
  timeToFirstToken: 'TimeToFirstToken',
  inputTokens: 'inputTokens',
  outputTokens: 'outputTokens',
} as const;

/** Tag every preview runtime carries; the preview role may only create and change runtimes with it. */
export const previewTag = { key: 'agentcore-gitops:purpose', value: 'preview' } as const;

/** Keys of the CloudFormation outputs an environment stack exports (export name: `exportName(names, key)`). */
export const stackOutputKeys = [
  'RuntimeId',
  'RuntimeArn',
  'LiveEndpointName',
  'ExecutionRoleArn',
  'MemoryId',
  'GuardrailId',
  'GuardrailVersion',
  'UserPoolId',
  'DiscoveryUrl',
  'UserClientId',
  'MachineClientId',
  'InvokeScope',
  'TokenEndpoint',
  'AlarmTopicArn',
  'AlarmNamePrefix',
] as const;
export type StackOutputKey = (typeof stackOutputKeys)[number];

/**
 * The agent's environment variables for a runtime of `env` — the one definition the stack (dev,
 * prod) and the preview step share. Ids of deployed resources are passed in (CDK tokens or strings),
 * with `loadPrices()`: the agent prices its answers with MODEL_PRICES, its models' prices from it.
 */
export function agentEnvironment(
  env: {
    name: string;
    models: { primary: string; background: string };
    guardrail: { streamMode: string };
    runtime: { logLevel: string };
  },
  resources: { guardrailId: string; guardrailVersion: string; memoryId?: string; prices: PricesFile },
): Record<string, string> {
  return {
    MODEL_ID: env.models.primary,
    BACKGROUND_MODEL_ID: env.models.background,
    GUARDRAIL_ID: resources.guardrailId,
    GUARDRAIL_VERSION: resources.guardrailVersion,
    GUARDRAIL_STREAM_MODE: env.guardrail.streamMode,
    ...(resources.memoryId && { MEMORY_ID: resources.memoryId }),
    MEMORY_SEMANTIC_NAMESPACE: memoryNamespaces.semantic,
    MEMORY_PREFERENCE_NAMESPACE: memoryNamespaces.userPreference,
    MEMORY_SUMMARY_NAMESPACE: memoryNamespaces.summary,
    LOG_LEVEL: env.runtime.logLevel,
    AGENT_ENV: env.name,
    METRICS_NAMESPACE: metricsNamespace,
    MODEL_PRICES: modelPricesVariable(resources.prices, env.models),
    // Traces: AgentCore's switch (as ADOT reads it). The agent exports to the X-Ray OTLP endpoint of
    // its region, SigV4-signed as the execution role; the console groups them by service and session.
    AGENT_OBSERVABILITY_ENABLED: 'true',
    OTEL_SERVICE_NAME: `agent-${env.name}`,
  };
}
