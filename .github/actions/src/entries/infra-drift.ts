import * as core from '@actions/core';
import { booleanInput, action, runUrl, setOutputs, writeSummary } from '../lib/action';

export const run = action(async () => {
  const failOnDrift = booleanInput('fail-on-drift');
  const { diffEveryStack } = await import('../lib/stack-access');
  const result = await diffEveryStack();
  const { driftHeadline, driftReport, renderDriftSummary } = await import('../steps/infra-drift');
  const report = driftReport(result);
  await writeSummary((s) =>
    s.addRaw(renderDriftSummary(report, { sha: process.env.GITHUB_SHA ?? 'local', runUrl: runUrl() })),
  );
  setOutputs({
    drifted: report.drifted.map((d) => d.stack).join(','),
    'in-sync': report.inSync.join(','),
  });
  const headline = driftHeadline(report);
  if (result.failed.length)
    throw new Error(
      `${headline}; cdk diff failed in account ${result.failed.map((f) => f.account).join(', ')}`,
    );
  if (report.drifted.length && failOnDrift) throw new Error(headline);
  if (report.drifted.length || report.unchecked.length) core.warning(headline);
  else core.info(headline);
});
