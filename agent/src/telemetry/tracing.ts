import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Config } from '../config';
import type { Logger } from './logger';

/**
 * OpenTelemetry spans for every answer, named and attributed by the GenAI semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/) so CloudWatch GenAI Observability and
 * Transaction Search read them. This module needs only the OTel API (no-op until the SDK starts);
 * the SDK and the exporter load after the server listens (tracing-sdk.ts), so tracing never delays
 * the first request.
 */

export { SpanKind } from '@opentelemetry/api';
export type { Span } from '@opentelemetry/api';

/** GenAI semantic-convention attribute names (semconv gen-ai registry; same strings as @opentelemetry/semantic-conventions/incubating). */
export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  agentName: 'gen_ai.agent.name',
  conversationId: 'gen_ai.conversation.id',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  responseModel: 'gen_ai.response.model',
  finishReasons: 'gen_ai.response.finish_reasons',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheWriteTokens: 'gen_ai.usage.cache_creation.input_tokens',
  toolName: 'gen_ai.tool.name',
  toolType: 'gen_ai.tool.type',
  toolCallId: 'gen_ai.tool.call.id',
  dataSourceId: 'gen_ai.data_source.id',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
} as const;

/** Bedrock is `aws.bedrock` in the gen_ai.provider.name registry. */
export const PROVIDER = 'aws.bedrock';
/** AgentCore groups a session's traces by this span attribute (ADOT copies it from baggage). */
export const SESSION_ID = 'session.id';
export const ERROR_TYPE = 'error.type';

/** Where spans go: an OTLP/HTTP traces URL, SigV4-signed when it is the X-Ray OTLP endpoint. */
export interface TraceExport {
  url: string;
  sign?: { service: 'xray'; region: string };
}

const XRAY_OTLP = /^https:\/\/xray\.([a-z0-9-]+)\.amazonaws\.com\/v1\/traces$/;

/**
 * The traces endpoint, as ADOT resolves it: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else the X-Ray OTLP
 * endpoint of the region when AGENT_OBSERVABILITY_ENABLED (AgentCore's switch). The X-Ray endpoint is
 * signed with SigV4 (service `xray`) and, like every AWS client here, follows AWS_ENDPOINT_URL_XRAY /
 * AWS_ENDPOINT_URL when set. Undefined: tracing is off (spans are no-ops).
 */
export function traceExport(config: Config, env: NodeJS.ProcessEnv = process.env): TraceExport | undefined {
  if (config.OTEL_SDK_DISABLED) return undefined;
  const url =
    config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (config.AGENT_OBSERVABILITY_ENABLED
      ? `https://xray.${config.AWS_REGION}.amazonaws.com/v1/traces`
      : undefined);
  if (!url) return undefined;
  const xray = XRAY_OTLP.exec(url);
  if (!xray) return { url };
  const override = env.AWS_ENDPOINT_URL_XRAY || env.AWS_ENDPOINT_URL;
  return {
    url: override ? new URL('/v1/traces', override).href : url,
    sign: { service: 'xray', region: xray[1] },
  };
}

interface Sdk {
  tracer(name: string): Tracer;
  /** Resolves within `timeoutMs` with the number of spans that were not exported. */
  shutdown(timeoutMs: number): Promise<number>;
}

/**
 * One server's tracing: a no-op tracer until `start` has loaded the SDK, then the SDK's. Content
 * (prompts, answers) is recorded only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT opts in.
 */
export class Tracing {
  private tracer: Tracer = trace.getTracerProvider().getTracer('agent');
  private sdk: Promise<Sdk | undefined> = Promise.resolve(undefined);
  readonly captureContent: boolean;

  constructor(options: { captureContent?: boolean } = {}) {
    this.captureContent = options.captureContent ?? false;
  }

  /** Resolves once `start` has loaded the SDK (or given up): spans from then on are exported. */
  get ready(): Promise<void> {
    return this.sdk.then(() => undefined);
  }

  /** Load the SDK and start exporting (no-op when tracing is off). Never throws: tracing must not break answers. */
  start(config: Config, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<void> {
    const target = traceExport(config, env);
    if (!target) {
      log.info(
        'tracing is off: set AGENT_OBSERVABILITY_ENABLED=true or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT to export spans',
      );
      return this.ready;
    }
    this.sdk = import('./tracing-sdk').then(
      ({ startSdk }) => {
        const sdk = startSdk({ target, log, serviceName: env.OTEL_SERVICE_NAME || 'agent' });
        this.tracer = sdk.tracer('agent');
        log.info({ endpoint: target.url, signed: !!target.sign }, 'tracing: exporting spans over OTLP/HTTP');
        return sdk;
      },
      (e: Error) => {
        log.error({ err: e }, 'tracing could not start; answering without traces');
        return undefined;
      },
    );
    return this.ready;
  }

  /**
   * Export what is buffered and stop, within `timeoutMs` (the SDK, if still loading, gets no extra
   * time): resolves with the number of spans that were not exported.
   */
  async shutdown(timeoutMs: number): Promise<number> {
    const startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const sdk = await Promise.race([
      this.sdk,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
    ]);
    clearTimeout(timer);
    return (await sdk?.shutdown(Math.max(0, timeoutMs - (Date.now() - startedAt)))) ?? 0;
  }

  /** The caller's trace context (traceparent, baggage) from request headers; AgentCore sends them. */
  extract(headers: Record<string, string | string[] | undefined>): Context {
    return propagation.extract(ROOT_CONTEXT, headers);
  }

  /** A context whose spans all carry the session id (as baggage, copied onto each span by the SDK). */
  withSession(parent: Context, sessionId: string): Context {
    const baggage = (propagation.getBaggage(parent) ?? propagation.createBaggage()).setEntry(SESSION_ID, {
      value: sessionId,
    });
    return propagation.setBaggage(parent, baggage);
  }

  /** Start a span (child of the active one, or of `parent`); the caller ends it. */
  startSpan(name: string, kind: SpanKind, attributes: Attributes, parent: Context = context.active()): Span {
    return this.tracer.startSpan(name, { kind, attributes }, parent);
  }

  /**
   * Run `fn` inside a span that is active for everything it awaits: ended when `fn` settles, marked
   * as an error (with `error.type`) when it throws.
   */
  async inSpan<T>(
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    fn: (span: Span) => Promise<T>,
    parent: Context = context.active(),
  ): Promise<T> {
    const span = this.startSpan(name, kind, attributes, parent);
    try {
      return await context.with(trace.setSpan(parent, span), () => fn(span));
    } catch (e) {
      failed(span, e);
      throw e;
    } finally {
      span.end();
    }
  }

  /** Run `fn` with `span` active (in `parent`'s context), so spans started inside are its children. */
  within<T>(span: Span, fn: () => T, parent: Context = context.active()): T {
    return context.with(trace.setSpan(parent, span), fn);
  }
}

/** Mark a span failed with the error's type, as the semantic conventions ask (`error.type`). */
export function failed(span: Span, e: unknown) {
  const err = e as Error | undefined;
  span.setAttribute(ERROR_TYPE, err?.name || 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: err?.message });
}

/** The span's trace id when it is being exported (all zeros from the no-op tracer otherwise). */
export function traceIdOf(span: Span): string | undefined {
  const ctx = span.spanContext();
  return trace.isSpanContextValid(ctx) && span.isRecording() ? ctx.traceId : undefined;
}

/** Token counts in GenAI attributes; Bedrock's inputTokens excludes cache reads and writes, the convention's includes them. */
export function usageAttributes(u: {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheWriteInputTokens: number;
}): Attributes {
  return {
    [GEN_AI.inputTokens]: u.inputTokens + u.cacheReadInputTokens + u.cacheWriteInputTokens,
    [GEN_AI.outputTokens]: u.outputTokens,
    [GEN_AI.cacheReadTokens]: u.cacheReadInputTokens,
    [GEN_AI.cacheWriteTokens]: u.cacheWriteInputTokens,
  };
}

/** One text message in the convention's gen_ai.input/output.messages JSON shape. */
export function messagesAttribute(role: 'user' | 'assistant', text: string): string {
  return JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }]);
}
