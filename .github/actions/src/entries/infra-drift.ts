import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { loadAllEnvironments } from '../../../../environments';
import { planTopology } from '../../../../infra/src/topology';
import { booleanInput, environmentsDir, action, setOutputs, writeSummary } from '../lib/action';
import { accountStacks, cdkCli, stackAccess } from '../lib/stack-access';
import { diffStacks } from '../steps/infra-diff';
import { driftHeadline, driftReport, renderDriftSummary } from '../steps/infra-drift';

export const run = action(async () => {
  const failOnDrift = booleanInput('fail-on-drift');
  const topology = planTopology(loadAllEnvironments(environmentsDir()));
  const accounts = accountStacks(topology);
  const work = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), 'infra-drift-'));
  const result = await diffStacks({
    accounts,
    access: await stackAccess(topology, accounts),
    assembly: path.join(work, 'cdk.out'),
    cdk: cdkCli,
  }).finally(() => fs.rmSync(work, { recursive: true, force: true }));
  const report = driftReport(result);
  const runUrl = process.env.GITHUB_RUN_ID
    ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
    : undefined;
  await writeSummary((s) =>
    s.addRaw(renderDriftSummary(report, { sha: process.env.GITHUB_SHA ?? 'local', runUrl })),
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
