import * as core from '@actions/core';
import * as exec from '@actions/exec';
import * as github from '@actions/github';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { loadAllEnvironments } from '../../../../environments';
import { planTopology } from '../../../../infra/src/topology';
import { environmentsDir, requiredInput, action, setOutputs, writeSummary } from '../lib/action';
import { upsertComment } from '../lib/comment';
import { diffStacks, INFRA_DIFF_MARKER, renderDiffComment } from '../steps/infra-diff';

export const run = action(async () => {
  const topology = planTopology(loadAllEnvironments(environmentsDir()));
  const accounts = topology.accounts.map((plan) => ({
    account: plan.account,
    stacks: [plan.stackName, ...plan.deployed.map((e) => e.names.stack)],
  }));
  const identity = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  const { diffs, failed } = await diffStacks({
    accounts,
    callerAccount: identity.Account!,
    cdk: async (args) => {
      let output = '';
      const append = (b: Buffer) => (output += b.toString('utf8'));
      const exitCode = await exec.exec('npx', ['cdk', ...args], {
        ignoreReturnCode: true,
        listeners: { stdout: append, stderr: append },
      });
      return { output, exitCode };
    },
  });
  const sha = requiredInput('sha');
  const runUrl = process.env.GITHUB_RUN_ID
    ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
    : undefined;
  const body = renderDiffComment(diffs, { sha, runUrl, failed });
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? topology.app.github.repository).split('/');
  const comment = await upsertComment(
    github.getOctokit(requiredInput('github-token')),
    { owner, repo, number: Number(requiredInput('pull-request')) },
    body,
    INFRA_DIFF_MARKER,
  );
  core.info(`${comment.action} ${comment.url}`);
  setOutputs({
    'comment-url': comment.url,
    changed: diffs.some((d) => d.resources.length > 0 || d.iam || d.securityGroups) ? 'true' : 'false',
  });
  await writeSummary((s) => s.addRaw(body));
});
