import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../../environments';
import { checkThresholds } from '../../../evals/compare';
import { loadSuites } from '../../../evals/schema';
import type { InvokeResult } from '../src/lib/agui';
import { evalGate, type EvalEndpoint } from '../src/steps/eval-gate';
import { previewComment, reportState } from '../src/steps/preview';
import type { SmokeReport } from '../src/steps/smoke-test';

const sha = 'b'.repeat(40);
const smoke = {
  passed: true,
  gates: [{ gate: 'case: x', passed: true, actual: 'ok', expected: 'ok' }],
  latency: { samples: 1, firstTokenP50Ms: 1, firstTokenP95Ms: 1, totalP50Ms: 1, totalP95Ms: 1 },
} as unknown as SmokeReport;
const created = {
  runtimeName: 'app_pr_3',
  runtimeArn: 'arn:aws:bedrock-agentcore:us-east-1:111111111111:runtime/app_pr_3-abc',
  version: '2',
  imageUri: 'img',
  smokeReport: JSON.stringify(smoke),
  failed: false,
  dataPlaneUrl: 'https://data',
  sha,
};

/** An agent that answers every prompt the same way, calling the given tools. */
const endpoint = (label: string, tools: string[]): EvalEndpoint => ({
  label,
  invoke: async (): Promise<InvokeResult> => ({
    answer: 'ok',
    events: [],
    totalMs: 5,
    firstTokenMs: 1,
    usage: [{ model: 'us.anthropic.claude-sonnet-4-6', inputTokens: 10, outputTokens: 2 }],
    toolCalls: tools.map((name) => ({ name, args: {} })),
  }),
});

describe('eval gate step', () => {
  const suites = loadSuites().filter((s) => s.name === 'safety');
  const settings = { ...loadEnvironment('dev').evals, retrySeconds: 0 };

  it('rejects a candidate that regresses against live and shows where', async () => {
    // live answers without calling a tool (passes the "refused, no tool" trajectory); the candidate calls one.
    const report = await evalGate({
      candidate: endpoint('rt/DEFAULT', ['calculator']),
      live: endpoint('rt/live', []),
      suites,
      settings,
    });
    expect(report.passed).toBe(false);
    expect(report.failure).toMatch(
      /^eval gate failed on 1 suite\(s\):\n {2}- safety: score 0\.\d\d is below the floor/,
    );
    expect(report.markdown).toContain('candidate `rt/DEFAULT` against live `rt/live`');
  });

  it('names a threshold for a suite that does not exist (a typo)', () => {
    const names = loadSuites().map((s) => s.name);
    expect(() => checkThresholds(settings.thresholds, names)).not.toThrow();
    expect(() =>
      checkThresholds({ ...settings.thresholds, tool: { minScore: 1, maxScoreDrop: 0 } }, names),
    ).toThrow(
      'evals.thresholds names suite(s) tool that evals/suites does not have (have: memory, safety, tools); fix the name or remove the entry',
    );
  });
});

describe('preview comment with the eval table', () => {
  const evalReport = (passed: boolean) =>
    JSON.stringify({ passed, markdown: `**Eval gate: ${passed ? '✅ passed' : '❌ failed'}** — table` });

  it('adds the before/after table under the smoke gates; a failed eval gate fails the verdict', () => {
    const ok = previewComment(reportState({ ...created, evalReport: evalReport(true) }));
    expect(ok).toContain('✅ all gates passed');
    expect(ok.indexOf('**Eval gate: ✅ passed** — table')).toBeGreaterThan(ok.indexOf('| case: x |'));
    const bad = previewComment(reportState({ ...created, evalReport: evalReport(false) }));
    expect(bad).toContain('❌ gates failed');
    expect(bad).toContain('**Eval gate: ❌ failed** — table');
  });

  it('without an eval report (gate not run, or unreadable) shows no eval table', () => {
    for (const evalReportInput of [undefined, '{not json'])
      expect(previewComment(reportState({ ...created, evalReport: evalReportInput }))).not.toContain(
        'Eval gate',
      );
  });
});
