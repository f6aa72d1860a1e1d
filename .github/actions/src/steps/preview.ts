import {
  DeleteAgentRuntimeCommand,
  type BedrockAgentCoreControlClient,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { previewRuntimeName, previewTag, type Environment } from '../../../../environments';
import { runtimeSpec, type RuntimeResources } from '../../../../environments/runtime-spec';
import { invocationUrl } from '../lib/agui';
import { PREVIEW_MARKER, upsertComment, type PullRequestRef } from '../lib/comment';
import { gatesTable, type GateResult } from '../lib/gates';
import { findRuntime, type WaitOptions } from '../lib/runtime';
import {
  deployRuntime,
  type DeployRuntimeResult,
  type RuntimeSpec as CreateSettings,
} from './deploy-runtime';
import type { SmokeReport } from './smoke-test';

/**
 * A preview runtime's full configuration: the one `runtimeSpec` of preview.yaml's settings on the
 * reused environment's resources (its stack outputs), plus what marks it as this PR's preview.
 */
export function previewRuntimeSpec(
  env: Environment,
  resources: RuntimeResources,
  meta: { pullRequest: number; sha: string; createdAt: Date },
): CreateSettings {
  return {
    ...runtimeSpec(env, resources),
    description: `Preview of pull request #${meta.pullRequest} (${meta.sha.slice(0, 7)})`,
    tags: {
      [previewTag.key]: previewTag.value,
      pr: String(meta.pullRequest),
      sha: meta.sha,
      'created-at': meta.createdAt.toISOString(),
    },
  };
}

export interface DeployPreviewInput {
  control: BedrockAgentCoreControlClient;
  env: Environment;
  /** The reused environment's resources: `resourcesFromStackOutputs` of its outputs parameter. */
  resources: RuntimeResources;
  pullRequest: number;
  sha: string;
  imageUri: string;
  wait: WaitOptions;
  now?: Date;
  log?: (message: string) => void;
}

/** Create the PR's runtime, or put the new image into it. */
export function deployPreview(input: DeployPreviewInput): Promise<DeployRuntimeResult> {
  return deployRuntime({
    control: input.control,
    runtimeName: previewRuntimeName(input.env.app.app, input.pullRequest),
    imageUri: input.imageUri,
    wait: input.wait,
    createIfMissing: previewRuntimeSpec(input.env, input.resources, {
      pullRequest: input.pullRequest,
      sha: input.sha,
      createdAt: input.now ?? new Date(),
    }),
    log: input.log,
  });
}

/** Delete the PR's runtime; a runtime that is already gone counts as deleted. */
export async function deletePreview(
  control: BedrockAgentCoreControlClient,
  runtimeName: string,
): Promise<'deleted' | 'absent'> {
  const found = await findRuntime(control, runtimeName);
  // Deletes are asynchronous: a runtime still DELETING from an earlier delete is as good as gone.
  if (!found || found.status === 'DELETING') return 'absent';
  return deleteRuntimeById(control, found.agentRuntimeId!);
}

/** DeleteAgentRuntime (asynchronous: the runtime goes DELETING); one already gone counts as deleted. */
export async function deleteRuntimeById(
  control: BedrockAgentCoreControlClient,
  agentRuntimeId: string,
): Promise<'deleted' | 'absent'> {
  try {
    await control.send(new DeleteAgentRuntimeCommand({ agentRuntimeId }));
    return 'deleted';
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return 'absent';
    throw e;
  }
}

/** What the eval-gate step reports (its `report` output). */
export interface EvalReport {
  passed: boolean;
  markdown: string;
}

export type PreviewState =
  | {
      kind: 'deployed';
      deploy: DeployRuntimeResult;
      dataPlaneUrl: string;
      smoke?: SmokeReport;
      /** The eval gate's before/after table (eval-gate's report output). */
      evals?: EvalReport;
      sha: string;
      runUrl?: string;
    }
  | { kind: 'failed'; sha: string; error: string; runUrl?: string }
  | { kind: 'deleted'; runtimeName: string; runUrl?: string };

/** The comment's state after the job: the gates' results, or what failed when there is nothing to show. */
export function reportState(r: {
  runtimeName: string;
  runtimeArn: string;
  version: string;
  imageUri: string;
  smokeReport: string;
  /** eval-gate's report output; empty when the gate did not run. */
  evalReport?: string;
  failed: boolean;
  dataPlaneUrl: string;
  sha: string;
  runUrl?: string;
}): PreviewState {
  let smoke: SmokeReport | undefined;
  try {
    smoke = r.smokeReport ? (JSON.parse(r.smokeReport) as SmokeReport) : undefined;
  } catch {
    // An unreadable report counts as no report: the comment says the job failed.
  }
  let evals: EvalReport | undefined;
  try {
    evals = r.evalReport ? (JSON.parse(r.evalReport) as EvalReport) : undefined;
  } catch {
    // Unreadable: no eval table; the job's own status says it failed.
  }
  if (!r.runtimeArn || (r.failed && !smoke)) {
    const error = r.runtimeArn
      ? 'the preview job failed before its gates ran; see the workflow run'
      : `the preview runtime ${r.runtimeName} was not created or updated (the job failed before the deploy finished); see the workflow run`;
    return { kind: 'failed', sha: r.sha, error, runUrl: r.runUrl };
  }
  return {
    kind: 'deployed',
    deploy: {
      runtimeId: r.runtimeArn.split('/').at(-1)!,
      runtimeArn: r.runtimeArn,
      runtimeName: r.runtimeName,
      version: r.version,
      imageUri: r.imageUri,
      action: 'unchanged',
    },
    dataPlaneUrl: r.dataPlaneUrl,
    smoke,
    evals,
    sha: r.sha,
    runUrl: r.runUrl,
  };
}

/** The PR comment: endpoint, gate results and how to invoke — or what failed, or that it is gone. */
export function previewComment(state: PreviewState): string {
  const lines = [PREVIEW_MARKER, '### Agent preview'];
  const run = state.runUrl ? ` ([workflow run](${state.runUrl}))` : '';
  if (state.kind === 'deleted') {
    lines.push(
      '',
      `The preview runtime \`${state.runtimeName}\` was deleted when the pull request closed.${run}`,
    );
    return lines.join('\n');
  }
  if (state.kind === 'failed') {
    lines.push('', `❌ The preview of ${state.sha.slice(0, 7)} failed${run}:`, '', '```', state.error, '```');
    return lines.join('\n');
  }
  const { deploy, smoke, evals } = state;
  const url = invocationUrl({
    dataPlaneUrl: state.dataPlaneUrl,
    runtimeArn: deploy.runtimeArn,
    qualifier: 'DEFAULT',
  });
  const verdict = !smoke
    ? '⏳ gates not run'
    : smoke.passed && evals?.passed !== false
      ? '✅ all gates passed'
      : '❌ gates failed';
  lines.push(
    '',
    `Commit ${state.sha.slice(0, 7)} runs in \`${deploy.runtimeName}\` version ${deploy.version} — ${verdict}${run}`,
    '',
    `- Runtime ARN: \`${deploy.runtimeArn}\``,
    `- Image: \`${deploy.imageUri}\``,
    `- Endpoint: \`${url}\``,
  );
  if (smoke) {
    lines.push('', gatesTable(smoke.gates as GateResult[]));
    lines.push(
      '',
      `Latency over ${smoke.latency.samples} samples: first token p50 ${smoke.latency.firstTokenP50Ms} ms / p95 ${smoke.latency.firstTokenP95Ms} ms; total p50 ${smoke.latency.totalP50Ms} ms / p95 ${smoke.latency.totalP95Ms} ms.`,
    );
  }
  if (evals) lines.push('', evals.markdown);
  lines.push(
    '',
    '<details><summary>Invoke it</summary>',
    '',
    '```sh',
    '# a token for the machine client (client-credentials grant)',
    'TOKEN=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$TOKEN_URL" | jq -r .access_token)',
    `curl -N -X POST '${url}' \\`,
    '  -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -H "Accept: text/event-stream" \\',
    '  -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: preview-$(uuidgen)-session" \\',
    `  -d '{"threadId":"t","runId":"r","messages":[{"id":"1","role":"user","content":"What time is it in Tokyo?"}],"tools":[],"context":[],"state":{},"forwardedProps":{}}'`,
    '```',
    '</details>',
  );
  return lines.join('\n');
}

export { upsertComment, type PullRequestRef };
