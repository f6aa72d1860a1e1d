/**
 * `npm run trace` against the local twin of `npm start`, as a developer runs it: no AWS variables,
 * the twin found by TWIN_PORT. Spans are exported by the agent's real exporter (SigV4, service xray).
 */
import net from 'node:net';
import { context, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpTraceExporter } from '../../agent/src/telemetry/otlp-exporter';
import { createLogger } from '../../agent/src/telemetry/logger';
import { loadEnvironment } from '../../environments';
import { startTwin, type Twin } from '../../local/src/twin';
import { main as traceCommand } from '../trace';

const dev = loadEnvironment('dev');
let twin: Twin;

beforeAll(async () => {
  twin = await startTwin();
});
afterAll(() => twin?.close());

/** One answer's spans (run, model call), exported to the twin as `account`'s admin. */
async function exportRun(account: string): Promise<string> {
  const memory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer(
    'test',
  );
  const run = tracer.startSpan('invoke_agent agent', {
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'session.id': 'trace-cli-session' },
  });
  tracer
    .startSpan(
      'chat model',
      { attributes: { 'gen_ai.operation.name': 'chat' } },
      trace.setSpan(context.active(), run),
    )
    .end();
  run.end();
  const spans: ReadableSpan[] = memory.getFinishedSpans();
  const exporter = new OtlpTraceExporter({
    target: { url: `${twin.url}/v1/traces`, sign: { service: 'xray', region: twin.context.region } },
    log: createLogger('silent', 'test'),
    credentials: async () => twin.credentials(account),
  });
  const result = await new Promise<{ code: number }>((resolve) => exporter.export(spans, resolve));
  expect(result.code).toBe(0);
  return spans[0].spanContext().traceId;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('npm run trace against the twin of npm start', () => {
  it('finds a trace in the account the agent signed as (dev’s, with npm start -- --provision)', async () => {
    const traceId = await exportRun(dev.account);
    const out = await traceCommand([traceId], { TWIN_PORT: String(twin.port) });
    expect(out).toMatch(new RegExp(`^trace ${traceId}  session trace-cli-session  \\d+ ms$`, 'm'));
    expect(out).toMatch(/^invoke_agent agent +\+ +0 ms/m);
    expect(out).toMatch(/^└─ chat model /m);
  });

  it('fails clearly when nothing is found, naming where it looked', async () => {
    const missing = 'f'.repeat(32);
    await expect(traceCommand([missing], { TWIN_PORT: String(twin.port) })).rejects.toThrow(
      new RegExp(
        `^no spans of trace ${missing} in the last 24 h in the twin at http://127\\.0\\.0\\.1:${twin.port} \\(account 123456789012\\), .*\\(account ${dev.account}\\).*: spans arrive a few seconds after the answer`,
      ),
    );
  });

  it('says how to start the twin when none answers', async () => {
    const port = await closedPort();
    await expect(traceCommand(['a'.repeat(32)], { TWIN_PORT: String(port) })).rejects.toThrow(
      new RegExp(
        `^nothing answers at the twin at http://127\\.0\\.0\\.1:${port} \\(account 123456789012\\) \\(ECONNREFUSED\\): start the twin with \`npm start\``,
      ),
    );
  });

  it('needs the agent log to find a session’s traces, and says where it looked', async () => {
    await expect(traceCommand(['some-session'], { PORT: '1' })).rejects.toThrow(
      /^some-session is not a trace id, and there is no agent log .*agentcore-gitops-agent-1\.log/,
    );
  });
});
