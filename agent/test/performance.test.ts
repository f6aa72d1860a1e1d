/**
 * What keeps the agent fast without dropping work: pooled keep-alive connections to Bedrock, background
 * calls that wait while an answer awaits its first token, and a process that answers /ping while its
 * server modules are still loading.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, connect, type Server } from 'node:net';
import path from 'node:path';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/src/twin';
import { freePort } from '../../scripts/bench/processes';
import { agentEntryInputs, buildAgent } from '../../scripts/build-agent';
import { keepAliveHandler } from '../src/aws-http';
import { Background } from '../src/background';
import { createLogger } from '../src/telemetry/logger';
import { Metrics } from '../src/telemetry/metrics';
import { ask, newSessionId, startAgent } from './helpers';

const root = path.resolve(import.meta.dirname, '../..');

let twin: Twin;
beforeAll(async () => {
  twin = await startTwin({ bedrock: { firstTokenDelayMs: 0, interTokenDelayMs: 0 } });
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
        .filter((c) => c.request.messages?.[0]?.content?.[0]?.text?.startsWith('calculate'));
      // Four answers (each a tool round trip: two ConverseStream calls) and four classifications.
      expect(calls.length).toBeGreaterThanOrEqual(12);
      // An answer and the previous turn's classification may overlap: two sockets at most.
      expect(relay.connections()).toBeLessThanOrEqual(2);
    } finally {
      if (before === undefined) delete process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME;
      else process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = before;
      relay.close();
    }
  });

  it('uses an HTTP/1.1 handler whose agents keep connections alive', async () => {
    const handler = keepAliveHandler();
    const config = await (
      handler as unknown as { configProvider: Promise<{ httpsAgent: { keepAlive: boolean } }> }
    ).configProvider;
    expect(config.httpsAgent.keepAlive).toBe(true);
    expect(handler.metadata.handlerProtocol).toBe('http/1.1');
  });
});

describe('background calls', () => {
  it('wait while an answer awaits its first token, then still classify the message', async () => {
    Object.assign(process.env, twin.env());
    const client = new BedrockRuntimeClient({ requestHandler: keepAliveHandler() });
    const metrics: Record<string, unknown>[] = [];
    const background = new Background(
      client,
      'us.amazon.nova-pro-v1:0',
      new Metrics('Test', 'test', (line) => void metrics.push(JSON.parse(line))),
    );
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

describe('start-up', () => {
  it('the split bundle’s entry loads only config validation and /ping before the port opens', async () => {
    const inputs = await agentEntryInputs();
    const packages = new Set(
      inputs.flatMap((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(i)?.[1] ?? []),
    );
    const sources = inputs.filter((i) => !i.includes('node_modules/'));
    // Express, the AWS SDK, pino, AG-UI (with iconv-lite, mime-db, protobuf) load after listen.
    expect([...packages]).toEqual(['zod']);
    expect(sources.sort()).toEqual([
      'agent/src/config.ts',
      'agent/src/health.ts',
      'agent/src/main.ts',
      'cost/model.ts',
      'environments/prices-schema.ts',
    ]);
  });

  it('answers /ping Healthy before its server modules have loaded, then serves invocations', async () => {
    // The image's layout: the minified split bundle (entry + chunks/).
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
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stdout = '';
      child.stdout!.on('data', (d) => (stdout += d));
      let healthyBeforeLoaded = false;
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined);
        const loaded = stdout.includes('"msg":"agent listening"');
        if (res?.ok && ((await res.json()) as { status: string }).status === 'Healthy') {
          healthyBeforeLoaded ||= !loaded;
          if (loaded) break;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      expect(healthyBeforeLoaded).toBe(true);
      const events = await ask(`http://127.0.0.1:${port}`, 'calculate 2+3');
      expect(events.at(-1)?.type).toBe('RUN_FINISHED');
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
