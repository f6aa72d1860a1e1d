/** Image tags a build pushes: the immutable `:<sha>` always, `:latest` on the main branch, `:pr-<n>-<sha>` for previews. */
export interface TagContext {
  sha: string;
  /** `refs/heads/main`, `refs/pull/12/merge`, ... */
  ref: string;
  mainBranch: string;
  /** Set for pull-request builds. */
  pullRequest?: number;
}

const SHA = /^[0-9a-f]{40}$/;

export function imageTags(ctx: TagContext): string[] {
  if (!SHA.test(ctx.sha)) throw new Error(`sha must be a full 40-hex commit sha, got "${ctx.sha}"`);
  if (ctx.pullRequest !== undefined) {
    if (!Number.isInteger(ctx.pullRequest) || ctx.pullRequest <= 0)
      throw new Error(`pull request number must be a positive integer, got ${ctx.pullRequest}`);
    return [`pr-${ctx.pullRequest}-${ctx.sha}`];
  }
  return ctx.ref === `refs/heads/${ctx.mainBranch}` ? [ctx.sha, 'latest'] : [ctx.sha];
}

/** Parts of `registry/repo:tag` or `registry/repo@sha256:...`. */
export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseImageUri(uri: string): ImageRef {
  const at = uri.indexOf('@');
  if (at >= 0) return { repository: uri.slice(0, at), digest: uri.slice(at + 1) };
  const colon = uri.lastIndexOf(':');
  if (colon > uri.lastIndexOf('/')) return { repository: uri.slice(0, colon), tag: uri.slice(colon + 1) };
  return { repository: uri };
}

/** The ECR repository name inside an image URI (`<registry>/<name>`). */
export function repositoryName(uri: string): string {
  const repo = parseImageUri(uri).repository;
  return repo.slice(repo.indexOf('/') + 1);
}
