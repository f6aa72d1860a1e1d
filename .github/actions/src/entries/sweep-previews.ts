import * as core from '@actions/core';
import * as github from '@actions/github';
import { sharedResourceNames } from '../../../../environments';
import {
  controlClient,
  environmentInput,
  requiredInput,
  action,
  setOutputs,
  writeSummary,
} from '../lib/action';
import { sweepPreviews } from '../steps/sweep-previews';

export const run = action(async () => {
  const env = environmentInput(core.getInput('environment') || 'preview');
  if (!env.preview)
    throw new Error(`${env.file} has no preview: section (ttlHours); pass the preview environment`);
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? env.app.github.repository).split('/');
  const entries = await sweepPreviews({
    control: controlClient(env),
    octokit: github.getOctokit(requiredInput('github-token')),
    owner,
    repo,
    prefix: sharedResourceNames(env.app.app).previewRuntimePrefix,
    ttlHours: env.preview.ttlHours,
    dryRun: core.getInput('dry-run') === 'true',
  });
  for (const e of entries) core.info(`${e.runtimeName}: ${e.decision} — ${e.reason}`);
  for (const e of entries.filter((e) => e.lookupFailed)) core.warning(`${e.runtimeName}: ${e.reason}`);
  setOutputs({
    deleted: entries
      .filter((e) => e.decision === 'deleted')
      .map((e) => e.runtimeName)
      .join(','),
    kept: entries
      .filter((e) => e.decision === 'kept')
      .map((e) => e.runtimeName)
      .join(','),
  });
  await writeSummary((s) =>
    s.addHeading('Preview sweep', 3).addTable([
      [
        { data: 'Runtime', header: true },
        { data: 'PR', header: true },
        { data: 'Decision', header: true },
        { data: 'Why', header: true },
      ],
      ...entries.map((e) => [e.runtimeName, `#${e.pullRequest}`, e.decision, e.reason]),
    ]),
  );
});
