import * as core from '@actions/core';
import { booleanInput, action, runUrl, setOutputs, writeSummary } from '../lib/action';
import { diffEveryStack } from '../lib/stack-access';
import { driftHeadline, driftReport, renderDriftSummary } from '../steps/infra-drift';

export const run = action(async () => {
  const failOnDrift = booleanInput('fail-on-drift');
  const result = await diffEveryStack();
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
