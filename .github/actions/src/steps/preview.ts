import {
  DeleteAgentRuntimeCommand,
  type BedrockAgentCoreControlClient,
} from '@aws-sdk/client-bedrock-agentcore-control';
import type { getOctokit } from '@actions/github';
import { agentEnvironment, previewRuntimeName, previewTag, type Environment } from '../../../../environments';
import type { PricesFile } from '../../../../environments/prices-schema';
import { invocationUrl } from '../lib/agui';
import { PREVIEW_MARKER, upsertComment, type PullRequestRef } from '../lib/comment';
import { gatesTable, type GateResult } from '../lib/gates';
import { findRuntime, listRuntimes, type Runtime, type WaitOptions } from '../lib/runtime';
import { deployRuntime, type DeployRuntimeResult, type RuntimeSpec } from './deploy-runtime';
import type { SmokeReport } from './smoke-test';

/** The reused environment's resources a preview runtime points at (stack outputs of that environment). */
export interface SharedResources {
  executionRoleArn: string;
  memoryId?: string;
  guardrailId: string;
  guardrailVersion: string;
  /** OIDC discovery URL of the Cognito pool (…/.well-known/openid-configuration). */
  discoveryUrl: string;
  allowedClients: string[];
}

/**
 * The reused environment's resources, read from its runtime: a preview runs with the same execution
 * role, authorizer, guardrail and memory as the environment it reuses (preview.reuses).
 */
export function sharedResourcesFrom(runtime: Runtime): SharedResources {
  const jwt = runtime.authorizerConfiguration?.customJWTAuthorizer;
  const vars = runtime.environmentVariables ?? {};
  const missing = [
    !runtime.roleArn && 'roleArn',
    !jwt?.discoveryUrl && 'authorizerConfiguration.customJWTAuthorizer.discoveryUrl',
    !vars.GUARDRAIL_ID && 'environmentVariables.GUARDRAIL_ID',
    !vars.GUARDRAIL_VERSION && 'environmentVariables.GUARDRAIL_VERSION',
  ].filter(Boolean);
  if (missing.length) {
    throw new Error(
      `runtime ${runtime.agentRuntimeName} lacks ${missing.join(', ')}; pass the preview inputs instead`,
    );
  }
  return {
    executionRoleArn: runtime.roleArn!,
    memoryId: vars.MEMORY_ID,
    guardrailId: vars.GUARDRAIL_ID,
    guardrailVersion: vars.GUARDRAIL_VERSION,
    discoveryUrl: jwt!.discoveryUrl!,
    allowedClients: jwt!.allowedClients ?? [],
  };
}

/**
 * A preview runtime's full configuration: preview.yaml's settings wired to the shared resources, with
 * its models' prices from `prices` (environments/prices.yaml).
 */
export function previewRuntimeSpec(
  env: Environment,
  shared: SharedResources,
  meta: { pullRequest: number; sha: string; createdAt: Date },
  prices: PricesFile,
): RuntimeSpec {
  const vars = agentEnvironment(env, {
    guardrailId: shared.guardrailId,
    guardrailVersion: shared.guardrailVersion,
    memoryId: shared.memoryId,
    prices,
  });
  return {
    roleArn: shared.executionRoleArn,
    description: `Preview of pull request #${meta.pullRequest} (${meta.sha.slice(0, 7)})`,
    networkConfiguration: { networkMode: 'PUBLIC' },
    protocolConfiguration: { serverProtocol: 'AGUI' },
    lifecycleConfiguration: {
      idleRuntimeSessionTimeout: env.runtime.idleTimeoutSeconds,
      maxLifetime: env.runtime.maxLifetimeSeconds,
    },
    authorizerConfiguration: {
      customJWTAuthorizer: { discoveryUrl: shared.discoveryUrl, allowedClients: shared.allowedClients },
    },
    environmentVariables: vars,
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
  shared: SharedResources;
  /** `loadPrices()` of the repository's environments/ folder. */
  prices: PricesFile;
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
    createIfMissing: previewRuntimeSpec(
      input.env,
      input.shared,
      { pullRequest: input.pullRequest, sha: input.sha, createdAt: input.now ?? new Date() },
      input.prices,
    ),
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
  try {
    await control.send(new DeleteAgentRuntimeCommand({ agentRuntimeId: found.agentRuntimeId }));
    return 'deleted';
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return 'absent';
    throw e;
  }
}

export type PreviewState =
  | {
      kind: 'deployed';
      deploy: DeployRuntimeResult;
      dataPlaneUrl: string;
      smoke?: SmokeReport;
      sha: string;
      runUrl?: string;
    }
  | { kind: 'failed'; sha: string; error: string; runUrl?: string }
  | { kind: 'deleted'; runtimeName: string; runUrl?: string };

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
  const { deploy, smoke } = state;
  const url = invocationUrl({
    dataPlaneUrl: state.dataPlaneUrl,
    runtimeArn: deploy.runtimeArn,
    qualifier: 'DEFAULT',
  });
  const verdict = !smoke ? '⏳ gates not run' : smoke.passed ? '✅ all gates passed' : '❌ gates failed';
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

type Octokit = ReturnType<typeof getOctokit>;

export interface SweepInput {
  control: BedrockAgentCoreControlClient;
  octokit: Octokit;
  owner: string;
  repo: string;
  /** Every preview runtime's name starts with this (`<app>_pr_`). */
  prefix: string;
  ttlHours: number;
  now?: Date;
  /** Report what would be deleted without deleting. */
  dryRun?: boolean;
}

export interface SweepEntry {
  runtimeName: string;
  pullRequest: number;
  decision: 'deleted' | 'kept' | 'would-delete';
  reason: string;
  /** The PR's state could not be read, so the preview was kept; worth a warning. */
  lookupFailed?: true;
}

/**
 * Delete previews whose PR is explicitly closed, or open but not updated within the TTL. A PR whose
 * state cannot be read is never treated as closed: its preview is kept and reported.
 */
export async function sweepPreviews(input: SweepInput): Promise<SweepEntry[]> {
  const now = input.now ?? new Date();
  const pattern = new RegExp(`^${input.prefix}(\\d+)$`);
  const entries: SweepEntry[] = [];
  for (const runtime of await listRuntimes(input.control)) {
    const match = pattern.exec(runtime.agentRuntimeName ?? '');
    // A runtime still DELETING (deletes are asynchronous) was swept already.
    if (!match || runtime.status === 'DELETING') continue;
    const pullRequest = Number(match[1]);
    const runtimeName = runtime.agentRuntimeName!;
    const ageHours = (now.getTime() - new Date(runtime.lastUpdatedAt ?? now).getTime()) / 3_600_000;
    let state: string;
    try {
      const { data } = await input.octokit.rest.pulls.get({
        owner: input.owner,
        repo: input.repo,
        pull_number: pullRequest,
      });
      state = data.state;
    } catch (e) {
      const reason = `PR #${pullRequest} could not be looked up (${(e as Error).message}); kept`;
      entries.push({ runtimeName, pullRequest, decision: 'kept', reason, lookupFailed: true });
      continue;
    }
    const reason =
      state === 'closed'
        ? `PR #${pullRequest} is closed`
        : ageHours > input.ttlHours
          ? `not updated for ${Math.floor(ageHours)} h (TTL ${input.ttlHours} h)`
          : undefined;
    if (!reason) {
      entries.push({ runtimeName, pullRequest, decision: 'kept', reason: `PR #${pullRequest} is ${state}` });
      continue;
    }
    if (input.dryRun) {
      entries.push({ runtimeName, pullRequest, decision: 'would-delete', reason });
      continue;
    }
    await deletePreview(input.control, runtimeName);
    entries.push({ runtimeName, pullRequest, decision: 'deleted', reason });
  }
  return entries;
}
