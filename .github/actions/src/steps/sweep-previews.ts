import type { BedrockAgentCoreControlClient } from '@aws-sdk/client-bedrock-agentcore-control';
import type { getOctokit } from '@actions/github';
import { listRuntimes } from '../lib/runtime';
import { deleteRuntimeById } from './preview';

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
 * state cannot be read is never treated as closed: its preview is kept and reported. Its only AWS
 * calls are ListAgentRuntimes and DeleteAgentRuntime (by the listed id): all the sweep role may do.
 */
export async function sweepPreviews(input: SweepInput): Promise<SweepEntry[]> {
  const now = input.now ?? new Date();
  const pattern = new RegExp(`^${input.prefix}(\\d+)$`);
  const entries: SweepEntry[] = [];
  for (const runtime of await listRuntimes(input.control)) {
    const match = pattern.exec(runtime.agentRuntimeName ?? '');
    // Deletes are asynchronous: one already DELETING needs nothing more.
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
    const outcome = await deleteRuntimeById(input.control, runtime.agentRuntimeId!);
    entries.push({
      runtimeName,
      pullRequest,
      decision: 'deleted',
      reason: outcome === 'absent' ? `${reason} (already gone)` : reason,
    });
  }
  return entries;
}
