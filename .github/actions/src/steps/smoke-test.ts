import type { TokenUsage } from '@ag-ui/core';
import type { XRayClient } from '@aws-sdk/client-xray';
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
import { breakdown, grownSpan, retrieveTraces, type Breakdown, type TraceSpan } from '../lib/traces';

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
  /** Read each request's trace from Transaction Search (when the agent traces): links and breakdowns. */
  traces?: { xray: XRayClient; timeoutMs?: number; retryDelayMs?: number };
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
  /** Why some traces are missing, when they are. */
  traceNote?: string;
}

export interface SmokeRequest {
  name: string;
  usage: TokenUsage[];
  totalMs?: number;
  /** The request's trace id (RUN_FINISHED metadata), and where its time went once the trace was read. */
  traceId?: string;
  breakdown?: Breakdown;
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
    request.totalMs = Math.round(result.totalMs);
    if (result.traceId) request.traceId = result.traceId;
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
  const traceNote = input.traces ? await explainLatency(requests, gates, input.traces) : undefined;
  const failure = failureMessage(gates);
  return {
    runtimeArn: input.target.runtimeArn,
    qualifier: input.target.qualifier,
    passed: !failure,
    gates,
    latency,
    failure,
    requests,
    ...(traceNote && { traceNote }),
  };
}

/**
 * Read the requests' traces; give each latency sample its breakdown, and a failed latency gate the
 * span that grew most from the fastest sample to the slowest. Traces are evidence, not a gate: when
 * they cannot be read, the note says why and the gates stand as they are.
 */
async function explainLatency(
  requests: SmokeRequest[],
  gates: GateResult[],
  options: NonNullable<SmokeTestInput['traces']>,
): Promise<string | undefined> {
  const traced = requests.filter((r) => r.traceId);
  if (traced.length === 0) return 'No trace ids in the answers: tracing is off in this runtime.';
  const now = Date.now();
  const traces = new Map<string, TraceSpan[]>();
  // Spans land a few seconds after each answer (batched export): read again, briefly, for the missing.
  for (let attempt = 0; attempt < 3; attempt++) {
    const missing = traced.filter((r) => !traces.has(r.traceId!)).map((r) => r.traceId!);
    if (missing.length === 0) break;
    if (attempt > 0) await new Promise((r) => setTimeout(r, options.retryDelayMs ?? 5000));
    try {
      const found = await retrieveTraces(
        options.xray,
        missing,
        { start: new Date(now - 3600_000), end: new Date(Date.now() + 60_000) },
        { timeoutMs: options.timeoutMs ?? 60_000 },
      );
      for (const [id, spans] of found) traces.set(id, spans);
    } catch (e) {
      return `Traces could not be read (${(e as Error).message}); the links still name them.`;
    }
  }
  for (const r of traced) {
    const spans = traces.get(r.traceId!);
    if (spans) r.breakdown = breakdown(spans);
  }
  const samples = traced
    .filter((r) => r.name.startsWith('latency sample') && traces.has(r.traceId!))
    .sort((a, b) => (a.totalMs ?? 0) - (b.totalMs ?? 0));
  const failed = gates.filter(
    (g) => !g.passed && g.gate.startsWith('latency: ') && g.gate !== 'latency: errors',
  );
  if (samples.length >= 2 && failed.length) {
    const grown = grownSpan(traces.get(samples[0].traceId!)!, traces.get(samples.at(-1)!.traceId!)!);
    if (grown) {
      const note = `span that grew most from the fastest to the slowest sample: ${grown.name} (${Math.round(grown.baselineMs)} → ${Math.round(grown.candidateMs)} ms)`;
      for (const g of failed) g.detail = `${g.detail}; ${note}`;
    }
  }
  const missing = traced.length - traced.filter((r) => r.breakdown).length;
  return missing ? `${missing} of ${traced.length} traces were not in Transaction Search yet.` : undefined;
}
