import type { TokenUsage } from '@ag-ui/core';
import type { SmokeCase } from '../../../../environments';
import { invokeAgent, type InvokeResult, type InvokeTarget } from '../lib/agui';
import { clientCredentialsToken, type ClientCredentials } from '../lib/cognito';
import {
  evaluateCase,
  evaluateLatency,
  failureMessage,
  latencyStats,
  type GateResult,
  type LatencySample,
  type LatencyStats,
  type LatencyThresholds,
} from '../lib/gates';
import { runConcurrently } from '../lib/stats';

export interface SmokeTestInput {
  target: Omit<InvokeTarget, 'bearerToken'>;
  credentials: ClientCredentials;
  cases: SmokeCase[];
  /** The guardrail's blocked-input message: a blocked case must answer exactly this. */
  blockedMessage: string;
  samples: number;
  concurrency: number;
  thresholds: LatencyThresholds;
  /** Called with the access token before it is used, so the caller can mask it. */
  onToken?: (token: string) => void;
  timeoutMs?: number;
}

export interface SmokeReport {
  runtimeArn: string;
  qualifier: string;
  passed: boolean;
  gates: GateResult[];
  latency: LatencyStats;
  /** Set when a gate failed: which and by how much. */
  failure?: string;
  /** Every request the gate sent, with the tokens its RUN_FINISHED reported (none when it failed). */
  requests: SmokeRequest[];
}

export interface SmokeRequest {
  name: string;
  usage: TokenUsage[];
}

/** Run the environment's guardrail cases and a latency sample against one endpoint; judge the gates. */
export async function smokeTest(input: SmokeTestInput): Promise<SmokeReport> {
  const token = await clientCredentialsToken(input.credentials);
  input.onToken?.(token);
  const target: InvokeTarget = { ...input.target, bearerToken: token };
  const requests: SmokeRequest[] = [];
  const invoke = async (name: string, prompt: string): Promise<InvokeResult> => {
    const request: SmokeRequest = { name, usage: [] };
    requests.push(request);
    const result = await invokeAgent(target, prompt, { timeoutMs: input.timeoutMs });
    request.usage = result.usage;
    return result;
  };

  const caseGates = await Promise.all(
    input.cases.map(async (c) =>
      evaluateCase(
        c,
        await invoke(`case: ${c.name}`, c.prompt).catch((e: unknown) =>
          e instanceof Error ? e : new Error(String(e)),
        ),
        input.blockedMessage,
      ),
    ),
  );

  const prompt = (input.cases.find((c) => c.expect === 'answered') ?? input.cases[0]).prompt;
  const samples = await runConcurrently(
    input.samples,
    input.concurrency,
    async (i): Promise<LatencySample> => {
      try {
        const r = await invoke(`latency sample ${i + 1}`, prompt);
        return r.runError
          ? { totalMs: r.totalMs, error: r.runError.message }
          : { firstTokenMs: r.firstTokenMs, totalMs: r.totalMs };
      } catch (e) {
        return { totalMs: NaN, error: (e as Error).message };
      }
    },
  );
  const latency = latencyStats(samples);
  const gates = [...caseGates, ...evaluateLatency(latency, input.thresholds)];
  const failure = failureMessage(gates);
  return {
    runtimeArn: input.target.runtimeArn,
    qualifier: input.target.qualifier,
    passed: !failure,
    gates,
    latency,
    failure,
    requests,
  };
}
