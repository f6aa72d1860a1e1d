/** Twin options for the AgentCore runtime control and data plane. */
export interface AgentCoreOptions {
  /** How long a runtime version stays CREATING/UPDATING before it settles (default 50 ms). */
  readyDelayMs?: number;
  /** How long an endpoint stays CREATING/UPDATING before it settles (default: readyDelayMs). */
  endpointReadyDelayMs?: number;
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

export const agentCoreDefaults = (o: AgentCoreOptions = {}) => ({
  readyDelayMs: o.readyDelayMs ?? 50,
  endpointReadyDelayMs: o.endpointReadyDelayMs ?? o.readyDelayMs ?? 50,
  lifecycleScale: o.lifecycleScale ?? 1,
  startTimeoutMs: o.startTimeoutMs ?? 30_000,
  logAgentOutput: o.logAgentOutput ?? false,
});
