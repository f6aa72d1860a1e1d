import * as core from '@actions/core';
import { requiredInput, action, runUrl, setOutputs, writeSummary } from '../lib/action';

export const run = action(async () => {
  // Inputs first: a missing one fails before any AWS call.
  const sha = requiredInput('sha');
  const token = requiredInput('github-token');
  const pullRequest = Number(requiredInput('pull-request'));
  const { diffEveryStack } = await import('../lib/stack-access');
  const result = await diffEveryStack();
  const [github, { upsertComment }, { INFRA_DIFF_MARKER, renderDiffComment }] = await Promise.all([
    import('@actions/github'),
    import('../lib/comment'),
    import('../steps/infra-diff'),
  ]);
  const octokit = github.getOctokit(token);
  const body = renderDiffComment(result.diffs, {
    sha,
    runUrl: runUrl(),
    skipped: result.skipped,
    failed: result.failed,
  });
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? result.topology.app.github.repository).split('/');
  const comment = await upsertComment(octokit, { owner, repo, number: pullRequest }, body, INFRA_DIFF_MARKER);
  core.info(`${comment.action} ${comment.url}`);
  setOutputs({
    'comment-url': comment.url,
    changed: result.diffs.some((d) => d.changed) ? 'true' : 'false',
  });
  await writeSummary((s) => s.addRaw(body));
  if (result.failed.length)
    throw new Error(
      `cdk diff failed in account ${result.failed.map((f) => f.account).join(', ')} (the comment shows why)`,
    );
});
