import * as core from '@actions/core';
import * as github from '@actions/github';
import type { BedrockAgentCoreControlClient } from '@aws-sdk/client-bedrock-agentcore-control';
import { previewRuntimeName, type Environment } from '../../../../environments';
import {
  controlClient,
  dataPlaneUrl,
  environmentInput,
  listInput,
  pricesInput,
  requiredInput,
  run,
  setOutputs,
  waitOptions,
  writeSummary,
} from '../lib/action';
import { invocationUrl } from '../lib/agui';
import { containerUri, getRuntime, requireRuntime } from '../lib/runtime';
import {
  deletePreview,
  deployPreview,
  previewComment,
  sharedResourcesFrom,
  upsertComment,
  type PreviewState,
  type SharedResources,
} from '../steps/preview';
import type { SmokeReport } from '../steps/smoke-test';

/** Inputs override what the reused environment's runtime says (preview.reuses, normally dev). */
async function sharedResources(
  control: BedrockAgentCoreControlClient,
  env: Environment,
): Promise<SharedResources> {
  const given = {
    executionRoleArn: core.getInput('execution-role-arn'),
    memoryId: core.getInput('memory-id'),
    guardrailId: core.getInput('guardrail-id'),
    guardrailVersion: core.getInput('guardrail-version'),
    discoveryUrl: core.getInput('discovery-url'),
    allowedClients: listInput('allowed-clients'),
  };
  const complete =
    given.executionRoleArn && given.guardrailId && given.guardrailVersion && given.discoveryUrl;
  if (complete) return { ...given, memoryId: given.memoryId || undefined };
  const hostName = env.preview?.reuses;
  if (!hostName)
    throw new Error(`${env.file} has no preview.reuses naming the environment whose resources previews use`);
  const host = environmentInput(hostName);
  const hostRuntime = await requireRuntime(control, host.names.runtime);
  const fromHost = sharedResourcesFrom(await getRuntime(control, hostRuntime.agentRuntimeId!));
  return {
    executionRoleArn: given.executionRoleArn || fromHost.executionRoleArn,
    memoryId: given.memoryId || fromHost.memoryId,
    guardrailId: given.guardrailId || fromHost.guardrailId,
    guardrailVersion: given.guardrailVersion || fromHost.guardrailVersion,
    discoveryUrl: given.discoveryUrl || fromHost.discoveryUrl,
    allowedClients: given.allowedClients.length ? given.allowedClients : fromHost.allowedClients,
  };
}

const OPERATIONS = ['deploy', 'report', 'delete'] as const;

run(async () => {
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
  const runUrl = process.env.GITHUB_RUN_ID
    ? `${process.env.GITHUB_SERVER_URL}/${owner}/${repo}/actions/runs/${process.env.GITHUB_RUN_ID}`
    : undefined;
  const control = controlClient(env);
  const dataPlane = dataPlaneUrl(env);
  let state: PreviewState;

  if (operation === 'deploy') {
    const deploy = await deployPreview({
      control,
      env,
      shared: await sharedResources(control, env),
      prices: pricesInput(),
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
    state = { kind: 'deployed', deploy, dataPlaneUrl: dataPlane, sha, runUrl };
  } else if (operation === 'report') {
    const runtime = await getRuntime(control, (await requireRuntime(control, runtimeName)).agentRuntimeId!);
    const reportJson = core.getInput('smoke-report');
    const smoke = reportJson ? (JSON.parse(reportJson) as SmokeReport) : undefined;
    const failed = core.getInput('failed') === 'true';
    state =
      failed && !smoke
        ? {
            kind: 'failed',
            sha,
            error: 'the preview job failed before its gates ran; see the workflow run',
            runUrl,
          }
        : {
            kind: 'deployed',
            deploy: {
              runtimeId: runtime.agentRuntimeId!,
              runtimeArn: runtime.agentRuntimeArn!,
              runtimeName,
              version: runtime.agentRuntimeVersion!,
              imageUri: containerUri(runtime) ?? '',
              action: 'unchanged',
            },
            dataPlaneUrl: dataPlane,
            smoke,
            sha,
            runUrl,
          };
  } else {
    const outcome = await deletePreview(control, runtimeName);
    core.info(outcome === 'deleted' ? `deleted ${runtimeName}` : `${runtimeName} was already gone`);
    state = { kind: 'deleted', runtimeName, runUrl };
  }

  const comment = await upsertComment(octokit, pr, previewComment(state));
  setOutputs({ 'comment-id': comment.id, 'comment-url': comment.url });
  await writeSummary((s) =>
    s.addHeading(`Preview #${pullRequest}: ${operation}`, 3).addRaw(previewComment(state), true),
  );
});
