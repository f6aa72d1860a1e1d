/** Twin options for the AgentCore runtime control and data plane. */
export interface AgentCoreOptions {
  /** How long a runtime version stays CREATING/UPDATING before it settles (default 50 ms). */
  readyDelayMs?: number;
  /** How long CreateAgentRuntime stays CREATING (default: readyDelayMs). */
  createDelayMs?: number;
  /** How long UpdateAgentRuntime stays UPDATING (default: readyDelayMs). */
  updateDelayMs?: number;
  /** How long a runtime, version or endpoint stays DELETING before it is gone (default: readyDelayMs). */
  deleteDelayMs?: number;
  /** How long an endpoint stays CREATING/UPDATING before it settles (default: readyDelayMs). */
  endpointReadyDelayMs?: number;
  /**
   * How long a version no endpoint points at survives (default 45 days, as AgentCore's quotas page
   * documents: "Inactive versions deleted after 45 days"). Reach it with `twin.clock.advance`.
   */
  inactiveVersionRetentionMs?: number;
  /**
   * Multiplies the runtime's lifecycle timeouts (idleRuntimeSessionTimeout, maxLifetime; seconds),
   * so a test can reap an instance after 60 s × 0.005 = 300 ms. Default 1.
   */
  lifecycleScale?: number;
  /** How long a started agent has to answer GET /ping healthy (default 30 s). */
  startTimeoutMs?: number;
  /** Also print the agents' stdout/stderr lines to the twin's stderr, prefixed (default false). */
  logAgentOutput?: boolean;
}

/**
 * Delays of the order a real account shows (AWS documents none): for `npm run twin -- --realistic-timing`
 * and for tests that exercise the pipeline's polls and timeouts with waits of seconds.
 */
export const REALISTIC_TIMING = {
  createDelayMs: 30_000,
  updateDelayMs: 20_000,
  deleteDelayMs: 15_000,
  endpointReadyDelayMs: 10_000,
} satisfies AgentCoreOptions;

export const INACTIVE_VERSION_RETENTION_MS = 45 * 24 * 3600 * 1000;

export const agentCoreDefaults = (o: AgentCoreOptions = {}) => ({
  readyDelayMs: o.readyDelayMs ?? 50,
  createDelayMs: o.createDelayMs ?? o.readyDelayMs ?? 50,
  updateDelayMs: o.updateDelayMs ?? o.readyDelayMs ?? 50,
  deleteDelayMs: o.deleteDelayMs ?? o.readyDelayMs ?? 50,
  endpointReadyDelayMs: o.endpointReadyDelayMs ?? o.readyDelayMs ?? 50,
  inactiveVersionRetentionMs: o.inactiveVersionRetentionMs ?? INACTIVE_VERSION_RETENTION_MS,
  lifecycleScale: o.lifecycleScale ?? 1,
  startTimeoutMs: o.startTimeoutMs ?? 30_000,
  logAgentOutput: o.logAgentOutput ?? false,
});
