import { ListRetrievedTracesCommand, StartTraceRetrievalCommand, XRayClient } from '@aws-sdk/client-xray';
import type { BaseEvent } from '@ag-ui/core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as traceCommand } from '../../scripts/trace';
import { startTwin, type Twin } from '../../local/src/twin';
import { ask, newSessionId, startAgent, textOf, type TestAgent } from './helpers';

/**
 * The agent's traces as AgentCore Observability reads them: exported by the real exporter to the
 * twin's X-Ray OTLP endpoint, read back with Transaction Search's StartTraceRetrieval +
 * ListRetrievedTraces, checked against the OpenTelemetry GenAI semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/, gen-ai-agent-spans/).
 */

const MODEL = 'us.anthropic.claude-sonnet-4-6';
const BACKGROUND = 'us.amazon.nova-pro-v1:0';

interface Doc {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  status: { code: number };
  resource: Record<string, unknown>;
}

let twin: Twin;
let memoryId: string;
const agents: TestAgent[] = [];

beforeAll(async () => {
  // Export every 50 ms instead of the SDK's 5 s, so the tests do not wait.
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  twin = await startTwin({
    bedrock: { firstTokenDelayMs: 0, interTokenDelayMs: 0 },
    memory: { activationDelayMs: 0 },
  });
  memoryId = twin.memory.createMemory({
    name: 'agent_traces_test',
    eventExpiryDuration: 30,
    memoryStrategies: [{ semanticMemoryStrategy: { name: 'facts', namespaces: ['/facts/{actorId}'] } }],
  }).id;
});
afterAll(async () => {
  for (const a of agents) await a.close();
  await twin?.close();
});

async function traced(env: Record<string, string> = {}) {
  const agent = await startAgent(twin, {
    AGENT_OBSERVABILITY_ENABLED: 'true',
    GUARDRAIL_ID: 'localguardrail',
    GUARDRAIL_VERSION: '1',
    MEMORY_ID: memoryId,
    ...env,
  });
  agents.push(agent);
  await agent.server.tracing.ready;
  return agent;
}

const traceIdOf = (events: BaseEvent[]) =>
  (events.find((e) => e.type === 'RUN_FINISHED') as { metadata?: { traceId?: string } } | undefined)?.metadata
    ?.traceId;

/** The trace's spans from Transaction Search, once `done` holds (export is batched and asynchronous). */
async function spansOf(traceId: string, done: (docs: Doc[]) => boolean = () => true): Promise<Doc[]> {
  const xray = new XRayClient({
    region: twin.context.region,
    endpoint: twin.url,
    credentials: twin.credentials(),
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = Date.now();
    const { RetrievalToken } = await xray.send(
      new StartTraceRetrievalCommand({
        TraceIds: [traceId],
        StartTime: new Date(now - 600_000),
        EndTime: new Date(now + 60_000),
      }),
    );
    let out;
    do {
      await new Promise((r) => setTimeout(r, 50));
      out = await xray.send(new ListRetrievedTracesCommand({ RetrievalToken, TraceFormat: 'OTEL' }));
    } while (out.RetrievalStatus !== 'COMPLETE');
    const docs = (out.Traces?.[0]?.Spans ?? []).map((s) => JSON.parse(s.Document!) as Doc);
    if (docs.length && done(docs)) return docs;
    if (Date.now() > deadline)
      throw new Error(`trace ${traceId} incomplete: ${docs.map((d) => d.name).join(', ')}`);
  }
}

const named = (docs: Doc[], name: string) => docs.filter((d) => d.name === name);

describe('agent traces (GenAI semantic conventions, AgentCore session grouping)', () => {
  it('gives each run an invoke_agent span with chat, execute_tool, memory and background children', async () => {
    const agent = await traced();
    const sessionId = newSessionId('traces');
    // AgentCore passes the caller's trace context: the run continues it.
    const callerTrace = 'ab'.repeat(16);
    const callerSpan = 'cd'.repeat(8);
    const events = await ask(agent.url, 'calculate 6*7', {
      sessionId,
      headers: { traceparent: `00-${callerTrace}-${callerSpan}-01` },
    });
    expect(textOf(events)).toContain('42');
    const traceId = traceIdOf(events);
    expect(traceId).toBe(callerTrace);

    const docs = await spansOf(traceId!, (d) => named(d, `chat ${BACKGROUND}`).length > 0);
    const [run] = named(docs, 'invoke_agent agentcore-gitops-agent');
    expect(run).toMatchObject({
      parentSpanId: callerSpan,
      kind: 1,
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.provider.name': 'aws.bedrock',
        'gen_ai.agent.name': 'agentcore-gitops-agent',
        'gen_ai.conversation.id': sessionId,
        'gen_ai.request.model': MODEL,
        'gen_ai.response.finish_reasons': ['end_turn'],
        'aws.bedrock.guardrail.intervened': false,
      },
      resource: expect.objectContaining({ 'service.name': 'agent', 'aws.service.type': 'gen_ai_agent' }),
    });
    expect(run.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);

    // One chat span per model call: the tool round, then the answer.
    const chats = named(docs, `chat ${MODEL}`).sort((a, b) =>
      Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)),
    );
    expect(chats.map((c) => c.attributes['gen_ai.response.finish_reasons'])).toEqual([
      ['tool_use'],
      ['end_turn'],
    ]);
    for (const chat of chats) {
      expect(chat).toMatchObject({
        parentSpanId: run.spanId,
        kind: 3,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'aws.bedrock',
          'gen_ai.request.model': MODEL,
          'gen_ai.response.model': MODEL,
          'aws.bedrock.guardrail.id': 'localguardrail',
          'aws.bedrock.guardrail.action': 'NONE',
        },
      });
      for (const k of [
        'input_tokens',
        'output_tokens',
        'cache_read.input_tokens',
        'cache_creation.input_tokens',
      ])
        expect(typeof chat.attributes[`gen_ai.usage.${k}`]).toBe('number');
      expect(chat.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThan(0);
    }
    // gen_ai.usage.input_tokens counts the whole prompt, cached tokens included, as the conventions
    // ask (Bedrock's own inputTokens leaves them out); the model calls here do read or write the cache.
    for (const chat of chats) {
      const a = chat.attributes as Record<string, number>;
      expect(a['gen_ai.usage.input_tokens']).toBeGreaterThanOrEqual(
        a['gen_ai.usage.cache_read.input_tokens'] + a['gen_ai.usage.cache_creation.input_tokens'],
      );
    }
    expect(chats.some((c) => (c.attributes['gen_ai.usage.cache_read.input_tokens'] as number) > 0)).toBe(
      true,
    );
    // The provider is gen_ai.provider.name (semconv 1.37+), never the deprecated gen_ai.system.
    for (const d of docs) expect(d.attributes).not.toHaveProperty('gen_ai.system');
    // Usage on the run is the sum of its model calls.
    const sum = chats.reduce((n, c) => n + (c.attributes['gen_ai.usage.output_tokens'] as number), 0);
    expect(run.attributes['gen_ai.usage.output_tokens']).toBe(sum);

    const [tool] = named(docs, 'execute_tool calculator');
    expect(tool).toMatchObject({
      parentSpanId: run.spanId,
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'calculator',
        'gen_ai.tool.type': 'function',
      },
    });
    expect(chats[0].attributes['gen_ai.tool.call.id']).toEqual([tool.attributes['gen_ai.tool.call.id']]);

    expect(named(docs, `retrieval ${memoryId}`)[0]).toMatchObject({
      parentSpanId: run.spanId,
      attributes: { 'gen_ai.operation.name': 'retrieval', 'gen_ai.data_source.id': memoryId },
    });
    expect(named(docs, 'memory list_events')[0].parentSpanId).toBe(run.spanId);
    // One event per turn: the question and the answer, in order.
    expect(
      named(docs, 'memory create_event').map((d) => d.attributes['aws.bedrock_agentcore.memory.roles']),
    ).toEqual([['USER', 'ASSISTANT']]);
    // The background model is traced under the run, off its critical path.
    expect(named(docs, `chat ${BACKGROUND}`)[0]).toMatchObject({
      parentSpanId: run.spanId,
      attributes: { 'app.background_task': 'classify', 'gen_ai.request.model': BACKGROUND },
    });

    // AgentCore groups a session by session.id on every span; no prompt or answer text by default.
    for (const d of docs) expect(d.attributes['session.id']).toBe(sessionId);
    expect(JSON.stringify(docs)).not.toContain('6*7');
    expect(docs.some((d) => 'gen_ai.input.messages' in d.attributes)).toBe(false);

    // The trace id reaches the structured logs.
    expect(agent.logs.find((l) => l.msg === 'run finished' && l.sessionId === sessionId)).toMatchObject({
      traceId,
    });
  });

  it('records the guardrail verdict, and content only when opted in and masked', async () => {
    const agent = await traced({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' });
    const events = await ask(agent.url, 'say: my email is jane.doe@example.com');
    const docs = await spansOf(traceIdOf(events)!);
    const [run] = named(docs, 'invoke_agent agentcore-gitops-agent');
    expect(run.attributes['aws.bedrock.guardrail.intervened']).toBe(true);
    expect(run.events).toContainEqual({
      name: 'guardrail.verdict',
      attributes: { type: 'EMAIL', action: 'ANONYMIZED' },
      timeUnixNano: expect.any(String),
    });
    const input = JSON.parse(run.attributes['gen_ai.input.messages'] as string);
    expect(input).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'say: my email is {EMAIL}' }] }]);
    expect(JSON.stringify(docs)).not.toContain('jane.doe@example.com');
    expect(named(docs, `chat ${MODEL}`)[0].attributes['aws.bedrock.guardrail.action']).toBe('ANONYMIZED');
  });

  it('answers as usual when the collector is down, and says so once', async () => {
    const agent = await traced({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' });
    for (let i = 0; i < 3; i++) {
      const events = await ask(agent.url, `calculate ${i}+1`);
      expect(events.at(-1)?.type).toBe('RUN_FINISHED');
      expect(traceIdOf(events)).toMatch(/^[0-9a-f]{32}$/);
      await new Promise((r) => setTimeout(r, 120));
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(agent.logs.filter((l) => String(l.msg).startsWith('trace export failed'))).toHaveLength(1);
    expect(agent.logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it("renders a session's traces as span trees with timings (npm run trace)", async () => {
    const agent = await traced();
    const sessionId = newSessionId('render');
    const first = await ask(agent.url, 'calculate 6*7', { sessionId });
    await ask(agent.url, 'What time is it in Tokyo?', { sessionId });
    await spansOf(traceIdOf(first)!, (d) => named(d, 'execute_tool calculator').length > 0);
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trace-')), 'agent.log');
    fs.writeFileSync(log, agent.logs.map((l) => JSON.stringify(l)).join('\n'));

    // AWS_ENDPOINT_URL (set by startAgent) points the command's X-Ray client at the twin.
    const out = await traceCommand([sessionId, '--log', log]);
    expect(out.match(/^trace [0-9a-f]{32} {2}session /gm)).toHaveLength(2);
    expect(out).toMatch(/^invoke_agent agentcore-gitops-agent +\+ +0 ms +\d+ ms/m);
    expect(out).toMatch(/^├─ chat us\.anthropic\.claude-sonnet-4-6 .*first token \d+ ms .*tokens in \d+/m);
    expect(out).toMatch(/─ execute_tool calculator /);
    expect(out).toMatch(/─ execute_tool current_time /);
    expect(out).toMatch(
      /where the time went: first token \d+ ms, model \d+ ms in 2 call\(s\), tools \d+ ms, memory \d+ ms/,
    );
    // One answer by its trace id.
    const one = await traceCommand([traceIdOf(first)!]);
    expect(one.match(/^trace /gm)).toHaveLength(1);
  });

  it('is off without AGENT_OBSERVABILITY_ENABLED or an endpoint: no trace id, answers unchanged', async () => {
    const agent = await startAgent(twin, {});
    agents.push(agent);
    await agent.server.tracing.ready;
    const events = await ask(agent.url, 'calculate 2+2');
    expect(textOf(events)).toContain('4');
    expect(traceIdOf(events)).toBeUndefined();
    expect(agent.logs.some((l) => String(l.msg).startsWith('tracing is off'))).toBe(true);
  });
});
