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
import {
  awaitTraces,
  breakdown,
  grownSpan,
  spanProfile,
  traceConsoleUrl,
  w3cTraceId,
  type Breakdown,
  type TraceSpan,
} from '../lib/traces';

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
  /** Read the slowest requests' traces from Transaction Search (when the agent traces): where their time went. */
  traces?: {
    xray: XRayClient;
    /** How long to wait for spans to be searchable (batched export, then indexing); then a note says what is missing. */
    waitMs?: number;
    pollMs?: number;
  };
  /**
   * The endpoint the candidate is compared with when a latency gate fails (the environment's live
   * endpoint): the same prompt is sent to it and the span that grew most is named.
   */
  baseline?: Omit<InvokeTarget, 'bearerToken'>;
}

/** How many of the slowest requests get their time broken down in the summary. */
export const SLOWEST_EXPLAINED = 3;
/** Requests sent to the baseline when a latency gate failed. */
const BASELINE_SAMPLES = 3;

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
  /** After a failed latency gate: the span that grew most, and against what. */
  grownSpan?: { name: string; baselineMs: number; candidateMs: number; against: string };
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
  const waitMs = input.traces?.waitMs;
  if (waitMs !== undefined && !(waitMs >= 0 && waitMs <= 600_000))
    throw new Error(
      `input "trace-wait-seconds" must be from 0 to 600, got ${waitMs / 1000}: it bounds the wait for traces, which never gate`,
    );
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
  const explained = input.traces
    ? await explainLatency(requests, gates, { ...input, traces: input.traces, token, prompt })
    : {};
  const failure = failureMessage(gates);
  return {
    runtimeArn: input.target.runtimeArn,
    qualifier: input.target.qualifier,
    passed: !failure,
    gates,
    latency,
    failure,
    requests,
    ...explained,
  };
}

const isLatencySample = (r: SmokeRequest) => r.name.startsWith('latency sample');

/**
 * Read the slowest requests' traces and give each its breakdown; when a latency gate failed, read
 * every sample's trace too, and name the span that grew most against the baseline endpoint (the same
 * prompt sent to it), else from the fastest sample to the slowest. Traces are evidence, not a gate:
 * when they cannot be read in time, a note says why and the gates stand as they are.
 */
async function explainLatency(
  requests: SmokeRequest[],
  gates: GateResult[],
  input: SmokeTestInput & {
    traces: NonNullable<SmokeTestInput['traces']>;
    token: string;
    prompt: string;
  },
): Promise<Pick<SmokeReport, 'traceNote' | 'grownSpan'>> {
  const traced = requests.filter((r) => r.traceId);
  if (traced.length === 0)
    return {
      traceNote:
        'no trace ids in the answers: tracing is off in this runtime (AGENT_OBSERVABILITY_ENABLED unset?)',
    };
  const failed = gates.filter((g) => !g.passed && /^latency: (first token|total) p95$/.test(g.gate));
  const slowest = [...traced].sort((a, b) => (b.totalMs ?? 0) - (a.totalMs ?? 0)).slice(0, SLOWEST_EXPLAINED);
  const wanted = failed.length ? [...new Set([...slowest, ...traced.filter(isLatencySample)])] : slowest;
  const waitMs = input.traces.waitMs ?? 60_000;
  const read = (ids: string[]) =>
    awaitTraces(input.traces.xray, ids, { waitMs, pollMs: input.traces.pollMs });
  let traces: Map<string, TraceSpan[]>;
  try {
    traces = await read(wanted.map((r) => r.traceId!));
  } catch (e) {
    return {
      traceNote: `traces could not be read from Transaction Search (${(e as Error).message}); the links still name them`,
    };
  }
  const spansOf = (r: SmokeRequest) => traces.get(w3cTraceId(r.traceId!));
  for (const r of wanted) {
    const spans = spansOf(r);
    if (spans) r.breakdown = breakdown(spans);
  }
  const missing = wanted.filter((r) => !r.breakdown).length;
  const notes = missing
    ? [
        `${missing} of ${wanted.length} traces were not in Transaction Search within ${Math.round(waitMs / 1000)} s (spans are searchable seconds to minutes after an answer; the links work once they are)`,
      ]
    : [];
  if (failed.length === 0) return notes.length ? { traceNote: notes.join('; ') } : {};

  const candidate = traced
    .filter(isLatencySample)
    .map(spansOf)
    .filter((s): s is TraceSpan[] => !!s);
  let grown: SmokeReport['grownSpan'];
  if (input.baseline && candidate.length) {
    const baseline = await baselineRuns(input, read).catch((e: Error) => {
      notes.push(`the baseline ${input.baseline!.qualifier} could not be compared: ${e.message}`);
      return [];
    });
    const g = baseline.length ? grownSpan(spanProfile(baseline), spanProfile(candidate)) : undefined;
    if (g)
      grown = {
        ...g,
        against: `${input.baseline.qualifier} (median of ${baseline.length} ${input.baseline.qualifier} and ${candidate.length} candidate samples)`,
      };
  }
  if (!grown && candidate.length >= 2) {
    const bySpeed = traced
      .filter((r) => isLatencySample(r) && spansOf(r))
      .sort((a, b) => (a.totalMs ?? 0) - (b.totalMs ?? 0));
    const g = grownSpan(spanProfile([spansOf(bySpeed[0])!]), spanProfile([spansOf(bySpeed.at(-1)!)!]));
    if (g) grown = { ...g, against: 'the fastest sample, in the slowest' };
  }
  if (grown) {
    const note = `span that grew most against ${grown.against}: ${grown.name} ${Math.round(grown.baselineMs)} → ${Math.round(grown.candidateMs)} ms`;
    for (const g of failed) g.detail = `${g.detail}; ${note}`;
  } else notes.push('no span to name for the failed latency gate: too few traces were readable');
  return { ...(notes.length && { traceNote: notes.join('; ') }), ...(grown && { grownSpan: grown }) };
}

/** The prompt sent to the baseline endpoint a few times, one after another; the traces of those answers. */
async function baselineRuns(
  input: SmokeTestInput & { token: string; prompt: string },
  read: (ids: string[]) => Promise<Map<string, TraceSpan[]>>,
): Promise<TraceSpan[][]> {
  const target: InvokeTarget = { ...input.baseline!, bearerToken: input.token };
  const ids: string[] = [];
  for (let i = 0; i < Math.min(BASELINE_SAMPLES, input.samples); i++) {
    const r = await invokeAgent(target, input.prompt, { timeoutMs: input.timeoutMs });
    if (r.runError) throw new Error(`it answered RUN_ERROR: ${r.runError.message}`);
    if (!r.traceId) throw new Error('its answers carry no trace id (tracing off there)');
    ids.push(r.traceId);
  }
  const traces = await read(ids);
  return ids.map((id) => traces.get(w3cTraceId(id))).filter((s): s is TraceSpan[] => !!s);
}

/**
 * The job summary's traces section: every request linked to its trace in the CloudWatch console,
 * slowest first, and for the slowest where the time went (from their spans).
 */
export function traceSummaryMarkdown(report: SmokeReport, region: string): string {
  const ms = (n: number | undefined) => (n === undefined ? '?' : `${Math.round(n)} ms`);
  const rows = [...report.requests]
    .sort((a, b) => (b.totalMs ?? 0) - (a.totalMs ?? 0))
    .map((r) => {
      const b = r.breakdown;
      const trace = r.traceId ? `[${r.traceId}](${traceConsoleUrl(region, r.traceId)})` : 'no trace id';
      const where = b
        ? [
            ms(b.firstTokenMs),
            `${ms(b.modelMs)} (${b.modelCalls})`,
            ms(b.toolMs),
            ms(b.memoryMs),
            b.slowest ? `${b.slowest.name} ${ms(b.slowest.ms)}` : '-',
          ]
        : ['', '', '', '', ''];
      return `| ${r.name.replaceAll('|', '\\|')} | ${r.totalMs ?? '-'} | ${where.join(' | ')} | ${trace} |`;
    });
  const grown = report.grownSpan
    ? `\n\nLatency gate failed: the span that grew most against ${report.grownSpan.against} is **${report.grownSpan.name}** (${ms(report.grownSpan.baselineMs)} → ${ms(report.grownSpan.candidateMs)}).`
    : '';
  return [
    '',
    `**Traces** (CloudWatch → Application Signals → Transaction Search, or the link; in a terminal: \`npm run trace -- <trace id> --aws\`). Where the time went in the ${SLOWEST_EXPLAINED} slowest requests:${report.traceNote ? ` ${report.traceNote}.` : ''}${grown}`,
    '',
    '| Request | Total ms | First token | Model (calls) | Tools | Memory | Slowest span | Trace |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
