/**
 * What keeps the agent fast without dropping work: pooled keep-alive connections to Bedrock, background
 * calls that wait while an answer awaits its first token, memory reads sent together, the guardrail
 * applied inside the model call (no round trip of its own), and a process that answers /ping while
 * its server modules are still loading.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer, connect, type Server } from 'node:net';
import path from 'node:path';
import { BedrockAgentCoreClient, ListEventsCommand } from '@aws-sdk/client-bedrock-agentcore';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/src/twin';
import { freePort } from '../../scripts/bench/processes';
import {
  agentBuiltinImports,
  agentEntryInputs,
  agentSplitInputs,
  agentStartCode,
  agentStartInputs,
  buildAgent,
} from '../../scripts/build-agent';
import { EventType, type BaseEvent } from '@ag-ui/core';
import { AGUI_MEDIA_TYPE as ENCODER_MEDIA_TYPE, EventEncoder } from '@ag-ui/encoder';
import { keepAliveHandler } from '../src/aws-http';
import { AGUI_MEDIA_TYPE, encodeSSE } from '../src/server';
import { Background, splitUsage } from '../src/background';
import type { Usage } from '../src/loop';
import { createLogger } from '../src/telemetry/logger';
import { Metrics } from '../src/telemetry/metrics';
import { ask, invoke, newSessionId, startAgent } from './helpers';
import { memoryStrategies } from '../../environments/agent-contract';

const root = path.resolve(import.meta.dirname, '../..');

let twin: Twin;
beforeAll(async () => {
  twin = await startTwin({ bedrock: { firstTokenDelayMs: 0, interTokenDelayMs: 0 } });
  // The twin's credentials and endpoints for this process's own clients, whichever tests run (-t).
  Object.assign(process.env, twin.env());
});
afterAll(() => twin?.close());

/** A TCP relay in front of the twin that counts the connections opened through it. */
async function countingRelay(
  target: URL,
): Promise<{ url: string; connections: () => number; close(): void }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    const upstream = connect(Number(target.port), target.hostname);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await once(server.listen(0, '127.0.0.1'), 'listening');
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, connections: () => connections, close: () => server.close() };
}

/**
 * An HTTP relay in front of the twin that records each request (method and path) and the most requests
 * it had in flight at once. Headers pass unchanged, so SigV4 signatures still verify at the twin.
 * With `holdUntil`, requests wait at the relay until that many have arrived (or `holdMs` has passed
 * since the first): how many can be in flight at once, whatever the machine's speed.
 */
async function recordingRelay(target: URL, hold?: { holdUntil: number; holdMs: number }) {
  const requests: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  if (!hold) release();
  const server = createHttpServer(async (req, res) => {
    requests.push(`${req.method} ${decodeURIComponent(req.url ?? '')}`);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    if (hold) {
      if (requests.length === 1) setTimeout(release, hold.holdMs);
      if (inFlight >= hold.holdUntil) release();
      await released;
    }
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => inFlight--);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await once(server.listen(0, '127.0.0.1'), 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => [...requests],
    maxInFlight: () => maxInFlight,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Point one AWS service of the agent (e.g. BEDROCK_AGENTCORE) at `url` while `fn` runs. */
async function withEndpoint<T>(service: string, url: string, fn: () => Promise<T>): Promise<T> {
  const name = `AWS_ENDPOINT_URL_${service}`;
  const before = process.env[name];
  process.env[name] = url;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

describe('connections to Bedrock', () => {
  it('reuses keep-alive connections for answers and background calls instead of one per call', async () => {
    const relay = await countingRelay(new URL(twin.url));
    const before = process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME;
    const agent = await startAgent(twin);
    // The SDK reads the endpoint variable when it sends; only Bedrock runtime goes through the relay.
    process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = relay.url;
    try {
      const sessionId = newSessionId('keepalive');
      for (const prompt of ['calculate 1+1', 'calculate 2+2', 'calculate 3+3', 'calculate 4+4'])
        await ask(agent.url, prompt, { sessionId });
      await agent.server.shutdown(5_000); // awaits the four classifications too
      const calls = twin.bedrock
        .calls()
        .filter((c) => c.request.messages?.[0]?.content?.[0]?.text?.includes('calculate'));
      // Four answers (each a tool round trip: two ConverseStream calls) and the four messages classified,
      // alone or several to a call ("1: calculate 1+1" lines) when they waited together.
      expect(calls.filter((c) => c.operation === 'ConverseStream')).toHaveLength(8);
      const classified = calls
        .filter((c) => c.operation === 'Converse')
        .flatMap((c) => c.request.messages![0].content![0].text!.match(/calculate \d\+\d/g) ?? []);
      expect(classified.sort()).toEqual(['calculate 1+1', 'calculate 2+2', 'calculate 3+3', 'calculate 4+4']);
      // An answer and the previous turn's classification may overlap: two sockets at most.
      expect(relay.connections()).toBeLessThanOrEqual(2);
    } finally {
      if (before === undefined) delete process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME;
      else process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = before;
      relay.close();
    }
  });

  it('streams many answers at once without queueing them behind a socket cap', async () => {
    // The relay holds the model calls until 60 are in flight (or 5 s passed): with a pool of 50, calls
    // 51–60 wait for a socket, and only 50 ever arrive.
    const relay = await recordingRelay(new URL(twin.url), { holdUntil: 60, holdMs: 5_000 });
    const agent = await startAgent(twin);
    try {
      await withEndpoint('BEDROCK_RUNTIME', relay.url, () =>
        Promise.all(Array.from({ length: 60 }, (_, i) => ask(agent.url, `Hello number ${i}`))),
      );
      const answers = relay.requests().filter((r) => r.endsWith('/converse-stream'));
      expect(answers).toHaveLength(60);
      expect(relay.maxInFlight()).toBeGreaterThanOrEqual(60);
    } finally {
      await agent.close();
      relay.close();
    }
  });

  it('uses an HTTP/1.1 handler whose agents keep connections alive', async () => {
    const handler = keepAliveHandler({ connectMs: 3000, idleMs: 120_000 });
    const config = await (
      handler as unknown as { configProvider: Promise<{ httpsAgent: { keepAlive: boolean } }> }
    ).configProvider;
    expect(config.httpsAgent.keepAlive).toBe(true);
    expect(handler.metadata.handlerProtocol).toBe('http/1.1');
  });
});

/** A Background on the twin's Bedrock, as the agent makes it, with the metric lines it writes. */
function backgroundOnTwin() {
  Object.assign(process.env, twin.env());
  const client = new BedrockRuntimeClient({
    requestHandler: keepAliveHandler({ connectMs: 3000, idleMs: 120_000 }),
  });
  const metrics: Record<string, unknown>[] = [];
  const background = new Background(
    client,
    'us.amazon.nova-pro-v1:0',
    new Metrics('Test', 'test', (line) => void metrics.push(JSON.parse(line))),
  );
  return { client, background, metrics };
}

describe('background calls', () => {
  it('wait while an answer awaits its first token, then still classify the message', async () => {
    const { client, background, metrics } = backgroundOnTwin();
    const text = `What time is it in Lisbon? ${crypto.randomUUID()}`;
    const classified = () =>
      twin.bedrock
        .calls()
        .some((c) => c.operation === 'Converse' && c.request.messages?.[0]?.content?.[0]?.text === text);
    const release = background.holdForAnswer();
    background.classify(text, createLogger('silent', 'test'));
    await new Promise((r) => setTimeout(r, 300));
    expect(classified()).toBe(false);
    release();
    await background.idle();
    expect(classified()).toBe(true);
    expect(metrics.find((m) => m.UserMessages === 1)).toMatchObject({ Topic: 'time' });
    client.destroy();
  });
});

describe('background classification of messages that wait together', () => {
  it('classifies them in one call, each with its own topic, and gives each run a share of the tokens', async () => {
    const { client, background, metrics } = backgroundOnTwin();
    const tag = crypto.randomUUID().slice(0, 6);
    const texts = [`What time\nis it? ${tag}`, `Any math? ${tag}`, `hello ${tag}`];
    const usages: Usage[][] = texts.map(() => []);
    const callsBefore = twin.bedrock.calls().length;
    const release = background.holdForAnswer();
    texts.forEach((t, i) => background.classify(t, createLogger('silent', 'test'), (u) => usages[i].push(u)));
    release();
    await background.idle();

    const calls = twin.bedrock
      .calls()
      .slice(callsBefore)
      .filter((c) => c.operation === 'Converse' && JSON.stringify(c.request.messages).includes(tag));
    expect(calls).toHaveLength(1);
    // One line per message, numbered, newlines inside a message folded.
    expect(calls[0].request.messages?.[0]?.content?.[0]?.text).toBe(
      `1: What time is it? ${tag}\n2: Any math? ${tag}\n3: hello ${tag}`,
    );
    // The twin's model echoes the prompt, so each line carries that message's own topic word.
    expect(
      metrics
        .filter((m) => m.UserMessages === 1)
        .map((m) => m.Topic)
        .sort(),
    ).toEqual(['math', 'other', 'time']);
    // The call's tokens once in the metrics; the three shares add up to them.
    const tokens = metrics.filter((m) => m.ModelId === 'us.amazon.nova-pro-v1:0' && 'inputTokens' in m);
    expect(tokens).toHaveLength(1);
    expect(usages.map((u) => u.length)).toEqual([1, 1, 1]);
    const sum = usages.reduce((n, [u]) => n + u.inputTokens, 0);
    expect(sum).toBe(tokens[0].inputTokens);
    expect(sum).toBeGreaterThan(0);
    client.destroy();
  });

  it('splits usage into shares that add up to the whole', () => {
    const shares = splitUsage(
      { inputTokens: 10, outputTokens: 7, cacheReadInputTokens: 0, cacheWriteInputTokens: 2 } as Usage,
      3,
    );
    expect(shares.map((s) => s.inputTokens)).toEqual([4, 3, 3]);
    expect(shares.map((s) => s.outputTokens)).toEqual([3, 2, 2]);
    expect(shares.map((s) => s.cacheWriteInputTokens)).toEqual([1, 1, 0]);
  });
});

describe('memory reads before the model call', () => {
  it("sends the session's events and the three long-term namespaces together, not one after another", async () => {
    const memoryId = twin.memory.createMemory({
      name: 'agent_memory_perf',
      eventExpiryDuration: 30,
      memoryStrategies,
    }).id;
    const relay = await recordingRelay(new URL(twin.url));
    const { agent, events } = await withEndpoint('BEDROCK_AGENTCORE', relay.url, async () => {
      // Budgets a loaded test machine meets: a retrieval cut by its budget never reaches the relay.
      const agent = await startAgent(twin, {
        MEMORY_ID: memoryId,
        MEMORY_RETRIEVE_BUDGET_MS: '5000',
        MEMORY_LOAD_BUDGET_MS: '10000',
      });
      return {
        agent,
        events: await ask(agent.url, 'calculate 6*7', { sessionId: newSessionId('perf-memory') }),
      };
    });
    try {
      expect(events.at(-1)?.type).toBe('RUN_FINISHED');
      const [reads, writes] = [relay.requests().slice(0, 4), relay.requests().slice(4)];
      // A session new to the process: its events (ListEvents), then one retrieval per namespace.
      expect(reads.filter((r) => r.endsWith('/retrieve'))).toHaveLength(3);
      expect(reads.filter((r) => /\/actor\/[^/]+\/sessions\/[^/]+$/.test(r))).toHaveLength(1);
      // All four were in flight at once: the model call waits for one round trip, not four.
      expect(relay.maxInFlight()).toBe(4);
      // The turn is still written (question and answer) after the answer.
      expect(writes.length).toBeGreaterThan(0);
      expect(writes.every((w) => w.endsWith('/events'))).toBe(true);
    } finally {
      await agent.close();
      relay.close();
    }
  });
});

describe('guardrail', () => {
  it("is applied inside the model call: no ApplyGuardrail round trip, and the trace's masking is what is kept", async () => {
    const relay = await recordingRelay(new URL(twin.url));
    const agent = await startAgent(twin, {
      GUARDRAIL_ID: 'localguardrail',
      GUARDRAIL_VERSION: '1',
      GUARDRAIL_STREAM_MODE: 'sync',
    });
    const email = `perf-${crypto.randomUUID().slice(0, 8)}@example.com`;
    try {
      const events = await withEndpoint('BEDROCK_RUNTIME', relay.url, async () => {
        const out = await ask(agent.url, `My address is ${email}. Tell me about blue/green deployments.`, {
          sessionId: newSessionId('perf-guardrail'),
        });
        await agent.server.shutdown(5_000); // awaits the classification
        return out;
      });
      expect(events.at(-1)?.type).toBe('RUN_FINISHED');
      const requests = relay.requests();
      expect(requests.some((r) => r.includes('/guardrail/'))).toBe(false);
      const guarded = requests.filter((r) => r.endsWith('/converse-stream'));
      expect(guarded).toHaveLength(1);
      const call = twin.bedrock
        .calls()
        .find((c) => c.operation === 'ConverseStream' && JSON.stringify(c.request).includes(email));
      expect(call?.request.guardrailConfig).toMatchObject({ guardrailIdentifier: 'localguardrail' });
      // The background model classified the message as the guardrail let it through (masked).
      const classified = twin.bedrock
        .calls()
        .filter((c) => c.operation === 'Converse')
        .map((c) => JSON.stringify(c.request.messages));
      expect(classified.some((m) => m.includes('My address is {EMAIL}.'))).toBe(true);
      expect(classified.some((m) => m.includes(email))).toBe(false);
    } finally {
      relay.close();
    }
  });
});

describe('AG-UI encoding without @ag-ui/encoder on the SSE path', () => {
  it('writes every SSE event byte for byte as @ag-ui/encoder does, and names its protobuf media type', async () => {
    const encoder = new EventEncoder();
    expect(AGUI_MEDIA_TYPE).toBe(ENCODER_MEDIA_TYPE);
    const samples = [
      { type: EventType.TEXT_MESSAGE_START, messageId: 'm1', role: 'assistant', name: null, timestamp: 1 },
      { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm1', delta: 'é "quoted"\n€ 😀', rawEvent: null },
      { type: EventType.RUN_ERROR, message: 'boom', code: null },
    ] as unknown as BaseEvent[];
    for (const event of samples) expect(encodeSSE(event)).toBe(encoder.encodeSSE(event));
    // A whole run with a tool call, as the server wrote it.
    const agent = await startAgent(twin);
    try {
      const res = await fetch(`${agent.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ prompt: 'calculate 6*7' }),
      });
      const frames = (await res.text()).split(/(?<=\n\n)/);
      expect(frames.length).toBeGreaterThan(5);
      for (const frame of frames)
        expect(frame).toBe(encoder.encodeSSE(JSON.parse(frame.slice('data: '.length))));
    } finally {
      await agent.close();
    }
  });
});

describe('start-up', () => {
  it('the split bundle’s entry loads only config validation and /ping before the port opens', async () => {
    const inputs = await agentEntryInputs();
    const packages = new Set(
      inputs.flatMap((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(i)?.[1] ?? []),
    );
    const sources = inputs.filter((i) => !i.includes('node_modules/'));
    // Express (with iconv-lite and mime-db), the AWS SDK, pino and AG-UI load after listen.
    expect([...packages]).toEqual(['zod']);
    // Of zod, only `zod/mini` and its English messages: classic zod is ~450 KB to read and run.
    expect(inputs.filter((i) => /node_modules\/zod\/v4\/(classic|locales\/(?!en\.js))/.test(i))).toEqual([]);
    expect(sources.sort()).toEqual([
      'agent/src/config.ts',
      'agent/src/health.ts',
      'agent/src/main.ts',
      'environments/prices-schema.ts',
    ]);
  });

  it('imports no Node built-in module from ESM (on Node 24 that loads undici for node:http)', async () => {
    expect(await agentBuiltinImports()).toEqual([]);
  });

  it('loads no memory modules (the AgentCore client) before serving an agent without memory', async () => {
    const inputs = await agentStartInputs();
    expect(inputs).toContain('agent/src/server.ts');
    expect(inputs.filter((i) => /client-bedrock-agentcore|agent\/src\/memory\.ts/.test(i))).toEqual([]);
  });

  it('loads neither the protobuf encoder nor the AG-UI event schemas before an SSE answer', async () => {
    // @ag-ui/encoder validates each event with a zod schema per event type, all built on import.
    const inputs = await agentStartInputs();
    expect(inputs.filter((i) => /node_modules\/(@ag-ui\/(proto|encoder)|@bufbuild)\//.test(i))).toEqual([]);
    const code = await agentStartCode();
    expect(code).toMatch(/\bRunAgentInputSchema\d* = /);
    expect(code).not.toMatch(/\b(TextMessageContentEventSchema|RunFinishedEventSchema|EventSchema)\d* = /);
  });

  it('carries only iconv-lite’s UTF codecs: the agent parses JSON bodies alone, in utf-* charsets', async () => {
    const codecs = (await agentSplitInputs()).filter((i) => /node_modules\/iconv-lite\/encodings\//.test(i));
    expect(codecs.map((i) => path.basename(i)).sort()).toEqual([
      'index.js',
      'internal.js',
      'utf16.js',
      'utf32.js',
      'utf7.js',
    ]);
  });

  it('evaluates mime-types (with its database) and qs on first use, not when Express loads', async () => {
    const code = await agentStartCode();
    for (const module of ['mime-types/index.js', 'qs/lib/index.js']) {
      const wrapped = new RegExp(
        `"[^"]*node_modules/${module.replaceAll('.', '\\.')}"\\(exports(, module)?\\) \\{\\s*(?:let|var) loaded;\\s*function load\\(\\)`,
      );
      expect(code, module).toMatch(wrapped);
    }
  });

  it('takes the AWS SDK’s ESM builds: no Bedrock command the agent never sends, no credential provider before the chain reaches it', async () => {
    const inputs = await agentStartInputs();
    expect(inputs.filter((i) => /node_modules\/@(aws-sdk|smithy)\/[^/]+\/dist-cjs\//.test(i))).toEqual([]);
    expect(
      inputs.filter((i) => /credential-provider-(ini|sso|process|web-identity|login)\//.test(i)),
    ).toEqual([]);
    const code = await agentStartCode();
    expect(code).toMatch(/\bConverseStreamCommand\b/);
    expect(code).not.toMatch(/\b(InvokeModelWithBidirectionalStreamCommand|StartAsyncInvokeCommand)\b/);
  });

  it('carries zod’s English messages only, not its 50 locales', async () => {
    const locales = (await agentSplitInputs()).filter((i) => /node_modules\/zod\/v4\/locales\//.test(i));
    // index.js: the `z.locales` namespace, now holding `en` alone.
    expect(locales.map((i) => path.basename(i)).sort()).toEqual(['en.js', 'index.js']);
  });

  /** The image's layout, the minified split bundle (entry + chunks/), built and started on `env`. */
  async function startSplitBundle(env: Record<string, string> = {}) {
    const dir = await mkdtemp(path.join(tmpdir(), 'agent-split-'));
    const { outfile } = await buildAgent({
      outfile: path.join(dir, 'server.mjs'),
      minify: true,
      split: true,
    });
    const port = await freePort();
    const child = spawn(process.execPath, [outfile], {
      cwd: root,
      env: {
        PATH: process.env.PATH!,
        ...twin.env(),
        PORT: String(port),
        HOST: '127.0.0.1',
        AGENT_ENV: 'test',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { stdout: '', stderr: '' };
    child.stdout!.on('data', (d) => (out.stdout += d));
    child.stderr!.on('data', (d) => (out.stderr += d));
    return {
      url: `http://127.0.0.1:${port}`,
      out,
      exited: () =>
        child.exitCode === null
          ? undefined
          : `the agent exited with ${child.exitCode}: ${out.stderr.slice(-300)}`,
      /** SIGTERM: drain and exit. */
      stop: () => child.kill('SIGTERM'),
      exitedNow: once(child, 'exit'),
      async close() {
        child.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  it('serves with memory on from the split bundle (the image runs it): the memory modules it loads late work', async () => {
    // Source and bundle differ here: Node reads a CommonJS package's named exports, a bundle's chunk of
    // it exports only `default` — a named import() that passes under tsx can fail in the image.
    const memoryId = twin.memory.createMemory({
      name: 'agent_memory_split',
      eventExpiryDuration: 30,
      memoryStrategies,
    }).id;
    const agent = await startSplitBundle({ MEMORY_ID: memoryId, DEFAULT_ACTOR_ID: 'split-actor' });
    try {
      await serverLoaded(agent);
      const sessionId = newSessionId('split-memory');
      const events = await ask(agent.url, 'calculate 2+3', { sessionId });
      expect(events.at(-1)?.type).toBe('RUN_FINISHED');
      // The turn was written through the late-loaded AgentCore client (before RUN_FINISHED).
      const client = new BedrockAgentCoreClient({ region: 'us-east-1', endpoint: twin.url, maxAttempts: 1 });
      const out = await client.send(
        new ListEventsCommand({ memoryId, actorId: 'split-actor', sessionId, includePayloads: true }),
      );
      expect(out.events?.[0]?.payload?.map((p) => p.conversational?.role)).toEqual(['USER', 'ASSISTANT']);
    } finally {
      await agent.close();
    }
  }, 60_000);

  /** Until the server's own routes answer (405 from them, not the early /ping listener's queue). */
  async function serverLoaded(agent: Awaited<ReturnType<typeof startSplitBundle>>) {
    for (;;) {
      const exited = agent.exited();
      if (exited) throw new Error(exited);
      const res = await fetch(`${agent.url}/invocations`, { method: 'OPTIONS' }).catch(() => undefined);
      if (res?.status === 405) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('serves AG-UI protobuf, bodies in UTF-16 and JSON errors from the split bundle, whose modules for them load late', async () => {
    const agent = await startSplitBundle();
    try {
      await serverLoaded(agent);
      const protobuf = 'application/vnd.ag-ui.event+proto';
      const res = await fetch(`${agent.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: protobuf },
        body: JSON.stringify({ prompt: 'calculate 2+3' }),
      });
      expect(res.headers.get('content-type')).toBe(protobuf);
      await res.body?.cancel();
      // Decoded by @ag-ui/client's protobuf reader and checked by its event-order verifier.
      const events = await invoke(agent.url, { prompt: 'calculate 2+3' }, { headers: { accept: protobuf } });
      expect(events.map((e) => e.type)).toContain('TEXT_MESSAGE_CONTENT');
      expect(events.at(-1)?.type).toBe('RUN_FINISHED');

      const utf16 = await fetch(`${agent.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-16le', accept: 'text/event-stream' },
        body: Buffer.from(JSON.stringify({ prompt: 'calculate 2+3' }), 'utf16le'),
      });
      expect(utf16.status).toBe(200);
      expect(await utf16.text()).toContain('RUN_FINISHED');
      const shiftJis = await fetch(`${agent.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=shift_jis', accept: 'text/event-stream' },
        body: JSON.stringify({ prompt: 'hello' }),
      });
      expect(shiftJis.status).toBe(415);
      expect(shiftJis.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await shiftJis.json()).toMatchObject({ error: { code: 'UnsupportedMediaType' } });

      const ping = await fetch(`${agent.url}/ping`);
      expect(ping.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await ping.json()).toMatchObject({ status: 'Healthy' });
    } finally {
      await agent.close();
    }
  }, 60_000);

  it('has not read node:http2 by the end of its first answer (its AWS clients use HTTP/1.1)', async () => {
    // A preload writes the Node modules the process loaded when it exits.
    const dir = await mkdtemp(path.join(tmpdir(), 'agent-modules-'));
    const preload = path.join(dir, 'modules.cjs');
    const list = path.join(dir, 'modules.json');
    await writeFile(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));`,
    );
    const agent = await startSplitBundle({ NODE_OPTIONS: `--require ${preload}` });
    try {
      await serverLoaded(agent);
      const events = await ask(agent.url, 'Hello there');
      expect(events.map((e) => e.type)).toContain('TEXT_MESSAGE_CONTENT');
      agent.stop();
      await agent.exitedNow;
      const loaded = JSON.parse(await readFile(list, 'utf8')) as string[];
      expect(loaded).toContain('NativeModule https');
      expect(loaded.filter((m) => /^NativeModule (http2|internal\/http2\/)/.test(m))).toEqual([]);
    } finally {
      await agent.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('answers /ping Healthy before its server modules have loaded, then serves invocations', async () => {
    const agent = await startSplitBundle();
    try {
      let healthyBeforeLoaded = false;
      for (;;) {
        const exited = agent.exited();
        if (exited) throw new Error(exited);
        const res = await fetch(`${agent.url}/ping`).catch(() => undefined);
        const loaded = agent.out.stdout.includes('"msg":"agent listening"');
        if (res?.ok && ((await res.json()) as { status: string }).status === 'Healthy') {
          healthyBeforeLoaded ||= !loaded;
          if (loaded) break;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      expect(healthyBeforeLoaded).toBe(true);
      const events = await ask(agent.url, 'calculate 2+3');
      expect(events.at(-1)?.type).toBe('RUN_FINISHED');
    } finally {
      await agent.close();
    }
  }, 60_000);
});
