import { EventType, type BaseEvent, type TokenUsage } from '@ag-ui/core';
import type { BedrockRuntimeClient, Message } from '@aws-sdk/client-bedrock-runtime';
import { addUsage, priceOf, type ModelPrice } from '../../cost/model';
import type { Background } from './background';
import type { Config } from './config';
import { applyToInput, maskedInput } from './guardrail';
import type { Invocation } from './input';
import { runLoop, type Usage } from './loop';
import type { Memory, MemoryMessage } from './memory';
import { estimateTokens, withContext } from './prompt';
import { turnsOf, type Session } from './session';
import type { Logger } from './telemetry/logger';
import { usageMetrics, type Metrics } from './telemetry/metrics';
import {
  failed,
  GEN_AI,
  messagesAttribute,
  PROVIDER,
  SpanKind,
  traceIdOf,
  usageAttributes,
  type Span,
  type Tracing,
} from './telemetry/tracing';
import type { Context } from '@opentelemetry/api';
import { TOOLS, toolSpecs } from './tools';

export interface AgentDeps {
  config: Config;
  runtime: BedrockRuntimeClient;
  memory?: Memory;
  background: Background;
  metrics: Metrics;
  tracing: Tracing;
}

export interface RunRequest {
  invocation: Invocation;
  session: Session;
  threadId: string;
  requestId: string;
  startedAt: number;
  emit: (event: BaseEvent) => void;
  signal: AbortSignal;
  log: Logger;
  /** The caller's trace context (AgentCore's traceparent/baggage); the run's spans continue it. */
  traceContext?: Context;
}

/** The agent's name in its spans (gen_ai.agent.name). */
const AGENT_NAME = 'agentcore-gitops-agent';

/** Runs one invocation as an AG-UI event sequence: RUN_STARTED … RUN_FINISHED | RUN_ERROR. */
export class Agent {
  private readonly specs = toolSpecs(TOOLS);
  /** Undefined when MODEL_PRICES is not set: tokens are reported, not priced. */
  private readonly price?: ModelPrice;

  constructor(private readonly deps: AgentDeps) {
    const prices = deps.config.MODEL_PRICES;
    this.price = prices && priceOf(prices, deps.config.MODEL_ID);
  }

  /** One `invoke_agent` span per run, the session id on all its spans, its trace id in the logs and RUN_FINISHED. */
  async run(req: RunRequest): Promise<void> {
    const { tracing, config } = this.deps;
    const parent = tracing.withSession(req.traceContext ?? tracing.extract({}), req.session.id);
    const span = tracing.startSpan(
      `invoke_agent ${AGENT_NAME}`,
      SpanKind.INTERNAL,
      {
        [GEN_AI.operation]: 'invoke_agent',
        [GEN_AI.provider]: PROVIDER,
        [GEN_AI.agentName]: AGENT_NAME,
        [GEN_AI.conversationId]: req.session.id,
        [GEN_AI.requestModel]: config.MODEL_ID,
      },
      parent,
    );
    const traceId = traceIdOf(span);
    const log = traceId ? req.log.child({ traceId }) : req.log;
    try {
      await tracing.within(span, () => this.answer({ ...req, log }, span, traceId), parent);
    } finally {
      span.end();
    }
  }

  private async answer(req: RunRequest, span: Span, traceId: string | undefined): Promise<void> {
    const { config, memory, background, tracing } = this.deps;
    const { invocation, session, emit, log, signal } = req;
    const metadata = traceId ? { traceId } : undefined;
    const ids = { actorId: session.actorId, sessionId: session.id };
    let firstTokenAt: number | undefined;
    // Background calls run off the critical path: those finished by RUN_FINISHED count in its usage;
    // later ones only reach the metrics.
    const backgroundUsage: Usage[] = [];
    let runOpen = true;
    const onBackgroundUsage = (u: Usage) => void (runOpen && backgroundUsage.push(u));
    emit({ type: EventType.RUN_STARTED, threadId: req.threadId, runId: invocation.runId } as BaseEvent);
    const releaseBackground = background.holdForAnswer();

    try {
      // History and long-term records load together, each bounded. The client's conversation, when it
      // sent one, is the history (an edit, a regenerate or a reset there is what the model sees).
      const [, retrieved] = await Promise.all([
        this.useHistory(session, invocation, signal, log),
        invocation.query ? memory?.retrieveContext(ids, invocation.query, signal, log) : undefined,
      ]);
      emit({
        type: EventType.STATE_SNAPSHOT,
        snapshot: { memory: { records: retrieved?.records ?? [] }, guardrail: null },
      } as BaseEvent);

      // What the guardrail let through is what is kept and reused: the user's text with the PII it
      // anonymised masked. Undefined for a blocked prompt, or when it cannot be known (then nothing of
      // the turn is stored or sent to the background model: it could hold unmasked PII).
      let letThrough: Promise<string | undefined> = Promise.resolve(undefined);
      const onUserGuarded = (trace: unknown, blocked: boolean) => {
        if (blocked || !invocation.userText) return;
        letThrough = this.letThrough(invocation.userText, trace, log);
        // Off the critical path: the first model call has ended.
        void letThrough.then(
          (text) => text !== undefined && background.classify(text, log, onBackgroundUsage),
        );
      };
      const context = [retrieved?.context, invocation.context].filter(Boolean).join('\n') || undefined;
      const result = await runLoop({
        runtime: this.deps.runtime,
        config,
        tools: TOOLS,
        toolSpecs: this.specs,
        clientTools: invocation.clientTools,
        history: session.messages(),
        summary: session.summary,
        user: withContext(invocation.current, context),
        emit,
        onFirstToken: () => {
          firstTokenAt ??= Date.now();
          releaseBackground();
        },
        onUserGuarded,
        signal,
        log,
        tracing,
      });

      // A turn is kept (in history and memory) once answered; blocked or failed turns are not, or a
      // rebuilt session would replay them. History keeps the question without its per-turn context.
      // A run that ended on a client tool call is not kept yet: its client sends it back with the
      // results (client tools need a client that holds the conversation).
      const kept = await letThrough;
      span.setAttributes({
        ...usageAttributes(result.usage),
        [GEN_AI.finishReasons]: result.stopReason ? [result.stopReason] : [],
        'aws.bedrock.guardrail.intervened': result.guardrail.intervened,
        'aws.bedrock.guardrail.blocked': result.guardrail.blocked,
        'app.tool_calls': result.toolCalls,
      });
      // Content only when opted in, and only as the guardrail let it through (unknown masking: none).
      if (tracing.captureContent && kept !== undefined) {
        span.setAttribute(GEN_AI.inputMessages, messagesAttribute('user', kept));
        span.setAttribute(GEN_AI.outputMessages, messagesAttribute('assistant', result.answer));
      }
      const pending = result.pendingToolCallIds.length > 0;
      if (result.turn.length > 0 && !pending) {
        const asked = invocation.userText
          ? withText(invocation.current, kept ?? invocation.userText)
          : invocation.current;
        const messages = [asked, ...result.turn.slice(1)];
        // Tool results continue the turn that made the calls.
        if (invocation.current.content?.some((b) => b.toolResult) && session.turns.length > 0)
          session.turns.at(-1)!.push(...messages);
        else session.turns.push(messages);
      }
      // Memory gets the question as the guardrail let it through, and the answer once there is one:
      // with its question, or alone when it continues after tool results (the question came earlier).
      // One event per turn, its messages in order.
      const answered = result.turn.length > 0;
      const written: MemoryMessage[] = [];
      if (answered && kept !== undefined) written.push({ role: 'USER', text: kept });
      if (answered && !pending && result.answer && (kept !== undefined || !invocation.userText))
        written.push({ role: 'ASSISTANT', text: result.answer });
      memory?.record(ids, written, log);
      if (estimateTokens(session.messages()) > config.HISTORY_TOKEN_BUDGET)
        background.summarise(session, log, onBackgroundUsage);
      // Bounded: an unanswering Memory must not hold the run open. Writes still going continue in the
      // background (each bounded by MEMORY_IDLE_TIMEOUT_MS and the client's retries; shutdown awaits them).
      if (memory && !(await memory.flush(session.id, config.MEMORY_FLUSH_BUDGET_MS)))
        log.warn(
          { budgetMs: config.MEMORY_FLUSH_BUDGET_MS, pendingWrites: memory.pendingWrites },
          'memory writes still pending at the end of the run; finishing it without waiting for them',
        );

      const latencyMs = Date.now() - req.startedAt;
      this.report(result.usage, {
        latencyMs,
        ttftMs: firstTokenAt ? firstTokenAt - req.startedAt : undefined,
        toolCalls: result.toolCalls,
        guardrailInterventions: result.guardrail.intervened ? 1 : 0,
        requestId: req.requestId,
        sessionId: session.id,
      });
      log.info(
        {
          stopReason: result.stopReason,
          usage: result.usage,
          toolCalls: result.toolCalls,
          latencyMs,
          guardrail: result.guardrail,
        },
        'run finished',
      );
      // Clients can mark an intervention (the answer itself is already the guardrail's message).
      // The smoke gates judge by it: blocked, and each policy's verdict (type and action, no matches).
      const unique = new Map(result.guardrail.verdicts.map((v) => [`${v.type} ${v.action}`, v]));
      const verdict = {
        intervened: result.guardrail.intervened,
        blocked: result.guardrail.blocked,
        verdicts: [...unique.values()],
      };
      if (verdict.intervened) {
        for (const v of verdict.verdicts)
          span.addEvent('guardrail.verdict', { type: v.type ?? 'unknown', action: v.action });
        emit({ type: EventType.CUSTOM, name: 'guardrail', value: verdict } as BaseEvent);
      }
      emit({
        type: EventType.STATE_DELTA,
        delta: [{ op: 'replace', path: '/guardrail', value: verdict }],
      } as BaseEvent);
      runOpen = false;
      emit({
        type: EventType.RUN_FINISHED,
        threadId: req.threadId,
        runId: invocation.runId,
        ...(pending && { outcome: { type: 'success', pendingToolCallIds: result.pendingToolCallIds } }),
        metadata,
        usage: [
          tokenUsage(config.MODEL_ID, result.usage),
          ...(backgroundUsage.length
            ? [tokenUsage(config.BACKGROUND_MODEL_ID, addUsage(...backgroundUsage))]
            : []),
        ],
      } as BaseEvent);
    } catch (e) {
      const { code, message } = describeError(e, signal);
      failed(span, e);
      span.setAttribute('app.error_code', code);
      if (code === 'Aborted') log.warn({ code }, 'run aborted');
      else log.error({ err: e, code }, 'run failed');
      this.deps.metrics.emit(
        [
          { name: 'RunErrors', value: 1, unit: 'Count' },
          { name: 'Latency', value: Date.now() - req.startedAt, unit: 'Milliseconds' },
        ],
        { ModelId: config.MODEL_ID },
        { requestId: req.requestId, sessionId: session.id, errorCode: code },
      );
      emit({ type: EventType.RUN_ERROR, code, message, metadata } as BaseEvent);
    } finally {
      releaseBackground();
    }
  }

  /**
   * The user's text as the guardrail let it through: masked from the trace's input assessment, or
   * (when the trace has none) by asking the guardrail with ApplyGuardrail. Undefined when neither works.
   */
  private async letThrough(text: string, trace: unknown, log: Logger): Promise<string | undefined> {
    const { config, runtime } = this.deps;
    if (!config.GUARDRAIL_ID) return text;
    const masked = maskedInput(text, trace);
    if (masked !== undefined) return masked;
    try {
      const guardrail = { id: config.GUARDRAIL_ID, version: config.GUARDRAIL_VERSION ?? 'DRAFT' };
      return await this.deps.tracing.inSpan(
        `apply_guardrail ${guardrail.id}`,
        SpanKind.CLIENT,
        { 'aws.bedrock.guardrail.id': guardrail.id, 'aws.bedrock.guardrail.version': guardrail.version },
        () => applyToInput(runtime, guardrail, text),
      );
    } catch (e) {
      log.warn(
        { err: e },
        'could not learn what the guardrail masks (no input assessment in the trace, ApplyGuardrail failed): this turn is not written to memory nor classified',
      );
      return undefined;
    }
  }

  /**
   * The history the model sees: the client's conversation when it sent one (it replaces this
   * process's copy, summary included, so a later one-message run continues the client's version);
   * else this process's turns, rebuilt from memory events for a session it has not seen.
   */
  private async useHistory(session: Session, invocation: Invocation, signal: AbortSignal, log: Logger) {
    if (invocation.history) {
      session.turns = turnsOf(invocation.history);
      session.summary = undefined;
      session.loaded = true;
      return;
    }
    if (session.loaded) return;
    const memory = this.deps.memory;
    if (memory) {
      const budget = AbortSignal.any([signal, AbortSignal.timeout(this.deps.config.MEMORY_LOAD_BUDGET_MS)]);
      try {
        session.turns = await memory.loadHistory({ actorId: session.actorId, sessionId: session.id }, budget);
        log.info({ turns: session.turns.length }, 'session rebuilt from memory events');
      } catch (e) {
        if (signal.aborted) throw e;
        log.warn({ err: e }, 'could not rebuild the session from memory; continuing without its history');
      }
    }
    session.loaded = true;
  }

  private report(
    usage: Usage,
    r: {
      latencyMs: number;
      ttftMs?: number;
      toolCalls: number;
      guardrailInterventions: number;
      requestId: string;
      sessionId: string;
    },
  ) {
    this.deps.metrics.emit(
      [
        ...usageMetrics(usage, this.price),
        ...(r.ttftMs === undefined
          ? []
          : [{ name: 'TimeToFirstToken', value: r.ttftMs, unit: 'Milliseconds' as const }]),
        { name: 'Latency', value: r.latencyMs, unit: 'Milliseconds' },
        { name: 'ToolCalls', value: r.toolCalls, unit: 'Count' },
        { name: 'GuardrailInterventions', value: r.guardrailInterventions, unit: 'Count' },
      ],
      { ModelId: this.deps.config.MODEL_ID },
      { requestId: r.requestId, sessionId: r.sessionId },
    );
  }
}

/** The message with its text blocks replaced by `text` (the user's words as the guardrail let them through). */
function withText(message: Message, text: string): Message {
  const blocks = message.content ?? [];
  return { role: 'user', content: [...blocks.filter((b) => !b.text), { text }] };
}

/** AG-UI counts every prompt token in inputTokens; Bedrock reports cache reads and writes beside it. */
function tokenUsage(model: string, u: Usage): TokenUsage {
  const inputTokens = u.inputTokens + u.cacheReadInputTokens + u.cacheWriteInputTokens;
  return {
    provider: 'amazon-bedrock',
    model,
    inputTokens,
    outputTokens: u.outputTokens,
    totalTokens: inputTokens + u.outputTokens,
    cachedInputTokens: u.cacheReadInputTokens,
    cacheWriteInputTokens: u.cacheWriteInputTokens,
  };
}

const ERROR_CODES: Record<string, [string, string]> = {
  ThrottlingException: [
    'ModelThrottled',
    'The model is throttling requests even after retries; try again shortly',
  ],
  ServiceUnavailableException: ['ModelUnavailable', 'The model service is unavailable; try again shortly'],
  ModelNotReadyException: ['ModelUnavailable', 'The model is not ready; try again shortly'],
  ValidationException: ['ModelValidationError', 'The model rejected the request'],
  AccessDeniedException: ['ModelAccessDenied', 'The agent is not allowed to call the model'],
  ResourceNotFoundException: ['ModelNotFound', 'The model or guardrail was not found'],
  ModelTimeoutException: ['ModelTimeout', 'The model timed out'],
  ModelStreamErrorException: ['ModelStreamError', 'The model stream failed'],
  InternalServerException: ['ModelInternalError', 'The model service had an internal error'],
  ModelErrorException: ['ModelError', 'The model returned an error'],
};

function describeError(e: unknown, signal: AbortSignal): { code: string; message: string } {
  const err = e as Error & { $metadata?: { attempts?: number } };
  if (signal.aborted) {
    const reason = signal.reason as Error | undefined;
    return {
      code: reason?.name === 'ShutdownError' ? 'ShuttingDown' : 'Aborted',
      message: reason?.message ?? 'The run was aborted',
    };
  }
  const known = err?.name ? ERROR_CODES[err.name] : undefined;
  if (known) {
    const attempts = err.$metadata?.attempts;
    return {
      code: known[0],
      message: `${known[1]} (${err.name}${attempts ? ` after ${attempts} attempts` : ''}: ${err.message})`,
    };
  }
  return { code: 'INTERNAL_ERROR', message: `The agent failed: ${err?.message ?? String(e)}` };
}
