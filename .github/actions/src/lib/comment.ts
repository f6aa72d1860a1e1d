import type { getOctokit } from '@actions/github';

type Octokit = ReturnType<typeof getOctokit>;

/** Hidden marker that identifies the pipeline's one preview comment on a pull request. */
export const PREVIEW_MARKER = '<!-- agentcore-gitops-preview -->';

export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
}

/** Keep ONE comment per PR: find ours by the marker (all pages), update it, else create it. */
export async function upsertComment(
  octokit: Octokit,
  pr: PullRequestRef,
  body: string,
  marker = PREVIEW_MARKER,
): Promise<{ id: number; action: 'created' | 'updated'; url: string }> {
  const full = body.includes(marker) ? body : `${marker}\n${body}`;
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner: pr.owner,
    repo: pr.repo,
    issue_number: pr.number,
    per_page: 100,
  });
  const ours = comments.find((c) => c.body?.includes(marker));
  if (ours) {
    const { data } = await octokit.rest.issues.updateComment({
      owner: pr.owner,
      repo: pr.repo,
      comment_id: ours.id,
      body: full,
    });
    return { id: data.id, action: 'updated', url: data.html_url };
  }
  const { data } = await octokit.rest.issues.createComment({
    owner: pr.owner,
    repo: pr.repo,
    issue_number: pr.number,
    body: full,
  });
  return { id: data.id, action: 'created', url: data.html_url };
}
