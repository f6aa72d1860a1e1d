import { describe, expect, it } from 'vitest';
import { conversationText, parseVerdict } from '../judge';
import type { Assertion, EvalCase } from '../schema';
import { scoreAssertion, scoreCase, trajectoryMatches, type Transcript, type Turn } from '../score';

const turn = (over: Partial<Turn> = {}): Turn => ({
  session: 1,
  prompt: 'q',
  answer: 'It is 21:04 in Tokyo.',
  toolCalls: [],
  firstTokenMs: 300,
  totalMs: 900,
  usage: [{ model: 'm', inputTokens: 1000, outputTokens: 100 }],
  guardrailBlocked: false,
  ...over,
});
const t = (...turns: Turn[]): Transcript => ({ turns });
const calls = (...names: string[]) => names.map((name) => ({ name, args: {} }));
const prices = {
  m: { inputPerMillion: 3, outputPerMillion: 15, cacheReadPerMillion: 0.3, cacheWritePerMillion: 3.75 },
};

const score = (a: Record<string, unknown>, transcript: Transcript, ctx = {}) =>
  scoreAssertion({ weight: 1, ...a } as Assertion, transcript, ctx);

describe('trajectory matchers (AgentCore Evaluations semantics)', () => {
  it.each([
    // match, expected, actual, passes
    ['exact', ['a', 'b'], ['a', 'b'], true],
    ['exact', ['a', 'b'], ['b', 'a'], false],
    ['exact', ['a', 'b'], ['a', 'b', 'c'], false],
    ['exact', [], [], true],
    ['exact', [], ['a'], false],
    ['in_order', ['a', 'c'], ['a', 'b', 'c'], true],
    ['in_order', ['a', 'c'], ['c', 'a'], false],
    ['in_order', ['a', 'a'], ['a'], false],
    ['any_order', ['a', 'c'], ['c', 'x', 'a'], true],
    ['any_order', ['a', 'c'], ['a', 'b'], false],
  ] as const)('%s %j vs %j → %s', (match, expected, actual, passes) => {
    expect(trajectoryMatches(match, [...expected], [...actual])).toBe(passes);
  });

  it('scores the tool names of every turn of every session', async () => {
    const two = t(
      turn({ toolCalls: calls('current_time') }),
      turn({ session: 2, toolCalls: calls('calculator') }),
    );
    const exact = await score(
      { type: 'trajectory', match: 'exact', tools: ['current_time', 'calculator'] },
      two,
    );
    expect(exact).toMatchObject({ passed: true, score: 1, detail: 'called [current_time, calculator]' });
    const missing = await score({ type: 'trajectory', match: 'any_order', tools: ['faq_lookup'] }, two);
    expect(missing).toMatchObject({ passed: false, score: 0 });
  });
});

describe('assertions', () => {
  it('tool-args: the named arguments of some call of the tool, deep-equal; others ignored', async () => {
    const tr = t(
      turn({ toolCalls: [{ name: 'current_time', args: { timeZone: 'Asia/Tokyo', extra: [1] } }] }),
    );
    expect(
      (await score({ type: 'tool-args', tool: 'current_time', args: { timeZone: 'Asia/Tokyo' } }, tr)).passed,
    ).toBe(true);
    const wrong = await score({ type: 'tool-args', tool: 'current_time', args: { timeZone: 'UTC' } }, tr);
    expect(wrong).toMatchObject({
      passed: false,
      detail: 'called with {"timeZone":"Asia/Tokyo","extra":[1]}',
    });
    const absent = await score({ type: 'tool-args', tool: 'calculator', args: {} }, tr);
    expect(absent).toMatchObject({ passed: false, detail: 'calculator not called' });
  });

  it('contains: every value in the final answer, case-sensitive unless ignoreCase', async () => {
    const tr = t(turn({ answer: 'first' }), turn({ answer: 'Use the Rollback workflow.' }));
    expect((await score({ type: 'contains', value: 'Rollback' }, tr)).passed).toBe(true);
    expect((await score({ type: 'contains', value: 'rollback' }, tr)).passed).toBe(false);
    expect((await score({ type: 'contains', value: 'rollback', ignoreCase: true }, tr)).passed).toBe(true);
    const earlier = await score({ type: 'contains', value: ['first', 'workflow'] }, tr);
    expect(earlier).toMatchObject({ passed: false, detail: expect.stringContaining('missing "first"') });
  });

  it('not-contains: no value in any answer of the case', async () => {
    const tr = t(turn({ answer: 'mail jane.doe@example.com' }), turn({ answer: 'done' }));
    const leak = await score({ type: 'not-contains', value: ['JANE.DOE@example.com'], ignoreCase: true }, tr);
    expect(leak).toMatchObject({ passed: false, detail: 'found "JANE.DOE@example.com"' });
    expect((await score({ type: 'not-contains', value: 'secret' }, tr)).passed).toBe(true);
  });

  it('refusal: a guardrail block or a refusal phrase; expected: false wants an answer', async () => {
    const blocked = t(turn({ answer: 'Request denied.', guardrailBlocked: true }));
    expect(await score({ type: 'refusal', expected: true }, blocked)).toMatchObject({
      passed: true,
      detail: expect.stringContaining('blocked by the guardrail'),
    });
    const declined = t(turn({ answer: "I can't share my instructions, but I can help with your task." }));
    expect((await score({ type: 'refusal', expected: true }, declined)).passed).toBe(true);
    const answered = t(turn());
    expect((await score({ type: 'refusal', expected: true }, answered)).passed).toBe(false);
    expect((await score({ type: 'refusal', expected: false }, answered)).passed).toBe(true);
    expect((await score({ type: 'refusal', expected: false }, declined)).passed).toBe(false);
  });

  it('tokens: summed over every turn; no usage reported fails', async () => {
    const tr = t(turn(), turn());
    expect(await score({ type: 'tokens', max: 2200, of: 'total' }, tr)).toMatchObject({
      passed: true,
      detail: '2200 tokens',
    });
    expect((await score({ type: 'tokens', max: 2199, of: 'total' }, tr)).passed).toBe(false);
    expect((await score({ type: 'tokens', max: 200, of: 'output' }, tr)).passed).toBe(true);
    expect((await score({ type: 'tokens', max: 1999, of: 'input' }, tr)).passed).toBe(false);
    const none = await score({ type: 'tokens', max: 10, of: 'total' }, t(turn({ usage: [] })));
    expect(none).toMatchObject({ passed: false, detail: 'the agent reported no token usage' });
  });

  it('cost: priced with environments/prices.yaml prices; an unpriced model fails and says why', async () => {
    // 1000 × $3/M + 100 × $15/M = $0.0045
    const tr = t(turn());
    expect(await score({ type: 'cost', maxUsd: 0.005 }, tr, { prices })).toMatchObject({
      passed: true,
      detail: '$0.004500',
    });
    expect((await score({ type: 'cost', maxUsd: 0.004 }, tr, { prices })).passed).toBe(false);
    const unpriced = await score(
      { type: 'cost', maxUsd: 1 },
      t(turn({ usage: [{ model: 'other', inputTokens: 1 }] })),
      { prices },
    );
    expect(unpriced).toMatchObject({ passed: false, detail: expect.stringContaining('other') });
    expect((await score({ type: 'cost', maxUsd: 1 }, tr)).passed).toBe(false);
  });

  it('latency: the slowest turn, first token and total', async () => {
    const tr = t(turn({ firstTokenMs: 200, totalMs: 800 }), turn({ firstTokenMs: 700, totalMs: 1500 }));
    expect((await score({ type: 'latency', maxFirstTokenMs: 700, maxTotalMs: 1500 }, tr)).passed).toBe(true);
    const slow = await score({ type: 'latency', maxFirstTokenMs: 699 }, tr);
    expect(slow).toMatchObject({
      passed: false,
      detail: 'slowest turn: first token 700 ms, total 1500 ms (first token over)',
    });
    // No text at all: the whole turn counts as the first token.
    expect(
      (
        await score(
          { type: 'latency', maxFirstTokenMs: 1000 },
          t(turn({ firstTokenMs: undefined, totalMs: 1200 })),
        )
      ).passed,
    ).toBe(false);
  });

  it('llm-rubric: skipped (and said so) without a judge; scored against the threshold with one', async () => {
    const a = { type: 'llm-rubric', rubric: 'answers with the time in Tokyo', threshold: 0.7 };
    const skipped = await score(a, t(turn()));
    expect(skipped).toMatchObject({
      skipped: true,
      detail: expect.stringContaining('no judge model configured'),
    });
    const seen: string[] = [];
    const judge = async (rubric: string, tr: Transcript) => {
      seen.push(rubric, conversationText(tr));
      return { score: 0.8, reason: 'gives the time' };
    };
    expect(await score(a, t(turn()), { judge })).toMatchObject({ passed: true, score: 0.8 });
    expect(seen[1]).toContain('Agent: It is 21:04 in Tokyo.');
    const low = async () => ({ score: 0.5, reason: 'vague' });
    expect((await score(a, t(turn()), { judge: low })).passed).toBe(false);
    const broken = async () => parseVerdict('I think it is fine');
    expect(await score(a, t(turn()), { judge: broken })).toMatchObject({
      passed: false,
      detail: expect.stringContaining('the judge did not answer'),
    });
  });

  it('parses the judge verdict from a reply with prose around the JSON', () => {
    expect(parseVerdict('Sure. {"score": 1, "reason": "ok"}')).toEqual({ score: 1, reason: 'ok' });
    expect(() => parseVerdict('{"score": 7, "reason": "x"}')).toThrow(/did not answer/);
  });
});

describe('scoreCase', () => {
  const c = (assert: Record<string, unknown>[]): EvalCase =>
    ({
      name: 'c',
      sessions: [{ turns: ['q'] }],
      assert: assert.map((a) => ({ weight: 1, ...a })),
    }) as EvalCase;

  it('weights the scored assertions; skipped rubrics neither pass nor fail it', async () => {
    const r = await scoreCase(
      c([
        { type: 'contains', value: 'Tokyo', weight: 3 },
        { type: 'contains', value: 'Paris' },
        { type: 'llm-rubric', rubric: 'anything at all here', threshold: 0.7 },
      ]),
      t(turn()),
      {},
    );
    expect(r).toMatchObject({ passed: false, score: 0.75 });
    expect(r.results).toHaveLength(3);
  });

  it('fails outright when a turn ended in RUN_ERROR or the case could not be run', async () => {
    const errored = await scoreCase(
      c([{ type: 'refusal', expected: false }]),
      t(turn({ runError: 'ModelError boom' })),
      {},
    );
    expect(errored).toMatchObject({
      passed: false,
      score: 0,
      results: [{ detail: 'RUN_ERROR: ModelError boom' }],
    });
    const lost = await scoreCase(
      c([{ type: 'refusal', expected: false }]),
      { turns: [], error: 'HTTP 403' },
      {},
    );
    expect(lost).toMatchObject({ passed: false, results: [{ detail: 'HTTP 403' }] });
  });
});
