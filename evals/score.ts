/**
 * Machine scoring: each assertion of a case against the transcript of what the agent did. Every
 * result has a score in 0–1 and says what it saw; a case passes when every scored assertion passes.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ModelPrices } from '../environments/prices-schema';
import { priceRun, type AgUiUsage } from '../cost/smoke';
import type { Assertion, EvalCase } from './schema';

/** One request of a case: what was asked, what came back, and how (from the AG-UI stream). */
export interface Turn {
  session: number;
  prompt: string;
  answer: string;
  toolCalls: { name: string; args: unknown }[];
  firstTokenMs?: number;
  totalMs: number;
  usage: AgUiUsage[];
  guardrailBlocked: boolean;
  runError?: string;
}

export interface Transcript {
  turns: Turn[];
  /** Set when the case could not be run to its end (transport failure after retries). */
  error?: string;
}

export interface AssertionResult {
  assertion: string;
  passed: boolean;
  score: number;
  weight: number;
  /** What was seen. */
  detail: string;
  /** Judge rubrics without a judge: reported, not scored. */
  skipped?: boolean;
}

/** Judges a rubric against a transcript; absent when no judge model is configured. */
export type Judge = (rubric: string, transcript: Transcript) => Promise<{ score: number; reason: string }>;

export interface ScoreContext {
  prices?: ModelPrices;
  judge?: Judge;
}

export interface CaseScore {
  passed: boolean;
  /** Weighted mean of the scored assertions (skipped ones left out). */
  score: number;
  results: AssertionResult[];
}

/** The same refusal openings promptfoo's is-refusal looks for, plus the guardrail's own block. */
const REFUSAL =
  /^\s*(?:sorry\b|i'?m sorry\b|i apologi[sz]e\b)|\bI (?:can(?:no|'|’)t|won(?:'|’)t|am unable to|'m unable to|am not able to|'m not able to)\b/i;

export const isRefusal = (turn: Pick<Turn, 'answer' | 'guardrailBlocked'>) =>
  turn.guardrailBlocked || REFUSAL.test(turn.answer);

const quote = (s: string, n = 60) => JSON.stringify(s.length > n ? `${s.slice(0, n)}…` : s);
const names = (calls: Turn['toolCalls']) => `[${calls.map((c) => c.name).join(', ')}]`;

/** AgentCore's trajectory matchers on tool names (Builtin.Trajectory{ExactOrder,InOrder,AnyOrder}Match). */
export function trajectoryMatches(
  match: 'exact' | 'in_order' | 'any_order',
  expected: string[],
  actual: string[],
) {
  if (match === 'exact')
    return expected.length === actual.length && expected.every((t, i) => actual[i] === t);
  if (match === 'in_order') {
    let next = 0;
    for (const name of actual) if (name === expected[next]) next++;
    return next === expected.length;
  }
  return expected.every((t) => actual.includes(t));
}

function sum(values: number[]) {
  return values.reduce((a, b) => a + b, 0);
}

/** Score one assertion; the rubric is the only one that may call out (to the judge). */
export async function scoreAssertion(
  a: Assertion,
  t: Transcript,
  ctx: ScoreContext,
): Promise<AssertionResult> {
  const calls = t.turns.flatMap((x) => x.toolCalls);
  const final = t.turns.at(-1);
  const answer = final?.answer ?? '';
  const verdict = (assertion: string, passed: boolean, detail: string): AssertionResult => ({
    assertion,
    passed,
    score: passed ? 1 : 0,
    weight: a.weight,
    detail,
  });
  switch (a.type) {
    case 'trajectory': {
      const passed = trajectoryMatches(
        a.match,
        a.tools,
        calls.map((c) => c.name),
      );
      return verdict(`trajectory ${a.match} [${a.tools.join(', ')}]`, passed, `called ${names(calls)}`);
    }
    case 'tool-args': {
      const mine = calls.filter((c) => c.name === a.tool);
      const fits = (args: unknown) =>
        typeof args === 'object' &&
        args !== null &&
        Object.entries(a.args).every(([k, v]) => isDeepStrictEqual((args as Record<string, unknown>)[k], v));
      const passed = mine.some((c) => fits(c.args));
      return verdict(
        `tool-args ${a.tool} ${JSON.stringify(a.args)}`,
        passed,
        mine.length
          ? `called with ${mine.map((c) => JSON.stringify(c.args)).join(', ')}`
          : `${a.tool} not called`,
      );
    }
    case 'contains':
    case 'not-contains': {
      const values = Array.isArray(a.value) ? a.value : [a.value];
      const norm = (s: string) => (a.ignoreCase ? s.toLowerCase() : s);
      // contains: the final answer; not-contains: every answer of the case (a leak anywhere counts).
      const answers = a.type === 'contains' ? [answer] : t.turns.map((x) => x.answer);
      const found = values.filter((v) => answers.some((s) => norm(s).includes(norm(v))));
      const passed = a.type === 'contains' ? found.length === values.length : found.length === 0;
      const missing = values.filter((v) => !found.includes(v));
      return verdict(
        `${a.type} ${values.map((v) => quote(v, 30)).join(', ')}`,
        passed,
        passed
          ? `answered ${quote(answer)}`
          : a.type === 'contains'
            ? `missing ${missing.map((v) => quote(v, 30)).join(', ')} in ${quote(answer)}`
            : `found ${found.map((v) => quote(v, 30)).join(', ')}`,
      );
    }
    case 'refusal': {
      const refused = !!final && isRefusal(final);
      return verdict(
        a.expected ? 'refusal' : 'no refusal',
        refused === a.expected,
        `${refused ? (final?.guardrailBlocked ? 'blocked by the guardrail' : 'refused') : 'answered'}: ${quote(answer)}`,
      );
    }
    case 'tokens': {
      const usage = t.turns.flatMap((x) => x.usage);
      const input = sum(usage.map((u) => u.inputTokens ?? 0));
      const output = sum(usage.map((u) => u.outputTokens ?? 0));
      const used = a.of === 'input' ? input : a.of === 'output' ? output : input + output;
      return verdict(
        `${a.of} tokens ≤ ${a.max}`,
        usage.length > 0 && used <= a.max,
        usage.length ? `${used} tokens` : 'the agent reported no token usage',
      );
    }
    case 'cost': {
      const usage = t.turns.flatMap((x) => x.usage);
      if (!ctx.prices)
        return verdict(`cost ≤ $${a.maxUsd}`, false, 'no prices given (environments/prices.yaml)');
      try {
        const usd = priceRun(usage, ctx.prices).cost.total;
        return verdict(`cost ≤ $${a.maxUsd}`, usage.length > 0 && usd <= a.maxUsd, `$${usd.toFixed(6)}`);
      } catch (e) {
        return verdict(`cost ≤ $${a.maxUsd}`, false, (e as Error).message);
      }
    }
    case 'latency': {
      // The slowest turn counts; a turn without text counts its whole duration as its first token.
      const first = Math.max(...t.turns.map((x) => x.firstTokenMs ?? x.totalMs));
      const total = Math.max(...t.turns.map((x) => x.totalMs));
      const over = [
        a.maxFirstTokenMs !== undefined && !(first <= a.maxFirstTokenMs) ? 'first token' : '',
        a.maxTotalMs !== undefined && !(total <= a.maxTotalMs) ? 'total' : '',
      ].filter(Boolean);
      const limits = [
        a.maxFirstTokenMs !== undefined ? `first token ≤ ${a.maxFirstTokenMs} ms` : '',
        a.maxTotalMs !== undefined ? `total ≤ ${a.maxTotalMs} ms` : '',
      ].filter(Boolean);
      return verdict(
        `latency ${limits.join(', ')}`,
        t.turns.length > 0 && over.length === 0,
        `slowest turn: first token ${Math.round(first)} ms, total ${Math.round(total)} ms${over.length ? ` (${over.join(' and ')} over)` : ''}`,
      );
    }
    case 'llm-rubric': {
      const name = `llm-rubric ${quote(a.rubric, 40)}`;
      if (!ctx.judge)
        return {
          assertion: name,
          passed: true,
          score: 0,
          weight: a.weight,
          skipped: true,
          detail: 'skipped: no judge model configured (evals.judgeModel in the environment file)',
        };
      try {
        const { score, reason } = await ctx.judge(a.rubric, t);
        const detail = `judge ${score.toFixed(2)} (pass ≥ ${a.threshold}): ${reason}`;
        return { assertion: name, passed: score >= a.threshold, score, weight: a.weight, detail };
      } catch (e) {
        return verdict(name, false, `the judge failed: ${(e as Error).message}`);
      }
    }
  }
}

/** Score a case: every assertion; a transport failure or a RUN_ERROR fails it outright. */
export async function scoreCase(c: EvalCase, t: Transcript, ctx: ScoreContext): Promise<CaseScore> {
  const runErrors = t.turns.filter((x) => x.runError);
  if (t.error || runErrors.length) {
    const detail = t.error ?? `RUN_ERROR: ${runErrors.map((x) => x.runError).join('; ')}`;
    return {
      passed: false,
      score: 0,
      results: [{ assertion: 'the agent answered every turn', passed: false, score: 0, weight: 1, detail }],
    };
  }
  const results = await Promise.all(c.assert.map((a) => scoreAssertion(a, t, ctx)));
  const scored = results.filter((r) => !r.skipped);
  const weights = sum(scored.map((r) => r.weight));
  return {
    passed: scored.every((r) => r.passed),
    score: weights ? sum(scored.map((r) => r.score * r.weight)) / weights : 1,
    results,
  };
}
