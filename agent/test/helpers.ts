import type { BaseEvent } from '@ag-ui/core';
import { runHttpRequest, transformHttpEventStream, verifyEvents } from '@ag-ui/client';
import { loadConfig, type Config } from '../src/config';
import { createAgentServer, type AgentServer } from '../src/server';
import { createLogger } from '../src/telemetry/logger';
import { Metrics } from '../src/telemetry/metrics';
import type { Twin } from '../../local/src/twin';

export const SESSION_HEADER = 'X-Amzn-Bedrock-AgentCore-Runtime-Session-Id';

/** A session id AgentCore would accept (33+ chars), unique per call. */
export const newSessionId = (label = 'test') => `${label}-session-${crypto.randomUUID()}`;

export interface TestAgent {
  url: string;
  server: AgentServer;
  config: Config;
  /** Parsed pino log lines. */
  logs: Record<string, unknown>[];
  /** Parsed EMF lines. */
  metrics: Record<string, unknown>[];
  close(): Promise<void>;
}

/** The real agent server on a loopback port, its AWS clients pointed at the twin. */
export async function startAgent(twin: Twin, env: Record<string, string> = {}): Promise<TestAgent> {
  Object.assign(process.env, twin.env());
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    AGENT_ENV: 'test',
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const metrics: Record<string, unknown>[] = [];
  const server = await createAgentServer(config, {
    logger: createLogger(config.LOG_LEVEL, config.AGENT_ENV, {
      write: (line: string) => void logs.push(JSON.parse(line)),
    }),
    metrics: new Metrics(
      config.METRICS_NAMESPACE,
      config.AGENT_ENV,
      (line) => void metrics.push(JSON.parse(line)),
    ),
  });
  const url = await server.listen();
  return { url, server, config, logs, metrics, close: async () => void (await server.shutdown(5_000)) };
}

export interface InvokeOptions {
  sessionId?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export function invokeRequest(url: string, body: unknown, options: InvokeOptions = {}) {
  return fetch(`${url}/invocations`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(options.sessionId && { [SESSION_HEADER]: options.sessionId }),
      ...options.headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: options.signal,
  });
}

/**
 * Invoke and read the answer the way an AG-UI client does: the official SSE parser and the official
 * event-order verifier (`verifyEvents`), which fails the stream on any protocol violation.
 */
export function invoke(url: string, body: unknown, options: InvokeOptions = {}): Promise<BaseEvent[]> {
  const events$ = transformHttpEventStream(runHttpRequest(() => invokeRequest(url, body, options))).pipe(
    verifyEvents(),
  );
  return new Promise((resolve, reject) => {
    const events: BaseEvent[] = [];
    events$.subscribe({ next: (e) => events.push(e), error: reject, complete: () => resolve(events) });
  });
}

export const ask = (url: string, prompt: string, options?: InvokeOptions) => invoke(url, { prompt }, options);

/** The assistant's visible text. */
export const textOf = (events: BaseEvent[]) =>
  events
    .filter((e) => e.type === 'TEXT_MESSAGE_CONTENT')
    .map((e) => (e as unknown as { delta: string }).delta)
    .join('');

export const types = (events: BaseEvent[]) => events.map((e) => e.type as string);

export function usageOf(events: BaseEvent[]) {
  const finished = events.find((e) => e.type === 'RUN_FINISHED') as unknown as {
    usage: {
      inputTokens: number;
      outputTokens: number;
      cachedInputTokens: number;
      cacheWriteInputTokens: number;
    }[];
  };
  return finished.usage[0];
}

/** Reads raw SSE frames from a streaming response, a bit at a time (to act mid-stream). */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<string>;
  private buffer = '';

  constructor(res: Response) {
    this.reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Events up to and including the first one `stop` matches (or to the end of the stream). */
  async until(
    stop: (event: { type: string }) => boolean,
  ): Promise<{ type: string; [key: string]: unknown }[]> {
    const events: { type: string }[] = [];
    for (;;) {
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        const data = this.buffer
          .slice(0, end)
          .split('\n')
          .find((l) => l.startsWith('data: '));
        this.buffer = this.buffer.slice(end + 2);
        if (!data) continue;
        const event = JSON.parse(data.slice(6));
        events.push(event);
        if (stop(event)) return events;
      }
      const { value, done } = await this.reader.read();
      if (done) return events;
      this.buffer += value;
    }
  }
}
