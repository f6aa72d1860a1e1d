import {
  ListRetrievedTracesCommand,
  StartTraceRetrievalCommand,
  type XRayClient,
} from '@aws-sdk/client-xray';
import { pollUntil, realClock, type Clock } from './poll';

/**
 * An answer's trace, as CloudWatch Transaction Search returns it (X-Ray StartTraceRetrieval +
 * ListRetrievedTraces in OTEL format), shaped for people: a span tree with timings and where the
 * time went (model, first token, tools, memory).
 */

export interface TraceSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
}

/** A span as Transaction Search stores it in `aws/spans` (OTLP fields; times as numbers or strings). */
interface OtlpDocument {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano?: string | number;
  /** `aws/spans` records carry the duration too; used when the end is absent. */
  durationNano?: string | number;
  attributes?: Record<string, unknown>;
}

/** Nanoseconds since the epoch → milliseconds (fractions kept). */
const ms = (nanos: string | number) =>
  typeof nanos === 'number' ? nanos / 1e6 : Number(BigInt(nanos) / 1000n) / 1000;

/** A W3C trace id (32 hex, as the agent reports it) or its X-Ray form `1-5f84c7a1-…`. */
export const isTraceId = (id: string) =>
  /^[0-9a-f]{32}$/i.test(id) || /^1-[0-9a-f]{8}-[0-9a-f]{24}$/i.test(id);
/** Either form → 32 lower-case hex, the key `retrieveTraces` answers by. */
export const w3cTraceId = (id: string) => id.replace(/^1-([0-9a-f]{8})-/i, '$1').toLowerCase();

/** The trace's page in the CloudWatch console (X-Ray trace view; the console shows W3C ids in X-Ray form). */
export function traceConsoleUrl(region: string, traceId: string): string {
  const id = w3cTraceId(traceId);
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#xray:traces/1-${id.slice(0, 8)}-${id.slice(8)}`;
}

/** StartTraceRetrieval takes at most 100 trace ids per call. */
const RETRIEVAL_BATCH = 100;

/**
 * The spans of these traces, from the Transaction Search log group (`aws/spans`), keyed by W3C trace
 * id; traces with no span there yet are absent. Retrieval is asynchronous: polled until COMPLETE.
 */
export async function retrieveTraces(
  xray: XRayClient,
  traceIds: string[],
  window: { start: Date; end: Date },
  options: { timeoutMs?: number; clock?: Clock } = {},
): Promise<Map<string, TraceSpan[]>> {
  const byTrace = new Map<string, TraceSpan[]>();
  for (let i = 0; i < traceIds.length; i += RETRIEVAL_BATCH) {
    const { RetrievalToken } = await xray.send(
      new StartTraceRetrievalCommand({
        TraceIds: traceIds.slice(i, i + RETRIEVAL_BATCH),
        StartTime: window.start,
        EndTime: window.end,
      }),
    );
    const traces = await pollUntil(
      async () => {
        const out = await xray.send(new ListRetrievedTracesCommand({ RetrievalToken, TraceFormat: 'OTEL' }));
        if (
          out.RetrievalStatus === 'FAILED' ||
          out.RetrievalStatus === 'CANCELLED' ||
          out.RetrievalStatus === 'TIMEOUT'
        )
          throw new Error(`trace retrieval ${out.RetrievalStatus}`);
        return out.RetrievalStatus === 'COMPLETE' ? (out.Traces ?? []) : undefined;
      },
      {
        timeoutMs: options.timeoutMs ?? 60_000,
        intervalMs: 1000,
        clock: options.clock,
        what: 'trace retrieval',
      },
    );
    for (const trace of traces) {
      const spans = (trace.Spans ?? []).map((s) => {
        const d = JSON.parse(s.Document ?? '{}') as OtlpDocument;
        return {
          traceId: w3cTraceId(d.traceId),
          spanId: d.spanId,
          ...(d.parentSpanId && { parentSpanId: d.parentSpanId }),
          name: d.name,
          startMs: ms(d.startTimeUnixNano),
          endMs:
            d.endTimeUnixNano !== undefined
              ? ms(d.endTimeUnixNano)
              : ms(d.startTimeUnixNano) + ms(d.durationNano ?? 0),
          attributes: d.attributes ?? {},
        };
      });
      if (spans.length) byTrace.set(spans[0].traceId, spans);
    }
  }
  return byTrace;
}

/** A trace is whole once its run span (`invoke_agent`, the last of the answer's spans to end) is in. */
const isWhole = (spans: TraceSpan[]) => spans.some((s) => opOf(s) === 'invoke_agent');

/**
 * The whole traces of these ids, read again every `pollMs` until all are in or `waitMs` has passed:
 * spans reach Transaction Search seconds (on AWS, up to minutes) after the answer, since the agent
 * exports in batches. Traces still missing at the deadline are absent from the map: the caller says so.
 */
export async function awaitTraces(
  xray: XRayClient,
  traceIds: string[],
  options: { waitMs: number; pollMs?: number; clock?: Clock },
): Promise<Map<string, TraceSpan[]>> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.waitMs;
  const start = new Date(clock.now() - 3600_000);
  const ids = [...new Set(traceIds.map(w3cTraceId))];
  const found = new Map<string, TraceSpan[]>();
  for (;;) {
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length === 0) return found;
    const read = await retrieveTraces(
      xray,
      missing,
      { start, end: new Date(clock.now() + 60_000) },
      { timeoutMs: Math.max(5_000, deadline - clock.now()), clock },
    );
    for (const [id, spans] of read) if (isWhole(spans)) found.set(id, spans);
    const left = deadline - clock.now();
    if (found.size === ids.length || left <= 0) return found;
    await clock.sleep(Math.min(options.pollMs ?? 2000, left));
  }
}

const opOf = (s: TraceSpan) => String(s.attributes['gen_ai.operation.name'] ?? '');
const isBackground = (s: TraceSpan) => s.attributes['app.background_task'] !== undefined;

/** Where an answer's time went, from its spans (background work excluded: it is off the critical path). */
export interface Breakdown {
  totalMs: number;
  /** Time to the first token of the first model call, from the start of the run. */
  firstTokenMs?: number;
  modelMs: number;
  modelCalls: number;
  toolMs: number;
  memoryMs: number;
  /** The longest span under the run, by name. */
  slowest?: { name: string; ms: number };
}

export function breakdown(spans: TraceSpan[]): Breakdown {
  const run = spans.find((s) => opOf(s) === 'invoke_agent') ?? spans[0];
  const under = spans.filter((s) => s !== run && !isBackground(s));
  const sum = (pick: (s: TraceSpan) => boolean) =>
    under.filter(pick).reduce((n, s) => n + (s.endMs - s.startMs), 0);
  const chats = under.filter((s) => opOf(s) === 'chat').sort((a, b) => a.startMs - b.startMs);
  const ttfc = chats[0]?.attributes['gen_ai.response.time_to_first_chunk'];
  const slowest = [...under].sort((a, b) => b.endMs - b.startMs - (a.endMs - a.startMs))[0];
  return {
    totalMs: run ? run.endMs - run.startMs : 0,
    ...(typeof ttfc === 'number' && run && { firstTokenMs: chats[0].startMs - run.startMs + ttfc * 1000 }),
    modelMs: sum((s) => opOf(s) === 'chat'),
    modelCalls: chats.length,
    toolMs: sum((s) => opOf(s) === 'execute_tool'),
    memoryMs: sum((s) => opOf(s) === 'retrieval' || s.name.startsWith('memory ')),
    ...(slowest && { slowest: { name: slowest.name, ms: slowest.endMs - slowest.startMs } }),
  };
}

/**
 * Time per span name in a set of runs of the same prompt: per run the summed duration of the spans of
 * that name (background work left out, the run span too), then the median over the runs (a run
 * without such a span counts 0).
 */
export function spanProfile(runs: TraceSpan[][]): Map<string, number> {
  const perRun = runs.map((spans) => {
    const m = new Map<string, number>();
    for (const s of spans)
      if (!isBackground(s) && opOf(s) !== 'invoke_agent')
        m.set(s.name, (m.get(s.name) ?? 0) + s.endMs - s.startMs);
    return m;
  });
  const names = new Set(perRun.flatMap((m) => [...m.keys()]));
  return new Map([...names].map((name) => [name, median(perRun.map((m) => m.get(name) ?? 0))] as const));
}

const median = (values: number[]) => {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
};

/** The span (by name) whose time grew most from `before` to `after` (two spanProfile results). */
export function grownSpan(
  before: Map<string, number>,
  after: Map<string, number>,
): { name: string; baselineMs: number; candidateMs: number } | undefined {
  let best: { name: string; baselineMs: number; candidateMs: number } | undefined;
  for (const [name, candidateMs] of after) {
    const baselineMs = before.get(name) ?? 0;
    if (!best || candidateMs - baselineMs > best.candidateMs - best.baselineMs)
      best = { name, baselineMs, candidateMs };
  }
  return best && best.candidateMs > best.baselineMs ? best : undefined;
}

/** The span tree with start offsets and durations, one line per span, children indented. */
export function renderTree(spans: TraceSpan[]): string {
  const t0 = Math.min(...spans.map((s) => s.startMs));
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | undefined, TraceSpan[]>();
  for (const s of spans) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, prefix: string) => {
    const kids = (children.get(parent) ?? []).sort((a, b) => a.startMs - b.startMs);
    kids.forEach((s, i) => {
      const last = i === kids.length - 1;
      const branch = parent === undefined ? '' : last ? '└─ ' : '├─ ';
      const label = `${prefix}${branch}${s.name}`;
      lines.push(
        `${label.padEnd(56)} +${(s.startMs - t0).toFixed(0).padStart(6)} ms ${(s.endMs - s.startMs).toFixed(0).padStart(6)} ms  ${details(s)}`.trimEnd(),
      );
      walk(s.spanId, parent === undefined ? prefix : prefix + (last ? '   ' : '│  '));
    });
  };
  walk(undefined, '');
  return lines.join('\n');
}

function details(s: TraceSpan): string {
  const a = s.attributes;
  const parts: string[] = [];
  if (typeof a['gen_ai.response.time_to_first_chunk'] === 'number')
    parts.push(`first token ${((a['gen_ai.response.time_to_first_chunk'] as number) * 1000).toFixed(0)} ms`);
  if (a['gen_ai.usage.input_tokens'] !== undefined)
    parts.push(
      `tokens in ${a['gen_ai.usage.input_tokens']} (cache read ${a['gen_ai.usage.cache_read.input_tokens'] ?? 0}, write ${a['gen_ai.usage.cache_creation.input_tokens'] ?? 0}) out ${a['gen_ai.usage.output_tokens']}`,
    );
  const reasons = a['gen_ai.response.finish_reasons'];
  if (Array.isArray(reasons) && reasons.length) parts.push(reasons.join(','));
  if (a['aws.bedrock.guardrail.action'] && a['aws.bedrock.guardrail.action'] !== 'NONE')
    parts.push(`guardrail ${a['aws.bedrock.guardrail.action']}`);
  if (a['app.background_task']) parts.push(`background: ${a['app.background_task']}`);
  if (a['error.type']) parts.push(`error ${a['error.type']}`);
  return parts.join('  ');
}
