import * as core from '@actions/core';
import {
  controlClient,
  environmentInput,
  requiredInput,
  action,
  setOutputs,
  writeSummary,
} from '../lib/action';

export const run = action(async () => {
  const token = requiredInput('github-token');
  const env = await environmentInput(core.getInput('environment') || 'preview');
  if (!env.preview)
    throw new Error(`${env.file} has no preview: section (ttlHours); pass the preview environment`);
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? env.app.github.repository).split('/');
  const [github, { sharedResourceNames }, { sweepPreviews }] = await Promise.all([
    import('@actions/github'),
    import('../../../../environments'),
    import('../steps/sweep-previews'),
  ]);
  const entries = await sweepPreviews({
    control: await controlClient(env),
    octokit: github.getOctokit(token),
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
