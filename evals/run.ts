/**
 * The eval runner: every case of every suite against one target, with bounded concurrency and
 * retries of what is worth retrying (throttling, 5xx, network), then scored and summed per suite.
 */
import { randomUUID } from 'node:crypto';
import type { InvokeResult } from '../.github/actions/src/lib/agui';
import { realClock, type Clock } from '../.github/actions/src/lib/poll';
import { isRetryable, withRetries } from '../.github/actions/src/lib/retry';
import { percentile, runConcurrently } from '../.github/actions/src/lib/stats';
import { priceRun } from '../cost/smoke';
import type { EvalCase, EvalSuite } from './schema';
import { scoreCase, type AssertionResult, type ScoreContext, type Transcript, type Turn } from './score';

/** Sends one prompt in a session and reads the answer's AG-UI stream (lib/agui invokeAgent). */
export type Invoke = (prompt: string, sessionId: string) => Promise<InvokeResult>;

export interface RunOptions extends ScoreContext {
  concurrency: number;
  /** Time budget for retrying one turn (throttling, 5xx, network errors). */
  retryMs: number;
  clock?: Clock;
  /** The value of `{{nonce}}` for a case (default: random letters), unique per run so targets sharing a memory do not see each other's facts. */
  nonce?: () => string;
}

export interface CaseRun {
  name: string;
  passed: boolean;
  score: number;
  results: AssertionResult[];
  tokens: number;
  /** USD; undefined when the run could not be priced. */
  costUsd?: number;
  /** The slowest turn. */
  latencyMs: number;
  /** What happened, for a failed case: each turn's session, prompt, tool calls and answer. */
  trace?: string[];
}

export interface SuiteRun {
  suite: string;
  version: number;
  cases: CaseRun[];
  passed: number;
  /** Mean case score, 0–1. */
  score: number;
  tokens: number;
  costUsd?: number;
  latencyP95Ms: number;
}

export interface TargetRun {
  target: string;
  suites: SuiteRun[];
}

const HTTP_RETRYABLE = /invocation answered HTTP (429|5\d\d)\b/;
const retryable = (e: unknown) => isRetryable(e) || (e instanceof Error && HTTP_RETRYABLE.test(e.message));

/** Letters only: the twin's memory (and a model) read a name as letters. */
const randomNonce = () =>
  'Z' +
  Array.from({ length: 7 }, () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(Math.random() * 26)]).join('');

/** The case with `{{nonce}}` filled in everywhere (prompts and assertion values). */
export function withNonce(c: EvalCase, nonce: string): EvalCase {
  return JSON.parse(JSON.stringify(c).replaceAll('{{nonce}}', nonce)) as EvalCase;
}

const newSession = () => `eval-${randomUUID()}`;

async function runTurn(
  invoke: Invoke,
  prompt: string,
  session: number,
  sessionId: string,
  o: RunOptions,
): Promise<Turn> {
  const r = await withRetries(() => invoke(prompt, sessionId), {
    totalMs: o.retryMs,
    clock: o.clock,
    retryable,
  });
  return {
    session,
    prompt,
    answer: r.answer,
    toolCalls: r.toolCalls,
    firstTokenMs: r.firstTokenMs,
    totalMs: r.totalMs,
    usage: r.usage,
    guardrailBlocked: r.guardrail?.blocked === true,
    runError: r.runError ? `${r.runError.code ?? ''} ${r.runError.message}`.trim() : undefined,
  };
}

/** Run a case's sessions in order; a session with `untilPassSeconds` is repeated until the case passes. */
export async function runCase(template: EvalCase, invoke: Invoke, o: RunOptions) {
  const c = withNonce(template, (o.nonce ?? randomNonce)());
  const clock = o.clock ?? realClock;
  const turns: Turn[] = [];
  const sessionIds: string[] = [];
  let transcript: Transcript;
  try {
    for (const [i, s] of c.sessions.entries()) {
      const deadline = clock.now() + (s.untilPassSeconds ?? 0) * 1000;
      for (;;) {
        const sessionId = newSession();
        const these: Turn[] = [];
        for (const prompt of s.turns) these.push(await runTurn(invoke, prompt, i + 1, sessionId, o));
        transcript = { turns: [...turns, ...these] };
        const last = i === c.sessions.length - 1;
        if (
          !s.untilPassSeconds ||
          clock.now() >= deadline ||
          (last && (await scoreCase(c, transcript, o)).passed)
        ) {
          turns.push(...these);
          sessionIds.push(sessionId);
          break;
        }
        await clock.sleep(Math.min(5000, Math.max(0, deadline - clock.now())));
      }
    }
    transcript = { turns };
  } catch (e) {
    transcript = { turns, error: (e as Error).message };
  }
  const scored = await scoreCase(c, transcript, o);
  const usage = turns.flatMap((t) => t.usage);
  let costUsd: number | undefined;
  try {
    costUsd = o.prices && usage.length ? priceRun(usage, o.prices).cost.total : undefined;
  } catch {
    costUsd = undefined; // the cost assertion (if any) says why
  }
  const run: CaseRun = {
    name: c.name,
    passed: scored.passed,
    score: scored.score,
    results: scored.results,
    tokens: usage.reduce((n, u) => n + (u.inputTokens ?? 0) + (u.outputTokens ?? 0), 0),
    costUsd,
    latencyMs: Math.round(Math.max(0, ...turns.map((t) => t.totalMs))),
  };
  if (!scored.passed) run.trace = trace(transcript, sessionIds);
  return run;
}

/** A failed case's story, short enough for a PR comment; the session ids find its logs and traces. */
function trace(t: Transcript, sessionIds: string[]): string[] {
  const cut = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}…` : s);
  const lines = t.turns.map(
    (x) =>
      `session ${x.session} (${sessionIds[x.session - 1] ?? 'unfinished'}): ${JSON.stringify(cut(x.prompt, 80))} → ` +
      `${x.toolCalls.length ? `tools ${x.toolCalls.map((c) => `${c.name}(${cut(JSON.stringify(c.args), 60)})`).join(', ')} → ` : 'no tool → '}` +
      `${x.runError ? `RUN_ERROR ${x.runError}` : JSON.stringify(cut(x.answer))}`,
  );
  if (t.error) lines.push(`stopped: ${t.error}`);
  return lines;
}

/** Every case of every suite against one target. */
export async function runSuites(
  suites: EvalSuite[],
  target: string,
  invoke: Invoke,
  o: RunOptions,
): Promise<TargetRun> {
  const all = suites.flatMap((s) => s.cases.map((c) => ({ suite: s.name, c })));
  const runs = await runConcurrently(all.length, o.concurrency, (i) => runCase(all[i].c, invoke, o));
  return {
    target,
    suites: suites.map((s) => {
      const cases = runs.filter((_, i) => all[i].suite === s.name);
      const costs = cases.map((c) => c.costUsd);
      return {
        suite: s.name,
        version: s.version,
        cases,
        passed: cases.filter((c) => c.passed).length,
        score: cases.reduce((n, c) => n + c.score, 0) / cases.length,
        tokens: cases.reduce((n, c) => n + c.tokens, 0),
        costUsd: costs.every((c) => c !== undefined) ? costs.reduce((n, c) => n + c!, 0) : undefined,
        latencyP95Ms: percentile(
          cases.map((c) => c.latencyMs),
          95,
        ),
      };
    }),
  };
}
