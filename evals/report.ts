/** The gate's before/after tables: one markdown text for the PR comment and the job summary. */
import { markdownTable } from '../.github/actions/src/lib/gates';
import type { GateVerdict, SuiteVerdict } from './compare';
import type { SuiteRun } from './run';

const usd = (n: number | undefined) =>
  n === undefined ? 'n/a' : `$${n < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;
const score = (s: SuiteRun) => `${s.passed}/${s.cases.length} (${s.score.toFixed(2)})`;
const arrow = (live: string | undefined, candidate: string) =>
  live === undefined ? candidate : `${live} → ${candidate}`;

function suiteRow(v: SuiteVerdict): string[] {
  const { candidate: c, live: l } = v;
  return [
    `${v.suite} v${v.version}`,
    l ? score(l) : 'n/a',
    score(c),
    v.drop === undefined ? 'n/a' : v.drop === 0 ? '0' : (-v.drop).toFixed(2).replace(/^(\d)/, '+$1'),
    `≥ ${v.threshold.minScore.toFixed(2)}, drop ≤ ${v.threshold.maxScoreDrop.toFixed(2)}`,
    arrow(l && String(l.tokens), String(c.tokens)),
    arrow(l && usd(l.costUsd), usd(c.costUsd)),
    arrow(l && `${l.latencyP95Ms} ms`, `${c.latencyP95Ms} ms`),
    v.passed ? '✅ pass' : `❌ ${v.reasons.join('; ')}`,
  ];
}

/** Markdown: the per-suite table, then every case that is not a plain pass, with its trace. */
export function gateMarkdown(verdict: GateVerdict, labels: { candidate: string; live?: string }): string {
  const lines = [
    `**Eval gate: ${verdict.passed ? '✅ passed' : '❌ failed'}** — candidate \`${labels.candidate}\`` +
      (labels.live ? ` against live \`${labels.live}\`` : ' (no live baseline: floors only)'),
    '',
    markdownTable(
      ['Suite', 'Live', 'Candidate', 'Δ score', 'Threshold', 'Tokens', 'Est. cost', 'p95 latency', 'Result'],
      verdict.suites.map(suiteRow),
    ),
  ];
  const notable = verdict.suites.flatMap((s) =>
    s.cases.filter((c) => c.status !== 'pass').map((c) => ({ suite: s.suite, ...c })),
  );
  if (notable.length) {
    lines.push(
      '',
      markdownTable(
        ['Suite', 'Case', 'Status', 'Live', 'Candidate', 'What failed'],
        notable.map((c) => [
          c.suite,
          c.name,
          c.status === 'regressed' ? '❌ regressed' : c.status === 'fixed' ? '✅ fixed' : `⚠️ ${c.status}`,
          c.live ? `${c.live.passed ? 'pass' : 'fail'} ${c.live.score.toFixed(2)}` : 'n/a',
          `${c.candidate.passed ? 'pass' : 'fail'} ${c.candidate.score.toFixed(2)}`,
          c.candidate.results
            .filter((r) => !r.passed)
            .map((r) => `${r.assertion}: ${r.detail}`)
            .join('; ') || '—',
        ]),
      ),
    );
    const traced = notable.filter((c) => c.candidate.trace?.length);
    if (traced.length) {
      lines.push('', '<details><summary>Traces of the failed cases (candidate)</summary>', '');
      for (const c of traced)
        lines.push(`- **${c.suite} / ${c.name}**`, ...c.candidate.trace!.map((t) => `  - ${t}`));
      lines.push('', '</details>');
    }
  }
  const skipped = verdict.suites.flatMap((s) =>
    s.candidate.cases.flatMap((c) => c.results.filter((r) => r.skipped)),
  );
  if (skipped.length)
    lines.push(
      '',
      `${skipped.length} judge rubric(s) skipped: no judge model configured (evals.judgeModel in the environment file).`,
    );
  return lines.join('\n');
}
