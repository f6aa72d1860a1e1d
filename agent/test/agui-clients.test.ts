import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import {
  HttpAgent,
  runHttpRequest,
  transformHttpEventStream,
  verifyEvents,
  type BaseEvent,
  type Message,
  type Tool,
} from '@ag-ui/client';
import { ListSessionsCommand, BedrockAgentCoreClient } from '@aws-sdk/client-bedrock-agentcore';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startTwin, type Twin } from '../../local/src/twin';
import { ask, invokeRequest, SESSION_HEADER, startAgent, textOf, types, type TestAgent } from './helpers';
import { memoryStrategies } from '../../environments/agent-contract';

/**
 * Real AG-UI clients against the real agent on the twin: `@ag-ui/client`'s HttpAgent (what CopilotKit
 * runs on), and the exact requests of AWS's `agentcore dev` CLI.
 */

const root = path.resolve(import.meta.dirname, '../..');

const SLOW_MACHINE_BUDGETS = { MEMORY_RETRIEVE_BUDGET_MS: '5000', MEMORY_LOAD_BUDGET_MS: '10000' };

let twin: Twin;
let agent: TestAgent;
let memoryId: string;

beforeAll(async () => {
  twin = await startTwin({
    bedrock: { firstTokenDelayMs: 0, interTokenDelayMs: 0 },
    memory: { activationDelayMs: 0 },
  });
  memoryId = twin.memory.createMemory({
    name: 'agui_clients_test',
    eventExpiryDuration: 30,
    memoryStrategies,
  }).id;
  // As `npm start` runs it: memory, the twin's guardrail, loopback.
  agent = await startAgent(twin, {
    MEMORY_ID: memoryId,
    GUARDRAIL_ID: 'localguardrail',
    GUARDRAIL_VERSION: '1',
    // Generous memory budgets: these tests judge what memory holds, not how fast a loaded machine reads it.
    ...SLOW_MACHINE_BUDGETS,
  });
});
afterAll(async () => {
  await agent?.close();
  await twin?.close();
});

const lastModelRequest = () =>
  twin.bedrock.calls().findLast((c) => c.operation === 'ConverseStream')!.request;
/** What the model saw of the conversation: role and text/tool blocks, context and cache points left out. */
const seen = () =>
  lastModelRequest().messages!.map((m) => ({
    role: m.role,
    content: m.content
      .filter((b) => !b.cachePoint && !(b.text && b.text.startsWith('<memory>')))
      .map((b) => b.text ?? (b.toolUse ? `toolUse:${b.toolUse.name}` : `toolResult:${b.toolResult!.status}`)),
  }));

const user = (content: string): Message => ({ id: randomUUID(), role: 'user', content });

function httpAgent(threadId = `thread-${randomUUID()}`, initialMessages: Message[] = [], url = agent.url) {
  return new HttpAgent({ url: `${url}/invocations`, threadId, initialMessages });
}

/** Run and collect the events the client applied. */
async function run(client: HttpAgent, tools: Tool[] = []) {
  const events: BaseEvent[] = [];
  const result = await client.runAgent({ tools }, { onEvent: ({ event }) => void events.push(event) });
  return { events, result };
}

const lastText = (client: HttpAgent) => {
  const last = client.messages.at(-1)!;
  return last.role === 'assistant' ? last.content : undefined;
};

describe('session ids', () => {
  it('accepts the id `agentcore dev` sends (local-dev-session) and keeps the memory events under it', async () => {
    const res = await invokeRequest(
      agent.url,
      { prompt: 'calculate 3*3' },
      { sessionId: 'local-dev-session' },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get(SESSION_HEADER)).toBe('local-dev-session');
    expect(await res.text()).toContain('3*3 = 9');
    const client = new BedrockAgentCoreClient({ region: 'us-east-1', endpoint: twin.url, maxAttempts: 1 });
    const out = await client.send(new ListSessionsCommand({ memoryId, actorId: 'anonymous' }));
    expect(out.sessionSummaries!.map((s) => s.sessionId)).toContain('local-dev-session');
  });

  it('maps a session id AgentCore Memory would refuse to a stable memory session id', async () => {
    const sessionId = `chat:${randomUUID()}/1`; // ':' and '/' are outside Memory's session id pattern
    await ask(agent.url, 'My name is Ada.', { sessionId });
    expect(agent.logs.filter((l) => l.sessionId === sessionId && (l.level as number) >= 50)).toEqual([]);
    // A process that never saw the session rebuilds it from memory under the same mapped id.
    const other = await startAgent(twin, { MEMORY_ID: memoryId, ...SLOW_MACHINE_BUDGETS });
    try {
      const events = await ask(other.url, 'What is my name?', { sessionId });
      expect(textOf(events)).toBe('Your name is Ada.');
      expect(seen()[0]).toEqual({ role: 'user', content: ['My name is Ada.'] });
    } finally {
      await other.close();
    }
  });

  it('without the header: the AG-UI threadId, then the body sessionId, then a new id', async () => {
    const byThread = await invokeRequest(agent.url, {
      threadId: 'short-thread',
      runId: 'r1',
      messages: [{ id: 'm1', role: 'user', content: 'hi' }],
    });
    expect(byThread.headers.get(SESSION_HEADER)).toBe('short-thread');
    await byThread.text();
    const byBody = await invokeRequest(agent.url, { prompt: 'hi', sessionId: 'my-session' });
    expect(byBody.headers.get(SESSION_HEADER)).toBe('my-session');
    await byBody.text();
    const generated = await invokeRequest(agent.url, { prompt: 'hi' });
    expect(generated.headers.get(SESSION_HEADER)).toMatch(/^[0-9a-f-]{36}$/);
    await generated.text();
  });

  it.each([
    ['empty', ''],
    ['over 256 characters', 's'.repeat(257)],
  ])('rejects a body sessionId that is %s', async (_name, sessionId) => {
    const res = await invokeRequest(agent.url, { prompt: 'hi', sessionId });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'InvalidSessionId' } });
  });
});

/**
 * The requests `agentcore dev -p <port> "<prompt>"` (@aws/agentcore 0.30.0, dist/cli/index.mjs:
 * invokeAgentStreaming for HTTP, invokeAguiStreaming for AGUI) sends, byte for byte, to the agent
 * process started as `npm start` starts it (scripts/dev.ts: same entry point and environment). The CLI
 * itself cannot be installed here (docs/agent.md, "AWS's AgentCore CLI").
 */
describe('agentcore dev requests', () => {
  let port: string;
  let agentProcess: ChildProcess;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    agentProcess = spawn(path.join(root, 'node_modules/.bin/tsx'), ['agent/src/main.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        ...twin.env(),
        PORT: '0',
        HOST: '127.0.0.1',
        AGENT_ENV: 'local',
        MEMORY_ID: memoryId,
        GUARDRAIL_ID: 'localguardrail',
        GUARDRAIL_VERSION: '1',
      },
    });
    let partial = '';
    agentProcess.stdout!.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop()!;
      for (const line of parts) if (line.startsWith('{')) lines.push(JSON.parse(line));
    });
    for (let waited = 0; !lines.some((l) => l.msg === 'agent listening'); waited += 100) {
      if (waited > 45_000 || agentProcess.exitCode !== null)
        throw new Error('the agent process did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    port = String(lines.find((l) => l.msg === 'agent listening')!.port);
  }, 60_000);
  afterAll(async () => {
    if (!agentProcess || agentProcess.exitCode !== null) return;
    const exited = once(agentProcess, 'exit');
    agentProcess.kill('SIGTERM');
    await exited;
  });

  it('HTTP mode: {"prompt"} with session id local-dev-session streams the answer', async () => {
    const res = await fetch(`http://localhost:${port}/invocations`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'text/event-stream',
        'x-amzn-bedrock-agentcore-runtime-session-id': 'local-dev-session',
      },
      body: JSON.stringify({ prompt: 'What time is it in Tokyo?' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = (await res.text()).split('\n').filter((l) => l.startsWith('data: '));
    const events = frames.map((l) => JSON.parse(l.slice(6)) as { type: string; delta?: string });
    expect(events.at(-1)?.type).toBe('RUN_FINISHED');
    const answer = events.flatMap((e) => (e.type === 'TEXT_MESSAGE_CONTENT' ? [e.delta] : [])).join('');
    expect(answer).toMatch(/Asia\/Tokyo, GMT\+9/);
  });

  it('AGUI mode: a RunAgentInput with a fresh UUID threadId and no session header streams the answer', async () => {
    const threadId = randomUUID();
    const body = {
      threadId,
      runId: randomUUID(),
      messages: [{ id: randomUUID(), role: 'user', content: 'What time is it in Tokyo?' }],
      tools: [],
      context: [],
      state: {},
      forwardedProps: {},
    };
    const events = await read(
      fetch(`http://localhost:${port}/invocations`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify(body),
      }),
    );
    expect(types(events)).not.toContain('RUN_ERROR');
    expect(textOf(events)).toMatch(/Asia\/Tokyo, GMT\+9/);
    expect(lines.some((l) => l.sessionId === threadId && l.msg === 'invocation')).toBe(true);
  });
});

describe('HttpAgent (@ag-ui/client)', () => {
  it('edit and regenerate: the model sees the client’s conversation, not the server’s', async () => {
    // Without long-term memory, whose records (the name Ada) would rightly reach the model too.
    const plain = await startAgent(twin);
    onTestFinished(() => plain.close());
    const client = httpAgent(undefined, [user('My name is Ada.')], plain.url);
    await run(client);
    client.addMessage(user('What is my name?'));
    await run(client);
    expect(lastText(client)).toBe('Your name is Ada.');

    // The user edits the first message and regenerates the last answer.
    const [, firstAnswer, question] = client.messages;
    client.setMessages([
      { ...client.messages[0], content: 'My name is Bea.' } as Message,
      firstAnswer,
      question,
    ]);
    await run(client);
    expect(lastText(client)).toBe('Your name is Bea.');
    expect(seen()).toEqual([
      { role: 'user', content: ['My name is Bea.'] },
      { role: 'assistant', content: [firstAnswer.content] },
      { role: 'user', content: ['What is my name?'] },
    ]);
  });

  it('clear: a cleared conversation on a new thread starts empty (long-term memory aside)', async () => {
    const client = httpAgent(undefined, [user('calculate 1+1')]);
    await run(client);
    client.setMessages([]);
    client.threadId = `thread-${randomUUID()}`;
    client.addMessage(user('say: fresh start'));
    await run(client);
    expect(lastText(client)).toBe('fresh start');
    expect(seen()).toEqual([{ role: 'user', content: ['say: fresh start'] }]);
  });

  it('consecutive user messages reach the model as one user message, both answered from', async () => {
    const client = httpAgent(undefined, [user('My name is Ada.'), user('What is my name?')]);
    await run(client);
    expect(lastText(client)).toBe('Your name is Ada.');
    expect(seen()).toEqual([{ role: 'user', content: ['My name is Ada.', 'What is my name?'] }]);
  });

  it('frontend tool round trip: the run ends at the call, the next run continues from its result', async () => {
    const showChart: Tool = {
      name: 'show_chart',
      description: 'Show a chart of a city’s temperature in the user’s browser.',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    };
    const client = httpAgent(undefined, [user('call show_chart with {"city":"Tokyo"}')]);
    const first = await run(client, [showChart]);
    expect(types(first.events)).not.toContain('TOOL_CALL_RESULT');
    const start = first.events.find((e) => e.type === 'TOOL_CALL_START') as unknown as {
      toolCallId: string;
      toolCallName: string;
    };
    expect(start.toolCallName).toBe('show_chart');
    expect(first.events.at(-1)).toMatchObject({
      type: 'RUN_FINISHED',
      outcome: { type: 'success', pendingToolCallIds: [start.toolCallId] },
    });
    const call = client.messages.at(-1) as {
      role: string;
      toolCalls?: { function: { arguments: string } }[];
    };
    expect(call.role).toBe('assistant');
    expect(JSON.parse(call.toolCalls![0].function.arguments)).toEqual({ city: 'Tokyo' });

    // The client runs the tool and sends its result; the model continues from it (not re-answering).
    client.addMessage({
      id: randomUUID(),
      role: 'tool',
      toolCallId: start.toolCallId,
      content: 'chart shown',
    });
    const second = await run(client, [showChart]);
    expect(lastText(client)).toBe('The show_chart tool returned: chart shown.');
    expect(types(second.events)).not.toContain('TOOL_CALL_START');
    expect(seen().at(-1)).toEqual({ role: 'user', content: ['toolResult:success'] });

    // A server tool still runs on the server beside the frontend one.
    client.addMessage(user('What time is it in Tokyo?'));
    const third = await run(client, [showChart]);
    expect(types(third.events)).toContain('TOOL_CALL_RESULT');
    expect(lastText(client)).toMatch(/Asia\/Tokyo, GMT\+9/);
    const tools = lastModelRequest()
      .toolConfig!.tools!.map((t) => t.toolSpec?.name)
      .filter(Boolean);
    expect(tools).toEqual(['current_time', 'calculator', 'faq_lookup', 'show_chart']);
  });

  it('abort: abortRun() cancels the model stream, and the thread takes the next run', async () => {
    twin.bedrock.configure({ interTokenDelayMs: 25 });
    try {
      const threadId = `thread-${randomUUID()}`;
      const client = httpAgent(threadId, [user(`say: ${'lorem ipsum '.repeat(60)}`)]);
      let started!: () => void;
      const streaming = new Promise<void>((r) => (started = r));
      const running = client.runAgent({}, { onTextMessageContentEvent: () => started() });
      await streaming;
      client.abortRun();
      await running.catch(() => undefined);
      await expect
        .poll(() => agent.logs.some((l) => l.sessionId === threadId && l.msg === 'run aborted'))
        .toBe(true);
    } finally {
      twin.bedrock.configure({ interTokenDelayMs: 0 });
    }
    const next = httpAgent(undefined, [user('calculate 2+2')]);
    await run(next);
    expect(lastText(next)).toContain('2+2 = 4');
  });

  it('two clients on one thread: the second gets a RUN_ERROR it can show, the first finishes', async () => {
    twin.bedrock.configure({ interTokenDelayMs: 25 });
    const threadId = `thread-${randomUUID()}`;
    try {
      const first = httpAgent(threadId, [user(`say: ${'lorem ipsum '.repeat(40)}`)]);
      let started!: () => void;
      const streaming = new Promise<void>((r) => (started = r));
      const firstRun = first.runAgent({}, { onTextMessageContentEvent: () => started() });
      await streaming;

      const second = httpAgent(threadId, [user('calculate 1+1')]);
      const errors: { code?: string; message: string }[] = [];
      await second
        .runAgent({}, { onRunErrorEvent: ({ event }) => void errors.push(event) })
        .catch(() => undefined);
      expect(errors).toEqual([
        {
          type: 'RUN_ERROR',
          code: 'SessionBusy',
          message: expect.stringMatching(/retry/),
          timestamp: expect.any(Number),
        },
      ]);

      await firstRun;
      expect(lastText(first)).toContain('lorem ipsum');
    } finally {
      twin.bedrock.configure({ interTokenDelayMs: 0 });
    }
  });

  it('state: a snapshot with the memory records used, a delta with the guardrail verdict', async () => {
    const authorization = `Bearer ${jwt('state-actor')}`;
    await ask(agent.url, 'My name is Ada and I prefer metric units.', { headers: { authorization } });
    const client = new HttpAgent({
      url: `${agent.url}/invocations`,
      headers: { authorization },
      initialMessages: [user('say: mail me at ada@example.com')],
    });
    const { events } = await run(client);
    const snapshot = events.find((e) => e.type === 'STATE_SNAPSHOT') as unknown as { snapshot: unknown };
    expect(snapshot.snapshot).toMatchObject({
      memory: { records: expect.arrayContaining([{ kind: 'facts', text: "The user's name is Ada." }]) },
      guardrail: null,
    });
    expect(types(events).indexOf('STATE_SNAPSHOT')).toBeLessThan(types(events).indexOf('TEXT_MESSAGE_START'));
    expect(events.find((e) => e.type === 'STATE_DELTA')).toMatchObject({
      delta: [
        {
          op: 'replace',
          path: '/guardrail',
          value: { intervened: true, blocked: false, verdicts: [{ type: 'EMAIL', action: 'ANONYMIZED' }] },
        },
      ],
    });
    // The client applied both: its state is what a frontend renders.
    expect(client.state).toMatchObject({
      memory: { records: expect.arrayContaining([{ kind: 'facts', text: "The user's name is Ada." }]) },
      guardrail: { intervened: true, blocked: false },
    });
  });
});

/** A response read as an AG-UI client reads it: the official SSE parser and event-order verifier. */
function read(response: Promise<Response>): Promise<BaseEvent[]> {
  const events$ = transformHttpEventStream(runHttpRequest(() => response)).pipe(verifyEvents());
  return new Promise((resolve, reject) => {
    const events: BaseEvent[] = [];
    events$.subscribe({ next: (e) => events.push(e), error: reject, complete: () => resolve(events) });
  });
}

/** An unsigned-looking JWT with this `sub` (the agent only decodes it; AgentCore verified it). */
function jwt(sub: string) {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256' })}.${part({ sub, token_use: 'access' })}.c2ln`;
}
