import { gzipSync } from 'node:zlib';
import { context, trace } from '@opentelemetry/api';
import { ListRetrievedTracesCommand, StartTraceRetrievalCommand, XRayClient } from '@aws-sdk/client-xray';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpTraceExporter, Sha256 } from '../../agent/src/telemetry/otlp-exporter';
import { createLogger } from '../../agent/src/telemetry/logger';
import { startTwin, type Twin } from '../src/twin';

const OTHER = '333333333333';

/** Finished spans made by the real SDK: a root with one child, an event and typed attributes. */
function makeSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('test');
  const root = tracer.startSpan('invoke_agent test', {
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'session.id': 'session-1' },
  });
  const child = tracer.startSpan(
    'chat model',
    {
      kind: 2,
      attributes: { 'gen_ai.usage.input_tokens': 12, 'gen_ai.response.finish_reasons': ['end_turn'] },
    },
    trace.setSpan(context.active(), root),
  );
  child.end();
  root.addEvent('guardrail.verdict', { type: 'EMAIL', action: 'ANONYMIZED' });
  root.end();
  return memory.getFinishedSpans();
}

describe('X-Ray OTLP intake and Transaction Search retrieval on the twin', () => {
  let twin: Twin;
  const logs: Record<string, unknown>[] = [];
  const log = createLogger('debug', 'test', { write: (l: string) => void logs.push(JSON.parse(l)) });

  beforeAll(async () => {
    twin = await startTwin({ accounts: [OTHER] });
  });
  afterAll(() => twin?.close());

  const xray = (account?: string) =>
    new XRayClient({
      region: twin.context.region,
      endpoint: twin.url,
      credentials: twin.credentials(account),
    });
  const exporter = (account?: string) =>
    new OtlpTraceExporter({
      target: { url: `${twin.url}/v1/traces`, sign: { service: 'xray', region: twin.context.region } },
      log,
      credentials: async () => twin.credentials(account),
    });
  const exportSpans = (e: OtlpTraceExporter, spans: ReadableSpan[]) =>
    new Promise<{ code: number; error?: Error }>((resolve) => e.export(spans, resolve));

  async function retrieve(traceIds: string[], account?: string) {
    const client = xray(account);
    const now = Date.now() / 1000;
    const { RetrievalToken } = await client.send(
      new StartTraceRetrievalCommand({
        TraceIds: traceIds,
        StartTime: new Date((now - 600) * 1000),
        EndTime: new Date((now + 60) * 1000),
      }),
    );
    for (;;) {
      const out = await client.send(new ListRetrievedTracesCommand({ RetrievalToken, TraceFormat: 'OTEL' }));
      if (out.RetrievalStatus === 'COMPLETE') return out.Traces ?? [];
      expect(out.RetrievalStatus).toBe('RUNNING');
      expect(out.Traces).toEqual([]);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('takes protobuf from the agent exporter (SigV4, service xray) and returns it by trace id', async () => {
    const spans = makeSpans();
    const result = await exportSpans(exporter(), spans);
    expect(result.code).toBe(0);
    const traceId = spans[0].spanContext().traceId;
    const traces = await retrieve([traceId]);
    expect(traces).toHaveLength(1);
    expect(traces[0].Id).toBe(`1-${traceId.slice(0, 8)}-${traceId.slice(8)}`);
    const docs = traces[0].Spans!.map((s) => JSON.parse(s.Document!));
    const root = docs.find((d) => d.name === 'invoke_agent test');
    expect(root).toMatchObject({
      traceId,
      kind: 1,
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'session.id': 'session-1' },
      events: [{ name: 'guardrail.verdict', attributes: { type: 'EMAIL', action: 'ANONYMIZED' } }],
      resource: expect.objectContaining({ 'telemetry.sdk.language': 'nodejs' }),
    });
    const chat = docs.find((d) => d.name === 'chat model');
    expect(chat.attributes).toEqual({
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.response.finish_reasons': ['end_turn'],
    });
    expect(Number(chat.endTimeUnixNano)).toBeGreaterThanOrEqual(Number(chat.startTimeUnixNano));
  });

  it('takes OTLP/JSON, gzip too, and keeps spans per account', async () => {
    const spans = makeSpans();
    const body = gzipSync(Buffer.from(JsonTraceSerializer.serializeRequest(spans)!));
    const url = new URL(`${twin.url}/v1/traces`);
    const signer = new SignatureV4({
      credentials: twin.credentials(OTHER),
      region: twin.context.region,
      service: 'xray',
      sha256: Sha256,
    });
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers: { host: url.host, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body,
    });
    const { host: _host, ...headers } = signed.headers;
    const res = await fetch(url, { method: 'POST', headers, body: new Uint8Array(body) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});

    const traceId = spans[0].spanContext().traceId;
    expect((await retrieve([traceId], OTHER))[0].Spans).toHaveLength(2);
    // Another account's Transaction Search does not see them.
    expect(await retrieve([traceId])).toEqual([]);
  });

  it('refuses unsigned exports and bodies that are not OTLP, as the endpoint does', async () => {
    const unsigned = await fetch(`${twin.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array(0),
    });
    expect(unsigned.status).toBe(403);

    const e = new OtlpTraceExporter({
      target: { url: `${twin.url}/v1/traces`, sign: { service: 'xray', region: twin.context.region } },
      log,
      credentials: async () => ({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' }),
    });
    const refused = await exportSpans(e, makeSpans());
    expect(refused.code).toBe(1);
    expect(refused.error?.message).toMatch(/answered 403/);
  });

  it('drops a failed export and logs it once until exports work again', async () => {
    logs.length = 0;
    const down = new OtlpTraceExporter({
      target: { url: 'http://127.0.0.1:9/v1/traces' },
      log,
      timeoutMs: 2000,
    });
    for (let i = 0; i < 3; i++) expect((await exportSpans(down, makeSpans())).code).toBe(1);
    expect(logs.filter((l) => String(l.msg).startsWith('trace export failed'))).toHaveLength(1);
  });
});
