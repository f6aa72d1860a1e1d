import * as core from '@actions/core';
import * as github from '@actions/github';
import { previewRuntimeName, type Environment } from '../../../../environments';
import { resourcesFromStackOutputs, type RuntimeResources } from '../../../../environments/runtime-spec';
import {
  controlClient,
  dataPlaneUrl,
  environmentInput,
  pricesInput,
  requiredInput,
  action,
  runUrl,
  setOutputs,
  ssmClient,
  waitOptions,
  writeSummary,
} from '../lib/action';
import { invocationUrl } from '../lib/agui';
import { readStackOutputs } from '../lib/stack-outputs';
import {
  deletePreview,
  deployPreview,
  previewComment,
  reportState,
  upsertComment,
  type PreviewState,
} from '../steps/preview';

/**
 * What a preview runs on: the resources of the environment it reuses (preview.reuses, normally dev),
 * from that environment's stack outputs parameter (ssm:GetParameter, which the preview role may do;
 * reading the environment's runtime would need rights on it).
 */
async function reusedResources(env: Environment): Promise<RuntimeResources> {
  const hostName = env.preview?.reuses;
  if (!hostName)
    throw new Error(`${env.file} has no preview.reuses naming the environment whose resources previews use`);
  const host = environmentInput(hostName);
  return resourcesFromStackOutputs(await readStackOutputs(ssmClient(host), host), pricesInput());
}

const OPERATIONS = ['deploy', 'report', 'delete'] as const;

export const run = action(async () => {
  const operation = requiredInput('operation') as (typeof OPERATIONS)[number];
  if (!OPERATIONS.includes(operation)) {
    throw new Error(`input "operation" must be one of ${OPERATIONS.join(', ')}, got "${operation}"`);
  }
  const pullRequest = Number(requiredInput('pull-request'));
  const env = environmentInput(core.getInput('environment') || 'preview');
  const runtimeName = previewRuntimeName(env.app.app, pullRequest);
  const sha = requiredInput('sha');
  const octokit = github.getOctokit(requiredInput('github-token'));
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? env.app.github.repository).split('/');
  const pr = { owner, repo, number: pullRequest };
  const runPage = runUrl(`${owner}/${repo}`);
  const dataPlane = dataPlaneUrl(env);
  let state: PreviewState;

  if (operation === 'deploy') {
    const deploy = await deployPreview({
      control: controlClient(env),
      env,
      resources: await reusedResources(env),
      pullRequest,
      sha,
      imageUri: requiredInput('image-uri'),
      wait: waitOptions(env),
      log: core.info,
    });
    setOutputs({
      'runtime-name': deploy.runtimeName,
      'runtime-arn': deploy.runtimeArn,
      version: deploy.version,
      'endpoint-url': invocationUrl({
        dataPlaneUrl: dataPlane,
        runtimeArn: deploy.runtimeArn,
        qualifier: 'DEFAULT',
      }),
    });
    state = { kind: 'deployed', deploy, dataPlaneUrl: dataPlane, sha, runUrl: runPage };
  } else if (operation === 'report') {
    // No AWS call: the comment must be written even when the runtime was never created (or the job
    // lost its credentials); what the deploy step created arrives as inputs.
    state = reportState({
      runtimeName,
      runtimeArn: core.getInput('runtime-arn'),
      version: core.getInput('version'),
      imageUri: core.getInput('image-uri'),
      smokeReport: core.getInput('smoke-report'),
      evalReport: core.getInput('eval-report'),
      failed: core.getInput('failed') === 'true',
      dataPlaneUrl: dataPlane,
      sha,
      runUrl: runPage,
    });
  } else {
    const outcome = await deletePreview(controlClient(env), runtimeName);
    core.info(outcome === 'deleted' ? `deleted ${runtimeName}` : `${runtimeName} was already gone`);
    state = { kind: 'deleted', runtimeName, runUrl: runPage };
  }

  const comment = await upsertComment(octokit, pr, previewComment(state));
  setOutputs({ 'comment-id': comment.id, 'comment-url': comment.url });
  await writeSummary((s) =>
    s.addHeading(`Preview #${pullRequest}: ${operation}`, 3).addRaw(previewComment(state), true),
  );
});
