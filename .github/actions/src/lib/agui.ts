import { randomUUID } from 'node:crypto';
import { runHttpRequest, transformHttpEventStream } from '@ag-ui/client';
import { EventType, type BaseEvent, type RunAgentInput, type TokenUsage } from '@ag-ui/core';

/** Where and how to call one runtime endpoint with a bearer JWT (the SDK signs SigV4 only). */
export interface InvokeTarget {
  /** Data-plane base URL, e.g. https://bedrock-agentcore.us-east-1.amazonaws.com */
  dataPlaneUrl: string;
  runtimeArn: string;
  qualifier: string;
  bearerToken: string;
}

export interface InvokeResult {
  /** Concatenated assistant text. */
  answer: string;
  events: BaseEvent[];
  /** From request start to the first assistant text; undefined when no text arrived. */
  firstTokenMs?: number;
  totalMs: number;
  runError?: { message: string; code?: string };
  /** What the agent reported the guardrail did (its CUSTOM `guardrail` event); undefined when it reported nothing. */
  guardrail?: GuardrailReport;
  /** RUN_FINISHED `usage`: tokens per model (AG-UI counts cache tokens inside inputTokens); empty without it. */
  usage: TokenUsage[];
  /** The answer's trace (RUN_FINISHED / RUN_ERROR `metadata.traceId`); undefined when tracing is off. */
  traceId?: string;
  /** The tools the agent called, in order, with their arguments (TOOL_CALL_START/ARGS events). */
  toolCalls: ToolCall[];
}

export interface ToolCall {
  name: string;
  /** The streamed argument JSON, parsed; the raw text when it is not JSON. */
  args: unknown;
}

/** An agent server called directly (e.g. `npm start`'s http://127.0.0.1:8080): no data plane in front. */
export interface DirectTarget {
  /** The agent's base URL; requests go to `<url>/invocations`. */
  url: string;
  bearerToken?: string;
}

/**
 * The agent's CUSTOM `guardrail` event: whether the guardrail intervened and blocked, and its
 * verdicts (policy type and action, e.g. EMAIL ANONYMIZED, PROMPT_ATTACK BLOCKED) without what matched.
 */
export interface GuardrailReport {
  intervened: boolean;
  blocked: boolean;
  verdicts: { type?: string; action: string }[];
}

/** `POST <dataPlane>/runtimes/<url-encoded ARN>/invocations?qualifier=<q>` */
export function invocationUrl(
  target: Pick<InvokeTarget, 'dataPlaneUrl' | 'runtimeArn' | 'qualifier'>,
): string {
  const base = target.dataPlaneUrl.replace(/\/+$/, '');
  return `${base}/runtimes/${encodeURIComponent(target.runtimeArn)}/invocations?qualifier=${encodeURIComponent(target.qualifier)}`;
}

/** AgentCore session ids are 33–256 characters. */
export const newSessionId = () => `smoke-${randomUUID()}`;

export function runInput(prompt: string, sessionId: string): RunAgentInput {
  return {
    threadId: sessionId,
    runId: randomUUID(),
    state: {},
    messages: [{ id: randomUUID(), role: 'user', content: prompt }],
    tools: [],
    context: [],
    forwardedProps: {},
  };
}

/** Send one prompt and read the AG-UI event stream to its end, timing the first token. */
export async function invokeAgent(
  target: InvokeTarget | DirectTarget,
  prompt: string,
  options: { sessionId?: string; timeoutMs?: number } = {},
): Promise<InvokeResult> {
  const sessionId = options.sessionId ?? newSessionId();
  const started = performance.now();
  const signal = AbortSignal.timeout(options.timeoutMs ?? 120_000);
  const events: BaseEvent[] = [];
  let firstTokenMs: number | undefined;
  const source = runHttpRequest(async () => {
    const direct = 'url' in target;
    const url = direct ? `${target.url.replace(/\/+$/, '')}/invocations` : invocationUrl(target);
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        ...(target.bearerToken ? { Authorization: `Bearer ${target.bearerToken}` } : {}),
        'Content-Type': 'application/json',
        Accept: 'text/event-stream',
        'X-Amzn-Bedrock-AgentCore-Runtime-Session-Id': sessionId,
      },
      body: JSON.stringify(runInput(prompt, sessionId)),
      signal,
    });
    if (!response.ok) {
      const body = (await response.text()).slice(0, 500);
      throw new Error(`invocation answered HTTP ${response.status}: ${body}`);
    }
    return response;
  });
  await new Promise<void>((resolve, reject) => {
    transformHttpEventStream(source).subscribe({
      next: (event) => {
        if (firstTokenMs === undefined && isTextDelta(event)) firstTokenMs = performance.now() - started;
        events.push(event);
      },
      error: reject,
      complete: resolve,
    });
  });
  const totalMs = performance.now() - started;
  return { ...summarise(events), firstTokenMs, totalMs };
}

function isTextDelta(event: BaseEvent): boolean {
  return (
    (event.type === EventType.TEXT_MESSAGE_CONTENT || event.type === EventType.TEXT_MESSAGE_CHUNK) &&
    !!(event as { delta?: string }).delta
  );
}

/** Answer text, run error and guardrail signal of a finished event stream. */
export function summarise(events: readonly BaseEvent[]): Omit<InvokeResult, 'totalMs' | 'firstTokenMs'> {
  let answer = '';
  let runError: InvokeResult['runError'];
  let guardrail: GuardrailReport | undefined;
  let usage: TokenUsage[] = [];
  let traceId: string | undefined;
  const calls = new Map<string, { name: string; json: string }>();
  for (const event of events) {
    const e = event as BaseEvent & Record<string, unknown>;
    const trace = (e.metadata as { traceId?: unknown } | undefined)?.traceId;
    if (typeof trace === 'string') traceId = trace;
    if (event.type === EventType.TOOL_CALL_START)
      calls.set(String(e.toolCallId), { name: String(e.toolCallName), json: '' });
    if (event.type === EventType.TOOL_CALL_ARGS) {
      const call = calls.get(String(e.toolCallId));
      if (call) call.json += String(e.delta);
    }
    if (isTextDelta(event)) answer += String(e.delta);
    if (event.type === EventType.RUN_ERROR) runError = { message: String(e.message), code: e.code as string };
    if (event.type === EventType.RUN_FINISHED && Array.isArray(e.usage)) usage = e.usage as TokenUsage[];
    if (event.type === EventType.CUSTOM && e.name === 'guardrail') guardrail = guardrailReport(e.value);
  }
  const toolCalls = [...calls.values()].map(({ name, json }) => ({ name, args: parseArgs(json) }));
  return { answer, events: [...events], runError, guardrail, usage, toolCalls, ...(traceId && { traceId }) };
}

function parseArgs(json: string): unknown {
  if (!json) return {};
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}

/** The event's value when it has the agent's shape; anything else is no verdict (gates then fail). */
function guardrailReport(value: unknown): GuardrailReport | undefined {
  const v = value as Partial<GuardrailReport> | null;
  if (!v || typeof v.intervened !== 'boolean' || typeof v.blocked !== 'boolean') return undefined;
  const verdicts = Array.isArray(v.verdicts)
    ? v.verdicts.filter((x) => x && typeof x.action === 'string')
    : [];
  return { intervened: v.intervened, blocked: v.blocked, verdicts };
}
