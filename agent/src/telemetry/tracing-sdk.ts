import { context, propagation, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { Logger } from './logger';
import { OtlpTraceExporter } from './otlp-exporter';
import { SESSION_ID, type TraceExport } from './tracing';

/**
 * Copies the session id from baggage onto every span, as ADOT's BaggageSpanProcessor does for
 * AgentCore (`session.id`): the console groups a session's traces by it.
 */
class SessionSpanProcessor implements SpanProcessor {
  onStart(span: Span, parent: Context) {
    const session = propagation.getBaggage(parent)?.getEntry(SESSION_ID)?.value;
    if (session) span.setAttribute(SESSION_ID, session);
  }
  onEnd(_span: ReadableSpan) {}
  async forceFlush() {}
  async shutdown() {}
}

let globalsSet = false;

/** Process-wide once: async context (spans parent across awaits) and W3C trace-context + baggage. */
function setGlobals() {
  if (globalsSet) return;
  globalsSet = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
}

export interface SdkOptions {
  target: TraceExport;
  log: Logger;
  serviceName: string;
}

/**
 * The OTel SDK as ADOT configures it for AgentCore, minus auto-instrumentation (which cannot patch a
 * single-file bundle): resource from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES plus
 * `aws.service.type=gen_ai_agent`, every span sampled (AI traffic is low-volume and needs full
 * traces), batched asynchronous export (OTEL_BSP_* tune it), session id on every span.
 */
export function startSdk(options: SdkOptions) {
  setGlobals();
  const resource = resourceFromAttributes({
    'service.name': options.serviceName,
    'aws.service.type': 'gen_ai_agent',
  }).merge(detectResources({ detectors: [envDetector] }));
  const exporter = new OtlpTraceExporter({ target: options.target, log: options.log });
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new SessionSpanProcessor(), new BatchSpanProcessor(exporter)],
  });
  return {
    tracer: (name: string) => provider.getTracer(name),
    /**
     * Export the buffered spans and stop, waiting at most `timeoutMs` (an endpoint that never
     * answers must not hold the process past its shutdown deadline): the spans that were not
     * exported. The batch processor hands every buffered span to the exporter at once, so what is
     * still pending at the deadline, plus what failed meanwhile, is everything lost.
     */
    async shutdown(timeoutMs: number): Promise<number> {
      const failedBefore = exporter.failedSpans;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        // A failed export rejects; the exporter has counted (and logged) it.
        provider.shutdown().catch(() => {}),
        new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
      return exporter.pendingSpans + exporter.failedSpans - failedBefore;
    },
  };
}
