/** A timed AG-UI client: POST a RunAgentInput, read the SSE events with @ag-ui/client's parser. */
import type { BaseEvent, RunAgentInput } from '@ag-ui/core';
import { runHttpRequest, transformHttpEventStream } from '@ag-ui/client';
import { randomUUID } from 'node:crypto';

export const SESSION_HEADER = 'X-Amzn-Bedrock-AgentCore-Runtime-Session-Id';

export interface TimedRun {
  events: BaseEvent[];
  /** POST → first TEXT_MESSAGE_CONTENT at this client (ms); undefined if none arrived. */
  firstTokenMs?: number;
  /** POST → end of the stream (ms). */
  totalMs: number;
}

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

/** A RunAgentInput for a conversation; the thread id doubles as the AgentCore session id (33+ chars). */
export function runInput(threadId: string, turns: Turn[]): RunAgentInput {
  return {
    threadId,
    runId: randomUUID(),
    state: {},
    messages: turns.map((t) => ({ id: randomUUID(), ...t })),
    tools: [],
    context: [],
    forwardedProps: {},
  };
}

/** POST /invocations as AgentCore's data plane forwards it: JSON in, SSE out, the session in its header. */
export const postInvocation = (url: string, input: RunAgentInput, signal: AbortSignal) =>
  fetch(`${url}/invocations`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      [SESSION_HEADER]: input.threadId,
    },
    body: JSON.stringify(input),
    signal,
  });

export const newThreadId = (label = 'bench') => `${label}-thread-${randomUUID()}`;

export function timedRun(
  url: string,
  input: RunAgentInput,
  options: { timeoutMs?: number } = {},
): Promise<TimedRun> {
  const started = performance.now();
  const signal = AbortSignal.timeout(options.timeoutMs ?? 60_000);
  const request = () => postInvocation(url, input, signal);
  const events: BaseEvent[] = [];
  let firstTokenMs: number | undefined;
  return new Promise((resolve, reject) => {
    transformHttpEventStream(runHttpRequest(request)).subscribe({
      next: (event) => {
        if (firstTokenMs === undefined && event.type === 'TEXT_MESSAGE_CONTENT')
          firstTokenMs = performance.now() - started;
        events.push(event);
      },
      error: (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))),
      complete: () => resolve({ events, firstTokenMs, totalMs: performance.now() - started }),
    });
  });
}

/** The concatenated text of every TEXT_MESSAGE_CONTENT event. */
export const textOf = (events: BaseEvent[]) =>
  events
    .filter((e) => e.type === 'TEXT_MESSAGE_CONTENT')
    .map((e) => (e as BaseEvent & { delta: string }).delta)
    .join('');
