import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import * as github from '@actions/github';
import { loadAllEnvironments } from '../../../../environments';
import { planTopology } from '../../../../infra/src/topology';
import { environmentsDir, requiredInput, action, setOutputs, writeSummary } from '../lib/action';
import { upsertComment } from '../lib/comment';
import { accountStacks, cdkCli, stackAccess } from '../lib/stack-access';
import { diffStacks, INFRA_DIFF_MARKER, renderDiffComment } from '../steps/infra-diff';

export const run = action(async () => {
  // Inputs first: a missing one fails before any AWS call.
  const sha = requiredInput('sha');
  const octokit = github.getOctokit(requiredInput('github-token'));
  const pullRequest = Number(requiredInput('pull-request'));
  const topology = planTopology(loadAllEnvironments(environmentsDir()));
  const accounts = accountStacks(topology);
  const work = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), 'infra-diff-'));
  const result = await diffStacks({
    accounts,
    access: await stackAccess(topology, accounts),
    assembly: path.join(work, 'cdk.out'),
    cdk: cdkCli,
  }).finally(() => fs.rmSync(work, { recursive: true, force: true }));
  const runUrl = process.env.GITHUB_RUN_ID
    ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
    : undefined;
  const body = renderDiffComment(result.diffs, {
    sha,
    runUrl,
    skipped: result.skipped,
    failed: result.failed,
  });
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? topology.app.github.repository).split('/');
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
