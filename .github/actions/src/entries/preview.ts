import * as core from '@actions/core';
import type { Environment } from '../../../../environments';
import type { RuntimeResources } from '../../../../environments/runtime-spec';
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
import type { PreviewState } from '../steps/preview';

/**
 * What a preview runs on: the resources of the environment it reuses (preview.reuses, normally dev),
 * from that environment's stack outputs parameter (ssm:GetParameter, which the preview role may do;
 * reading the environment's runtime would need rights on it).
 */
async function reusedResources(env: Environment): Promise<RuntimeResources> {
  const hostName = env.preview?.reuses;
  if (!hostName)
    throw new Error(`${env.file} has no preview.reuses naming the environment whose resources previews use`);
  const host = await environmentInput(hostName);
  const [{ resourcesFromStackOutputs }, { readStackOutputs }] = await Promise.all([
    import('../../../../environments/runtime-spec'),
    import('../lib/stack-outputs'),
  ]);
  return resourcesFromStackOutputs(await readStackOutputs(await ssmClient(host), host), await pricesInput());
}

const OPERATIONS = ['deploy', 'report', 'delete'] as const;

export const run = action(async () => {
  const operation = requiredInput('operation') as (typeof OPERATIONS)[number];
  if (!OPERATIONS.includes(operation)) {
    throw new Error(`input "operation" must be one of ${OPERATIONS.join(', ')}, got "${operation}"`);
  }
  const pullRequest = Number(requiredInput('pull-request'));
  const sha = requiredInput('sha');
  const token = requiredInput('github-token');
  const env = await environmentInput(core.getInput('environment') || 'preview');
  const [
    { previewRuntimeName },
    { deletePreview, deployPreview, previewComment, reportState, upsertComment },
  ] = await Promise.all([import('../../../../environments'), import('../steps/preview')]);
  const runtimeName = previewRuntimeName(env.app.app, pullRequest);
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? env.app.github.repository).split('/');
  const pr = { owner, repo, number: pullRequest };
  const runPage = runUrl(`${owner}/${repo}`);
  const dataPlane = dataPlaneUrl(env);
  let state: PreviewState;

  if (operation === 'deploy') {
    const deploy = await deployPreview({
      control: await controlClient(env),
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
      'endpoint-url': (await import('../lib/agui')).invocationUrl({
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
    const outcome = await deletePreview(await controlClient(env), runtimeName);
    core.info(outcome === 'deleted' ? `deleted ${runtimeName}` : `${runtimeName} was already gone`);
    state = { kind: 'deleted', runtimeName, runUrl: runPage };
  }

  const github = await import('@actions/github');
  const comment = await upsertComment(github.getOctokit(token), pr, previewComment(state));
  setOutputs({ 'comment-id': comment.id, 'comment-url': comment.url });
  await writeSummary((s) =>
    s.addHeading(`Preview #${pullRequest}: ${operation}`, 3).addRaw(previewComment(state), true),
  );
});
