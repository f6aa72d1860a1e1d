import type { SmokeCase } from '../../../../environments';
import type { InvokeResult } from './agui';
import { percentile } from './stats';

export interface GateResult {
  gate: string;
  passed: boolean;
  /** What was measured or seen. */
  actual: string;
  /** What was required. */
  expected: string;
  /** On failure: what went wrong and by how much. */
  detail?: string;
}

type CaseOutcome = Pick<InvokeResult, 'answer' | 'runError' | 'guardrail'>;

const quote = (s: string, n = 80) => JSON.stringify(s.length > n ? `${s.slice(0, n)}…` : s);

/** Judge one guardrail/behaviour case from the environment file against what the agent answered. */
export function evaluateCase(c: SmokeCase, outcome: CaseOutcome | Error, blockedMessage: string): GateResult {
  const gate = `case: ${c.name}`;
  if (outcome instanceof Error) {
    return { gate, passed: false, actual: 'no answer', expected: c.expect, detail: outcome.message };
  }
  const answer = outcome.answer.trim();
  if (outcome.runError) {
    return {
      gate,
      passed: false,
      actual: `RUN_ERROR ${outcome.runError.code ?? ''}`.trim(),
      expected: c.expect,
      detail: outcome.runError.message,
    };
  }
  const report = outcome.guardrail;
  const verdicts = (report?.verdicts ?? []).map((v) => `${v.type ?? 'guardrail'} ${v.action}`).join(', ');
  switch (c.expect) {
    // Both signals are required: the agent's report that the guardrail blocked, and the configured
    // block message as the answer. Either alone can be produced without a block (a model can say the
    // message; an anonymisation is an intervention too).
    case 'blocked': {
      const isMessage = answer === blockedMessage.trim();
      const blocked = report?.blocked === true;
      const passed = isMessage && blocked;
      return {
        gate,
        passed,
        actual: passed
          ? 'blocked'
          : blocked
            ? `blocked, answered ${quote(answer)}`
            : `answered ${quote(answer)}`,
        expected: `blocked by the guardrail, answering ${quote(blockedMessage)}`,
        detail: passed
          ? undefined
          : blocked
            ? `the guardrail blocked, but the answer is not the configured block message ${quote(blockedMessage)}`
            : isMessage
              ? 'the answer is the block message, but the agent reported no guardrail block'
              : report?.intervened
                ? `the guardrail intervened (${verdicts}) but did not block the prompt`
                : 'the guardrail did not block the prompt',
      };
    }
    // The guardrail's own ANONYMIZED verdict, and no protected value in the answer: a model that
    // merely leaves the value out, or a guardrail that blocks instead, does not pass.
    case 'masked': {
      const leaked = (c.mustNotContain ?? []).filter((s) => outcome.answer.includes(s));
      const anonymised = report?.verdicts.some((v) => v.action === 'ANONYMIZED') === true;
      const blocked = report?.blocked === true;
      const passed = leaked.length === 0 && answer.length > 0 && anonymised && !blocked;
      return {
        gate,
        passed,
        actual: leaked.length
          ? `leaked ${leaked.map((s) => quote(s)).join(', ')}`
          : blocked
            ? 'blocked'
            : !answer
              ? 'empty answer'
              : anonymised
                ? 'masked'
                : 'no ANONYMIZED verdict',
        expected:
          'the guardrail anonymised, answer without ' +
          (c.mustNotContain ?? []).map((s) => quote(s)).join(', '),
        detail: passed
          ? undefined
          : leaked.length
            ? `${leaked.length} of ${c.mustNotContain?.length} protected value(s) appeared in the answer`
            : blocked
              ? `the guardrail blocked (${verdicts}) instead of anonymising`
              : !answer
                ? 'the agent gave no answer'
                : 'the guardrail reported no anonymised entity (no ANONYMIZED verdict from the agent)',
      };
    }
    case 'answered':
      return {
        gate,
        passed: answer.length > 0,
        actual: answer ? `answered ${quote(answer, 40)}` : 'empty answer',
        expected: 'a non-empty answer',
        detail: answer ? undefined : 'the agent gave no answer',
      };
  }
}

export interface LatencySample {
  firstTokenMs?: number;
  totalMs: number;
  error?: string;
}

export interface LatencyStats {
  samples: number;
  errors: number;
  firstTokenP50Ms: number;
  firstTokenP95Ms: number;
  totalP50Ms: number;
  totalP95Ms: number;
}

export function latencyStats(samples: readonly LatencySample[]): LatencyStats {
  const ok = samples.filter((s) => !s.error);
  // A sample without a first token counts as slow as its whole duration.
  const first = ok.map((s) => s.firstTokenMs ?? s.totalMs);
  const total = ok.map((s) => s.totalMs);
  const p = (v: number[], q: number) => (v.length ? Math.round(percentile(v, q)) : NaN);
  return {
    samples: samples.length,
    errors: samples.length - ok.length,
    firstTokenP50Ms: p(first, 50),
    firstTokenP95Ms: p(first, 95),
    totalP50Ms: p(total, 50),
    totalP95Ms: p(total, 95),
  };
}

export interface LatencyThresholds {
  p95FirstTokenMs: number;
  p95TotalMs: number;
}

/** Latency gates: every sample must succeed; p95 first-token and total latency within thresholds. */
export function evaluateLatency(stats: LatencyStats, t: LatencyThresholds): GateResult[] {
  const over = (actual: number, limit: number, what: string): GateResult => {
    const passed = Number.isFinite(actual) && actual <= limit;
    return {
      gate: `latency: ${what} p95`,
      passed,
      actual: Number.isFinite(actual) ? `${actual} ms` : 'no successful sample',
      expected: `≤ ${limit} ms`,
      detail: passed
        ? undefined
        : Number.isFinite(actual)
          ? `${actual - limit} ms over the threshold (+${Math.round(((actual - limit) / limit) * 100)}%)`
          : 'no sample succeeded',
    };
  };
  return [
    {
      gate: 'latency: errors',
      passed: stats.errors === 0,
      actual: `${stats.errors} of ${stats.samples}`,
      expected: '0 failed samples',
      detail: stats.errors ? `${stats.errors} sample invocation(s) failed` : undefined,
    },
    over(stats.firstTokenP95Ms, t.p95FirstTokenMs, 'first token'),
    over(stats.totalP95Ms, t.p95TotalMs, 'total'),
  ];
}

/** One line per failed gate: which and by how much. */
export function failureMessage(results: readonly GateResult[]): string | undefined {
  const failed = results.filter((r) => !r.passed);
  if (!failed.length) return undefined;
  return `${failed.length} smoke gate(s) failed:\n${failed
    .map((r) => `  - ${r.gate}: ${r.detail ?? 'failed'} (got ${r.actual}; required ${r.expected})`)
    .join('\n')}`;
}

/** A GitHub-flavoured markdown table (for PR comments; job summaries use core.summary). */
export function markdownTable(header: string[], rows: string[][]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map(esc).join(' | ')} |`).join('\n');
}

export function gatesTable(results: readonly GateResult[]): string {
  return markdownTable(
    ['Gate', 'Result', 'Actual', 'Required'],
    results.map((r) => [r.gate, r.passed ? '✅ pass' : '❌ fail', r.actual, r.expected]),
  );
}
