import {
  ListRetrievedTracesCommand,
  StartTraceRetrievalCommand,
  type XRayClient,
} from '@aws-sdk/client-xray';
import { pollUntil, type Clock } from './poll';

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

interface OtlpDocument {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: Record<string, unknown>;
}

const ms = (nanos: string) => Number(BigInt(nanos) / 1000n) / 1000;

/** A W3C trace id (32 hex, as the agent reports it) or its X-Ray form `1-5f84c7a1-…`. */
export const isTraceId = (id: string) =>
  /^[0-9a-f]{32}$/i.test(id) || /^1-[0-9a-f]{8}-[0-9a-f]{24}$/i.test(id);
/** Either form → 32 lower-case hex, the key `retrieveTraces` answers by. */
export const w3cTraceId = (id: string) => id.replace(/^1-([0-9a-f]{8})-/i, '$1').toLowerCase();

/**
 * The spans of these traces, from the Transaction Search log group. Retrieval is asynchronous:
 * polled until COMPLETE. Spans reach the log group a few seconds after a run (batched export).
 */
export async function retrieveTraces(
  xray: XRayClient,
  traceIds: string[],
  window: { start: Date; end: Date },
  options: { timeoutMs?: number; clock?: Clock } = {},
): Promise<Map<string, TraceSpan[]>> {
  const { RetrievalToken } = await xray.send(
    new StartTraceRetrievalCommand({ TraceIds: traceIds, StartTime: window.start, EndTime: window.end }),
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
  const byTrace = new Map<string, TraceSpan[]>();
  for (const trace of traces) {
    const spans = (trace.Spans ?? []).map((s) => {
      const d = JSON.parse(s.Document ?? '{}') as OtlpDocument;
      return {
        traceId: d.traceId,
        spanId: d.spanId,
        ...(d.parentSpanId && { parentSpanId: d.parentSpanId }),
        name: d.name,
        startMs: ms(d.startTimeUnixNano),
        endMs: ms(d.endTimeUnixNano),
        attributes: d.attributes ?? {},
      };
    });
    if (spans.length) byTrace.set(spans[0].traceId, spans);
  }
  return byTrace;
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

/** The span (by name) whose duration grew most between two traces of the same prompt. */
export function grownSpan(
  baseline: TraceSpan[],
  candidate: TraceSpan[],
): { name: string; baselineMs: number; candidateMs: number } | undefined {
  const total = (spans: TraceSpan[]) => {
    const m = new Map<string, number>();
    for (const s of spans) if (!isBackground(s)) m.set(s.name, (m.get(s.name) ?? 0) + s.endMs - s.startMs);
    return m;
  };
  const before = total(baseline);
  const after = total(candidate);
  const run = (name: string) => name.startsWith('invoke_agent');
  let best: { name: string; baselineMs: number; candidateMs: number } | undefined;
  for (const [name, candidateMs] of after) {
    if (run(name)) continue;
    const baselineMs = before.get(name) ?? 0;
    if (!best || candidateMs - baselineMs > best.candidateMs - best.baselineMs)
      best = { name, baselineMs, candidateMs };
  }
  return best;
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
