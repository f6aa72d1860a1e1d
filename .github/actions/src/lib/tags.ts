import { BatchGetImageCommand, PutImageCommand, type ECRClient } from '@aws-sdk/client-ecr';

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

/**
 * The registry (AWS account) an ECR image URI names. Every ECR call passes it as `registryId`:
 * without it ECR uses the caller's own account, which is wrong when prod pulls from dev's registry.
 */
export function registryId(uri: string): string {
  const account = /^(\d{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\//.exec(uri)?.[1];
  if (!account) {
    throw new Error(
      `image ${uri} is not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>); the account is needed as registryId`,
    );
  }
  return account;
}

/** Every manifest type ECR may hold; asking for all of them keeps ECR from converting (and re-digesting) it. */
const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
];

/**
 * Put `tag` on an image without pulling it (ECR retag: BatchGetImage, then PutImage with the manifest
 * verbatim, so the digest stays). A tag already on that manifest counts as done. Returns the digest.
 */
export async function retagImage(ecr: ECRClient, imageUri: string, tag: string): Promise<string> {
  const ref = parseImageUri(imageUri);
  const registry = registryId(imageUri);
  const repository = repositoryName(imageUri);
  const imageId = ref.digest ? { imageDigest: ref.digest } : { imageTag: ref.tag ?? 'latest' };
  const got = await ecr.send(
    new BatchGetImageCommand({
      registryId: registry,
      repositoryName: repository,
      imageIds: [imageId],
      acceptedMediaTypes: MANIFEST_TYPES,
    }),
  );
  const image = got.images?.[0];
  if (!image?.imageManifest) {
    throw new Error(
      `ECR has no image ${imageUri} to tag ${tag}: ${got.failures?.[0]?.failureReason ?? 'not found'}`,
    );
  }
  try {
    await ecr.send(
      new PutImageCommand({
        registryId: registry,
        repositoryName: repository,
        imageTag: tag,
        imageManifest: image.imageManifest,
        imageManifestMediaType: image.imageManifestMediaType,
      }),
    );
  } catch (e) {
    if ((e as Error).name !== 'ImageAlreadyExistsException') throw e;
  }
  return image.imageId!.imageDigest!;
}
