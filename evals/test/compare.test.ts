import { describe, expect, it } from 'vitest';
import { gate } from '../compare';
import { gateMarkdown } from '../report';
import type { CaseRun, SuiteRun, TargetRun } from '../run';

const kase = (
  name: string,
  passed: boolean,
  score = passed ? 1 : 0,
  over: Partial<CaseRun> = {},
): CaseRun => ({
  name,
  passed,
  score,
  results: passed
    ? []
    : [
        {
          assertion: 'trajectory exact [current_time]',
          passed: false,
          score: 0,
          weight: 1,
          detail: 'called []',
        },
      ],
  tokens: 1000,
  costUsd: 0.004,
  latencyMs: 900,
  ...over,
});
const suite = (name: string, cases: CaseRun[]): SuiteRun => ({
  suite: name,
  version: 1,
  cases,
  passed: cases.filter((c) => c.passed).length,
  score: cases.reduce((n, c) => n + c.score, 0) / cases.length,
  tokens: cases.reduce((n, c) => n + c.tokens, 0),
  costUsd: cases.reduce((n, c) => n + (c.costUsd ?? 0), 0),
  latencyP95Ms: 900,
});
const target = (name: string, ...suites: SuiteRun[]): TargetRun => ({ target: name, suites });
const thresholds = { default: { minScore: 0.5, maxScoreDrop: 0 } };

describe('the eval gate', () => {
  it('passes when the candidate does as well as live', () => {
    const s = suite('tools', [kase('a', true), kase('b', true)]);
    const v = gate(target('cand', s), target('live', s), thresholds);
    expect(v).toMatchObject({ passed: true, failure: undefined });
    expect(v.suites[0]).toMatchObject({ drop: 0, cases: [{ status: 'pass' }, { status: 'pass' }] });
  });

  it('fails a suite whose candidate regresses beyond maxScoreDrop, naming the regressed cases', () => {
    const live = suite('tools', [kase('a', true), kase('b', true), kase('c', true), kase('d', true)]);
    const cand = suite('tools', [kase('a', true), kase('b', false), kase('c', true), kase('d', true)]);
    const v = gate(target('cand', cand), target('live', live), thresholds);
    expect(v.passed).toBe(false);
    expect(v.suites[0].cases.find((c) => c.name === 'b')?.status).toBe('regressed');
    expect(v.failure).toBe(
      `eval gate failed on 1 suite(s):\n  - tools: score fell 0.25 below live's (allowed 0.00); regressed: "b"`,
    );
    // The same drop within an allowance passes.
    const lenient = { default: { minScore: 0.5, maxScoreDrop: 0.25 } };
    expect(gate(target('cand', cand), target('live', live), lenient).passed).toBe(true);
  });

  it('reports a case failing on both as such, not as a regression', () => {
    const live = suite('tools', [kase('a', true), kase('new', false)]);
    const cand = suite('tools', [kase('a', true), kase('new', false)]);
    const v = gate(target('cand', cand), target('live', live), thresholds);
    expect(v.passed).toBe(true);
    expect(v.suites[0]).toMatchObject({
      drop: 0,
      cases: [{ status: 'pass' }, { status: 'failing on both' }],
    });
  });

  it('the floor counts every case: failing on both can still miss it', () => {
    const cases = [kase('a', true), kase('b', false), kase('c', false)];
    const v = gate(target('cand', suite('tools', cases)), target('live', suite('tools', cases)), thresholds);
    expect(v.passed).toBe(false);
    expect(v.suites[0].reasons).toEqual(['score 0.33 is below the floor 0.50']);
  });

  it('marks a case live fails and the candidate passes as fixed; partial scores count', () => {
    const live = suite('tools', [kase('a', false, 0.5), kase('b', true)]);
    const cand = suite('tools', [kase('a', true), kase('b', false, 0.75)]);
    const v = gate(target('cand', cand), target('live', live), thresholds);
    expect(v.suites[0].cases.map((c) => c.status)).toEqual(['fixed', 'regressed']);
    // (0.5 + 1) / 2 − (1 + 0.75) / 2 = −0.125: better on the whole.
    expect(v.suites[0].drop).toBeCloseTo(-0.125);
    expect(v.passed).toBe(true);
  });

  it('without a baseline only the floor decides; thresholds are per suite with a default', () => {
    const per = {
      default: { minScore: 0.9, maxScoreDrop: 0 },
      memory: { minScore: 0.4, maxScoreDrop: 0 },
    };
    const v = gate(
      target(
        'cand',
        suite('tools', [kase('a', true), kase('b', false)]),
        suite('memory', [kase('m', true), kase('n', false)]),
      ),
      undefined,
      per,
    );
    expect(v.suites.map((s) => [s.suite, s.passed, s.drop, s.cases.map((c) => c.status)])).toEqual([
      ['tools', false, undefined, ['pass', 'fail']],
      ['memory', true, undefined, ['pass', 'fail']],
    ]);
  });
});

describe('the before/after table (PR comment, job summary)', () => {
  it('shows each suite live → candidate with tokens, cost, latency and the verdict, then the failed cases with traces', () => {
    const live = suite('tools', [kase('time in Tokyo', true), kase('calc', true)]);
    const cand = suite('tools', [
      kase('time in Tokyo', false, 0.5, {
        trace: ['session 1 (eval-1): "What time is it in Tokyo?" → no tool → "You said"'],
      }),
      kase('calc', true),
    ]);
    const md = gateMarkdown(gate(target('c', cand), target('l', live), thresholds), {
      candidate: 'rt/DEFAULT',
      live: 'rt/live',
    });
    const lines = md.split('\n');
    expect(lines[0]).toBe('**Eval gate: ❌ failed** — candidate `rt/DEFAULT` against live `rt/live`');
    expect(lines[2]).toBe(
      '| Suite | Live | Candidate | Δ score | Threshold | Tokens | Est. cost | p95 latency | Result |',
    );
    expect(lines[4]).toBe(
      '| tools v1 | 2/2 (1.00) | 1/2 (0.75) | -0.25 | ≥ 0.50, drop ≤ 0.00 | 2000 → 2000 | $0.0080 → $0.0080 | 900 ms → 900 ms | ❌ score fell 0.25 below live\'s (allowed 0.00); regressed: "time in Tokyo" |',
    );
    expect(md).toContain(
      '| tools | time in Tokyo | ❌ regressed | pass 1.00 | fail 0.50 | trajectory exact [current_time]: called [] |',
    );
    expect(md).toContain('<details><summary>Traces of the failed cases (candidate)</summary>');
    expect(md).toContain('  - session 1 (eval-1): "What time is it in Tokyo?" → no tool → "You said"');
  });

  it('says when there is no baseline and when rubrics were skipped', () => {
    const skipped = kase('r', true, 1, {
      results: [
        { assertion: 'llm-rubric', passed: true, score: 0, weight: 1, skipped: true, detail: 'skipped' },
      ],
    });
    const md = gateMarkdown(gate(target('c', suite('tools', [skipped])), undefined, thresholds), {
      candidate: 'http://127.0.0.1:8080',
    });
    expect(md.split('\n')[0]).toBe(
      '**Eval gate: ✅ passed** — candidate `http://127.0.0.1:8080` (no live baseline: floors only)',
    );
    expect(md).toContain('| tools v1 | n/a | 1/1 (1.00) | n/a |');
    expect(md).toContain('1 judge rubric(s) skipped: no judge model configured');
  });
});
