import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeResult } from '../../.github/actions/src/lib/agui';
import { loadPrices } from '../../environments/prices';
import { startTwin, type Twin } from '../../local/src/twin';
import { startAgent, type TestAgent } from '../../agent/test/helpers';
import { runCase, runSuites, type Invoke } from '../run';
import { loadSuites, type EvalCase } from '../schema';

let twin: Twin;
let agent: TestAgent;

beforeAll(async () => {
  twin = await startTwin({
    bedrock: { firstTokenDelayMs: 0, interTokenDelayMs: 0 },
    memory: { activationDelayMs: 0 },
  });
  const memoryId = twin.memory.createMemory({
    name: 'evals_run_test',
    eventExpiryDuration: 30,
    memoryStrategies: [{ semanticMemoryStrategy: { name: 'facts', namespaces: ['/facts/{actorId}'] } }],
  }).id;
  agent = await startAgent(twin, {
    GUARDRAIL_ID: 'localguardrail',
    GUARDRAIL_VERSION: '1',
    MEMORY_ID: memoryId,
    MODEL_ID: 'us.anthropic.claude-sonnet-4-6',
    BACKGROUND_MODEL_ID: 'us.amazon.nova-pro-v1:0',
  });
});
afterAll(async () => {
  await agent?.close();
  await twin?.close();
});

const direct: () => Invoke = () => (prompt, sessionId) =>
  invokeAgent({ url: agent.url }, prompt, { sessionId });
const options = { concurrency: 2, retryMs: 1000 };

describe('the eval runner', () => {
  it('runs the committed suites against the real agent on the twin: every case passes, rubrics skipped', async () => {
    const run = await runSuites(loadSuites(), 'local', direct(), { ...options, prices: loadPrices().models });
    const failed = run.suites.flatMap((s) =>
      s.cases.filter((c) => !c.passed).map((c) => ({ ...c, suite: s.suite })),
    );
    expect(failed).toEqual([]);
    const tools = run.suites.find((s) => s.suite === 'tools')!;
    expect(tools).toMatchObject({ passed: 5, score: 1 });
    expect(tools.tokens).toBeGreaterThan(0);
    expect(tools.costUsd).toBeGreaterThan(0);
    const rubric = tools.cases.flatMap((c) => c.results).find((r) => r.assertion.startsWith('llm-rubric'));
    expect(rubric).toMatchObject({ skipped: true });
  });

  it("keeps a failed case's trace: each turn's session, prompt, tool calls and answer", async () => {
    const c: EvalCase = {
      name: 'wrong tool',
      sessions: [{ turns: ['What time is it in Tokyo?'] }],
      assert: [{ type: 'trajectory', match: 'exact', tools: ['calculator'], weight: 1 }],
    };
    const r = await runCase(c, direct(), options);
    expect(r.passed).toBe(false);
    expect(r.trace).toHaveLength(1);
    expect(r.trace![0]).toMatch(
      /^session 1 \(eval-[0-9a-f-]{36}\): "What time is it in Tokyo\?" → tools current_time\(\{"timeZone":"Asia\/Tokyo"\}\) → "The current_time tool returned/,
    );
  });

  it('retries a turn on throttling and 5xx within the budget, not on a 4xx', async () => {
    const ok: InvokeResult = { answer: 'hi', events: [], totalMs: 1, usage: [], toolCalls: [] };
    let calls = 0;
    const flaky: Invoke = async () => {
      if (++calls < 3) throw new Error('invocation answered HTTP 503: busy');
      return ok;
    };
    const c: EvalCase = {
      name: 'c',
      sessions: [{ turns: ['hi'] }],
      assert: [{ type: 'contains', value: 'hi', ignoreCase: false, weight: 1 }],
    };
    expect((await runCase(c, flaky, { ...options, retryMs: 5000 })).passed).toBe(true);
    expect(calls).toBe(3);
    calls = 0;
    const denied: Invoke = async () => {
      calls++;
      throw new Error('invocation answered HTTP 403: denied');
    };
    const r = await runCase(c, denied, options);
    expect(calls).toBe(1);
    expect(r).toMatchObject({ passed: false, results: [{ detail: 'invocation answered HTTP 403: denied' }] });
  });

  it('repeats a session with untilPassSeconds (new session id each time) until the case passes', async () => {
    let now = 0;
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const sessions: string[] = [];
    let asked = 0;
    // Memory "extracts" after the second ask.
    const slowMemory: Invoke = async (prompt, sessionId) => {
      sessions.push(sessionId);
      const answer = prompt.startsWith('What')
        ? ++asked >= 2
          ? 'Your name is Zfixed.'
          : "I don't know."
        : 'ok';
      return { answer, events: [], totalMs: 1, usage: [], toolCalls: [] };
    };
    const c: EvalCase = {
      name: 'recall',
      sessions: [{ turns: ['My name is {{nonce}}.'] }, { turns: ['What is my name?'], untilPassSeconds: 60 }],
      assert: [{ type: 'contains', value: '{{nonce}}', ignoreCase: false, weight: 1 }],
    };
    const r = await runCase(c, slowMemory, { ...options, clock, nonce: () => 'Zfixed' });
    expect(r.passed).toBe(true);
    expect(new Set(sessions).size).toBe(3);
    expect(now).toBe(5000);
    // Never answers: gives up at the deadline and fails.
    asked = -100;
    now = 0;
    const gaveUp = await runCase(c, slowMemory, { ...options, clock, nonce: () => 'Zfixed' });
    expect(gaveUp.passed).toBe(false);
    expect(now).toBe(60_000);
  });
});
