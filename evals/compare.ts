/**
 * The eval gate: the candidate's suites against live's, with each suite's thresholds from the
 * environment file. A suite fails when the candidate's score is below the absolute floor
 * (`minScore`, over every case), or more than `maxScoreDrop` below live's over the cases that live
 * or the candidate pass. A case that fails on both is reported, never a regression: the agent did not
 * get worse, the eval (or live) is not there yet.
 */
import type { CaseRun, SuiteRun, TargetRun } from './run';

export interface SuiteThreshold {
  /** Absolute floor: the candidate's mean case score (0–1) over every case. */
  minScore: number;
  /** How far (0–1) the candidate's score may fall below live's, over the cases not failing on both. */
  maxScoreDrop: number;
}

/** Per suite name; `default` applies to suites not named (the environment schema requires it). */
export type Thresholds = Record<string, SuiteThreshold>;

export type CaseStatus = 'pass' | 'regressed' | 'fixed' | 'failing on both' | 'fail';

export interface CaseComparison {
  name: string;
  status: CaseStatus;
  candidate: CaseRun;
  live?: CaseRun;
}

export interface SuiteVerdict {
  suite: string;
  version: number;
  candidate: SuiteRun;
  live?: SuiteRun;
  threshold: SuiteThreshold;
  /** live − candidate over the cases not failing on both; undefined without live. */
  drop?: number;
  cases: CaseComparison[];
  passed: boolean;
  /** Why it failed: which rule, by how much. */
  reasons: string[];
}

export interface GateVerdict {
  passed: boolean;
  suites: SuiteVerdict[];
  /** One line per failed suite. */
  failure?: string;
}

/** The threshold of a suite; a threshold naming no suite is a typo worth failing on. */
export function thresholdFor(thresholds: Thresholds, suite: string): SuiteThreshold {
  const t = thresholds[suite] ?? thresholds.default;
  if (!t) throw new Error(`evals.thresholds has no entry for suite ${suite} and no default`);
  return t;
}

/** A threshold naming no suite of evals/suites is a typo: fail before running anything. */
export function checkThresholds(thresholds: Thresholds, suites: string[]): void {
  const unknown = Object.keys(thresholds).filter((k) => k !== 'default' && !suites.includes(k));
  if (unknown.length)
    throw new Error(
      `evals.thresholds names suite(s) ${unknown.join(', ')} that evals/suites does not have (have: ${suites.join(', ')}); fix the name or remove the entry`,
    );
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function statusOf(candidate: CaseRun, live: CaseRun | undefined): CaseStatus {
  if (!live) return candidate.passed ? 'pass' : 'fail';
  if (candidate.passed) return live.passed ? 'pass' : 'fixed';
  return live.passed ? 'regressed' : 'failing on both';
}

export function compareSuite(
  candidate: SuiteRun,
  live: SuiteRun | undefined,
  threshold: SuiteThreshold,
): SuiteVerdict {
  const cases = candidate.cases.map((c) => {
    const l = live?.cases.find((x) => x.name === c.name);
    return { name: c.name, status: statusOf(c, l), candidate: c, live: l };
  });
  const reasons: string[] = [];
  const floorScore = mean(candidate.cases.map((c) => c.score));
  if (floorScore < threshold.minScore)
    reasons.push(`score ${floorScore.toFixed(2)} is below the floor ${threshold.minScore.toFixed(2)}`);
  let drop: number | undefined;
  if (live) {
    const comparable = cases.filter((c) => c.status !== 'failing on both' && c.live);
    drop = comparable.length
      ? mean(comparable.map((c) => c.live!.score)) - mean(comparable.map((c) => c.candidate.score))
      : 0;
    if (drop > threshold.maxScoreDrop + 1e-9) {
      const regressed = cases.filter((c) => c.status === 'regressed').map((c) => `"${c.name}"`);
      reasons.push(
        `score fell ${drop.toFixed(2)} below live's (allowed ${threshold.maxScoreDrop.toFixed(2)})` +
          (regressed.length ? `; regressed: ${regressed.join(', ')}` : ''),
      );
    }
  }
  return {
    suite: candidate.suite,
    version: candidate.version,
    candidate,
    live,
    threshold,
    drop,
    cases,
    passed: reasons.length === 0,
    reasons,
  };
}

/** Judge every suite of the candidate against live (undefined: no baseline, the floor alone). */
export function gate(candidate: TargetRun, live: TargetRun | undefined, thresholds: Thresholds): GateVerdict {
  const suites = candidate.suites.map((s) =>
    compareSuite(
      s,
      live?.suites.find((l) => l.suite === s.suite),
      thresholdFor(thresholds, s.suite),
    ),
  );
  const failed = suites.filter((s) => !s.passed);
  return {
    passed: failed.length === 0,
    suites,
    failure: failed.length
      ? `eval gate failed on ${failed.length} suite(s):\n${failed.map((s) => `  - ${s.suite}: ${s.reasons.join('; ')}`).join('\n')}`
      : undefined,
  };
}
