import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { jsonOperations } from '../core/json-body';
import { AwsError } from '../core/respond';
import { inAccount } from '../core/accounts';
import type { Router } from '../core/router';
import type { PolicyDocument } from '../iam/iam';
import { BlobStore } from '../image/blobs';
import {
  AGENT_BUNDLE_LAYER,
  BUNDLE_FILE_ANNOTATION,
  imageConfigSchema,
  parseManifest,
  sha256,
} from '../image/format';
import type { TwinContext } from '../twin';

const TARGET = 'AmazonEC2ContainerRegistry_V20150921';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MUTABILITY = ['MUTABLE', 'IMMUTABLE', 'MUTABLE_WITH_EXCLUSION', 'IMMUTABLE_WITH_EXCLUSION'] as const;
type Mutability = (typeof MUTABILITY)[number];
const REPOSITORY_NAME = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TOKEN_TTL_S = 12 * 3600;

interface ExclusionFilter {
  filterType: 'WILDCARD';
  filter: string;
}
interface ImageRecord {
  digest: string;
  manifest: string;
  mediaType: string;
  configMediaType: string;
  tags: string[];
  pushedAt: number;
  sizeInBytes: number;
}
interface RepositoryRecord {
  name: string;
  createdAt: number;
  imageTagMutability: Mutability;
  imageTagMutabilityExclusionFilters?: ExclusionFilter[];
  images: Record<string, ImageRecord>;
  /** The repository policy (JSON text as SetRepositoryPolicy took it). */
  policy?: string;
}
interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

/** The members of the ECR requests this module reads, as they arrive on the wire. */
interface EcrInput {
  registryId?: string;
  repositoryName?: string;
  repositoryNames?: string[];
  imageTagMutability?: Mutability;
  imageTagMutabilityExclusionFilters?: ExclusionFilter[];
  force?: boolean;
  layerDigests?: string[];
  uploadId?: string;
  partFirstByte?: number;
  partLastByte?: number;
  layerPartBlob?: string;
  imageManifest?: string;
  imageManifestMediaType?: string;
  imageTag?: string;
  imageDigest?: string;
  imageIds?: ImageId[];
  nextToken?: string;
  maxResults?: number;
  filter?: { tagStatus?: 'TAGGED' | 'UNTAGGED' | 'ANY' };
  policyText?: string;
}

/** An image resolved for the runtime data plane: where its bundle is and what platform it claims. */
export interface ResolvedImage {
  repositoryName: string;
  digest: string;
  architecture: string;
  os: string;
  bundleDigest: string;
  bundleFileName: string;
}

const now = () => Math.floor(Date.now() / 1000);
const wildcard = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** ECR (awsJson1_1) with the layer-upload operations, so the real ECR client pushes local images. */
export function registerEcr(router: Router, ctx: TwinContext) {
  const state = ctx.state.get('ecr', () => ({ repositories: {} as Record<string, RepositoryRecord> }));
  const blobs = new BlobStore(ctx.state.dir && path.join(ctx.state.dir, 'blobs'));
  const uploads = new Map<string, { repositoryName: string; parts: Buffer[]; received: number }>();
  /** The registry host of the account the request acts in. */
  const registryOf = (account = ctx.accountId) => `${account}.dkr.ecr.${ctx.region}.amazonaws.com`;
  const repositoryUri = (name: string) => `${registryOf()}/${name}`;

  // The repository policy is what lets another account's principals in (the authorizer reads it).
  ctx.resourcePolicies.register('arn:aws:ecr:', (arn) => {
    const text = state.repositories[arn.slice(arn.indexOf(':repository/') + ':repository/'.length)]?.policy;
    return text ? (JSON.parse(text) as PolicyDocument) : undefined;
  });

  const op = jsonOperations<EcrInput>(router, TARGET, CONTENT_TYPE);

  function repository(input: EcrInput): RepositoryRecord {
    const name = String(input.repositoryName ?? '');
    const repo = state.repositories[name];
    if (!repo || (input.registryId && input.registryId !== ctx.accountId)) {
      throw new AwsError(
        'RepositoryNotFoundException',
        `The repository with name '${name}' does not exist in the registry with id '${input.registryId ?? ctx.accountId}'`,
      );
    }
    return repo;
  }

  const describeRepository = (r: RepositoryRecord) => ({
    repositoryArn: `arn:aws:ecr:${ctx.region}:${ctx.accountId}:repository/${r.name}`,
    registryId: ctx.accountId,
    repositoryName: r.name,
    repositoryUri: repositoryUri(r.name),
    createdAt: r.createdAt,
    imageTagMutability: r.imageTagMutability,
    ...(r.imageTagMutabilityExclusionFilters && {
      imageTagMutabilityExclusionFilters: r.imageTagMutabilityExclusionFilters,
    }),
    imageScanningConfiguration: { scanOnPush: false },
    encryptionConfiguration: { encryptionType: 'AES256' },
  });

  function tagIsImmutable(repo: RepositoryRecord, tag: string): boolean {
    const excluded = (repo.imageTagMutabilityExclusionFilters ?? []).some((f) =>
      wildcard(f.filter).test(tag),
    );
    switch (repo.imageTagMutability) {
      case 'MUTABLE':
        return false;
      case 'IMMUTABLE':
        return true;
      case 'IMMUTABLE_WITH_EXCLUSION':
        return !excluded;
      case 'MUTABLE_WITH_EXCLUSION':
        return excluded;
    }
  }

  function findImage(repo: RepositoryRecord, id: ImageId): ImageRecord | undefined {
    if (id.imageDigest) {
      const image = repo.images[id.imageDigest];
      return image && (!id.imageTag || image.tags.includes(id.imageTag)) ? image : undefined;
    }
    return Object.values(repo.images).find((i) => id.imageTag && i.tags.includes(id.imageTag));
  }

  const mustFindImage = (repo: RepositoryRecord, id: ImageId): ImageRecord => {
    const image = findImage(repo, id);
    if (image) return image;
    throw new AwsError(
      'ImageNotFoundException',
      `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repo.name}' in the registry with id '${ctx.accountId}'`,
    );
  };

  function validateMutability(
    input: EcrInput,
  ): Pick<RepositoryRecord, 'imageTagMutability' | 'imageTagMutabilityExclusionFilters'> {
    const mutability = (input.imageTagMutability ?? 'MUTABLE') as Mutability;
    if (!MUTABILITY.includes(mutability)) {
      throw new AwsError(
        'InvalidParameterException',
        `Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [${MUTABILITY.join(', ')}]'`,
      );
    }
    const filters = input.imageTagMutabilityExclusionFilters as ExclusionFilter[] | undefined;
    const withExclusion = mutability.endsWith('_WITH_EXCLUSION');
    if (withExclusion && !filters?.length) {
      throw new AwsError(
        'InvalidParameterException',
        `imageTagMutabilityExclusionFilters must contain 1 to 5 filters when imageTagMutability is ${mutability}`,
      );
    }
    if (!withExclusion && filters?.length) {
      throw new AwsError(
        'InvalidParameterException',
        `imageTagMutabilityExclusionFilters can only be used with MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION, not ${mutability}`,
      );
    }
    for (const f of filters ?? []) {
      if (f.filterType !== 'WILDCARD' || !/^[A-Za-z0-9_.*-]{1,128}$/.test(f.filter ?? '')) {
        throw new AwsError(
          'InvalidParameterException',
          `Invalid exclusion filter ${JSON.stringify(f)}: filterType must be WILDCARD and filter 1-128 characters of letters, digits, '_', '.', '-' and '*'`,
        );
      }
    }
    return {
      imageTagMutability: mutability,
      ...(withExclusion && { imageTagMutabilityExclusionFilters: filters }),
    };
  }

  op('CreateRepository', (input) => {
    const name = String(input.repositoryName ?? '');
    if (!REPOSITORY_NAME.test(name)) {
      throw new AwsError(
        'InvalidParameterException',
        `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must be 2-256 lowercase letters, digits and separators (._-/) matching (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*', got '${name}'`,
      );
    }
    if (state.repositories[name]) {
      throw new AwsError(
        'RepositoryAlreadyExistsException',
        `The repository with name '${name}' already exists in the registry with id '${ctx.accountId}'`,
      );
    }
    const repo: RepositoryRecord = { name, createdAt: now(), ...validateMutability(input), images: {} };
    state.repositories[name] = repo;
    return { repository: describeRepository(repo) };
  });

  op('PutImageTagMutability', (input) => {
    const repo = repository(input);
    Object.assign(repo, { imageTagMutabilityExclusionFilters: undefined }, validateMutability(input));
    return {
      registryId: ctx.accountId,
      repositoryName: repo.name,
      imageTagMutability: repo.imageTagMutability,
      imageTagMutabilityExclusionFilters: repo.imageTagMutabilityExclusionFilters,
    };
  });

  op('DescribeRepositories', (input) => {
    const names = input.repositoryNames as string[] | undefined;
    const repos = names?.length
      ? names.map((n) => repository({ repositoryName: n, registryId: input.registryId }))
      : Object.values(state.repositories);
    return { repositories: repos.map(describeRepository) };
  });

  op('DeleteRepository', (input) => {
    const repo = repository(input);
    if (Object.keys(repo.images).length && !input.force) {
      throw new AwsError(
        'RepositoryNotEmptyException',
        `The repository with name '${repo.name}' in registry with id '${ctx.accountId}' cannot be deleted because it still contains images`,
      );
    }
    delete state.repositories[repo.name];
    return { repository: describeRepository(repo) };
  });

  op('GetAuthorizationToken', () => ({
    authorizationData: [
      {
        authorizationToken: Buffer.from(`AWS:${randomBytes(24).toString('base64url')}`).toString('base64'),
        expiresAt: now() + TOKEN_TTL_S,
        // The registry API lives on the twin itself, not at the repository URI's host.
        proxyEndpoint: ctx.url,
      },
    ],
  }));

  op('BatchCheckLayerAvailability', (input) => {
    repository(input);
    const digests = (input.layerDigests ?? []) as string[];
    const layers = [];
    const failures = [];
    for (const d of digests) {
      if (!DIGEST.test(d))
        failures.push({
          layerDigest: d,
          failureCode: 'InvalidLayerDigest',
          failureReason: 'Invalid layer digest',
        });
      else if (!blobs.has(d))
        failures.push({
          layerDigest: d,
          failureCode: 'MissingLayerDigest',
          failureReason: 'Could not find layer',
        });
      else layers.push({ layerDigest: d, layerAvailability: 'AVAILABLE', layerSize: blobs.get(d)!.length });
    }
    return { layers, failures };
  });

  op('InitiateLayerUpload', (input) => {
    const repo = repository(input);
    const uploadId = randomUUID();
    uploads.set(uploadId, { repositoryName: repo.name, parts: [], received: 0 });
    return { uploadId, partSize: 10 * 1024 * 1024 };
  });

  function upload(input: EcrInput) {
    const repo = repository(input);
    const u = uploads.get(String(input.uploadId));
    if (!u || u.repositoryName !== repo.name) {
      throw new AwsError(
        'UploadNotFoundException',
        `The upload with id '${input.uploadId}' was not found in repository '${repo.name}'; start one with InitiateLayerUpload`,
      );
    }
    return { repo, u };
  }

  op('UploadLayerPart', (input) => {
    const { repo, u } = upload(input);
    const part = Buffer.from(String(input.layerPartBlob ?? ''), 'base64');
    if (input.partFirstByte !== u.received || input.partLastByte !== u.received + part.length - 1) {
      throw new AwsError(
        'InvalidLayerPartException',
        `The layer part must start at byte ${u.received} and end at partFirstByte + size - 1; got ${input.partFirstByte}-${input.partLastByte} for ${part.length} bytes`,
      );
    }
    u.parts.push(part);
    u.received += part.length;
    return {
      registryId: ctx.accountId,
      repositoryName: repo.name,
      uploadId: input.uploadId,
      lastByteReceived: u.received - 1,
    };
  });

  op('CompleteLayerUpload', (input) => {
    const { repo, u } = upload(input);
    if (!u.parts.length)
      throw new AwsError(
        'EmptyUploadException',
        `The upload '${input.uploadId}' has no parts; send them with UploadLayerPart`,
      );
    const bytes = Buffer.concat(u.parts);
    const expected = (input.layerDigests as string[] | undefined)?.[0];
    const actual = sha256(bytes);
    uploads.delete(String(input.uploadId));
    if (expected !== actual)
      throw new AwsError(
        'InvalidLayerException',
        `The layer digest '${expected}' does not match the uploaded content (${actual})`,
      );
    if (blobs.has(actual))
      throw new AwsError(
        'LayerAlreadyExistsException',
        `The layer '${actual}' already exists in the repository with name '${repo.name}'`,
      );
    blobs.put(bytes, actual);
    return {
      registryId: ctx.accountId,
      repositoryName: repo.name,
      uploadId: input.uploadId,
      layerDigest: actual,
    };
  });

  op('PutImage', (input) => {
    const repo = repository(input);
    const text = String(input.imageManifest ?? '');
    const tag = input.imageTag as string | undefined;
    if (tag !== undefined && !TAG.test(tag)) {
      throw new AwsError(
        'InvalidParameterException',
        `Invalid parameter at 'imageTag' failed to satisfy constraint: 'must be 1-300 letters, digits, '_', '.', '-' and start with a letter, digit or '_'', got '${tag}'`,
      );
    }
    let manifest;
    try {
      manifest = parseManifest(text);
    } catch (e) {
      throw new AwsError(
        'InvalidParameterException',
        `Invalid parameter at 'imageManifest': ${(e as Error).message}`,
      );
    }
    const digest = sha256(text);
    if (input.imageDigest && input.imageDigest !== digest) {
      throw new AwsError(
        'ImageDigestDoesNotMatchException',
        `The imageDigest '${input.imageDigest}' does not match the digest of the manifest '${digest}'`,
      );
    }
    const missing = [manifest.config, ...manifest.layers].map((d) => d.digest).filter((d) => !blobs.has(d));
    if (missing.length) {
      throw new AwsError(
        'LayersNotFoundException',
        `Layers with digests '[${missing.join(', ')}]' required for pushing image into repository with name '${repo.name}' in the registry with id '${ctx.accountId}' do not exist; upload them first (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload)`,
      );
    }
    const existing = repo.images[digest];
    if (existing && (tag === undefined || existing.tags.includes(tag))) {
      throw new AwsError(
        'ImageAlreadyExistsException',
        `Image with digest '${digest}'${tag ? ` and tag '${tag}'` : ''} already exists in the repository with name '${repo.name}' in registry with id '${ctx.accountId}'`,
      );
    }
    if (tag !== undefined) {
      const holder = Object.values(repo.images).find((i) => i.tags.includes(tag));
      if (holder && tagIsImmutable(repo, tag)) {
        throw new AwsError(
          'ImageTagAlreadyExistsException',
          `The image tag '${tag}' already exists in the '${repo.name}' repository and cannot be overwritten because the tag is immutable.`,
        );
      }
      if (holder) holder.tags = holder.tags.filter((t) => t !== tag);
    }
    const image: ImageRecord = existing ?? {
      digest,
      manifest: text,
      mediaType:
        input.imageManifestMediaType ?? manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
      configMediaType: manifest.config.mediaType,
      tags: [],
      pushedAt: now(),
      sizeInBytes: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
    };
    if (tag !== undefined) image.tags.push(tag);
    repo.images[digest] = image;
    return {
      image: {
        registryId: ctx.accountId,
        repositoryName: repo.name,
        imageId: { imageDigest: digest, ...(tag !== undefined && { imageTag: tag }) },
        imageManifest: text,
        imageManifestMediaType: image.mediaType,
      },
    };
  });

  op('BatchGetImage', (input) => {
    const repo = repository(input);
    const images = [];
    const failures = [];
    for (const id of (input.imageIds ?? []) as ImageId[]) {
      const image = findImage(repo, id);
      if (!id.imageDigest && !id.imageTag)
        failures.push({
          imageId: id,
          failureCode: 'MissingDigestAndTag',
          failureReason: 'Invalid request parameters: both tag and digest cannot be null',
        });
      else if (!image)
        failures.push({
          imageId: id,
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        });
      else {
        images.push({
          registryId: ctx.accountId,
          repositoryName: repo.name,
          imageId: { imageDigest: image.digest, ...(id.imageTag && { imageTag: id.imageTag }) },
          imageManifest: image.manifest,
          imageManifestMediaType: image.mediaType,
        });
      }
    }
    return { images, failures };
  });

  const page = <T>(items: T[], input: EcrInput) => {
    const start = input.nextToken ? Number(Buffer.from(String(input.nextToken), 'base64url').toString()) : 0;
    const size = Math.min(Number(input.maxResults ?? 100), 1000);
    const next =
      start + size < items.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
    return { items: items.slice(start, start + size), nextToken: next };
  };

  const byTagStatus = (input: EcrInput) => (i: ImageRecord) => {
    const status = input.filter?.tagStatus ?? 'ANY';
    return status === 'ANY' || (status === 'TAGGED') === i.tags.length > 0;
  };

  op('DescribeImages', (input) => {
    const repo = repository(input);
    const ids = input.imageIds as ImageId[] | undefined;
    const selected = ids?.length
      ? ids.map((id) => mustFindImage(repo, id))
      : Object.values(repo.images).filter(byTagStatus(input));
    const { items, nextToken } = page(selected, input);
    return {
      imageDetails: items.map((i) => ({
        registryId: ctx.accountId,
        repositoryName: repo.name,
        imageDigest: i.digest,
        ...(i.tags.length && { imageTags: [...i.tags] }),
        imageSizeInBytes: i.sizeInBytes,
        imagePushedAt: i.pushedAt,
        imageManifestMediaType: i.mediaType,
        artifactMediaType: i.configMediaType,
        imageStatus: 'ACTIVE',
      })),
      ...(nextToken && { nextToken }),
    };
  });

  op('ListImages', (input) => {
    const repo = repository(input);
    const ids = Object.values(repo.images)
      .filter(byTagStatus(input))
      .flatMap((i) =>
        i.tags.length
          ? i.tags.map((t) => ({ imageDigest: i.digest, imageTag: t }))
          : [{ imageDigest: i.digest }],
      );
    const { items, nextToken } = page(ids, input);
    return { imageIds: items, ...(nextToken && { nextToken }) };
  });

  op('BatchDeleteImage', (input) => {
    const repo = repository(input);
    const imageIds = [];
    const failures = [];
    for (const id of (input.imageIds ?? []) as ImageId[]) {
      const image = findImage(repo, id);
      if (!image) {
        failures.push({
          imageId: id,
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        });
        continue;
      }
      if (id.imageTag && !id.imageDigest) {
        image.tags = image.tags.filter((t) => t !== id.imageTag);
        if (!image.tags.length) delete repo.images[image.digest];
        imageIds.push({ imageDigest: image.digest, imageTag: id.imageTag });
      } else {
        delete repo.images[image.digest];
        imageIds.push(
          ...(image.tags.length
            ? image.tags.map((t) => ({ imageDigest: image.digest, imageTag: t }))
            : [{ imageDigest: image.digest }]),
        );
      }
    }
    return { imageIds, failures };
  });

  /**
   * `<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` or `…/<repo>@sha256:<hex>` → the image it
   * names now, in that account's registry. With `pullerRoleArn` (a runtime's execution role) the pull
   * is authorised as AgentCore does it: the role needs ecr:GetAuthorizationToken, ecr:BatchGetImage and
   * ecr:GetDownloadUrlForLayer, and another account's repository must allow it in its policy. A role
   * the twin does not know is not checked (docs/twin.md).
   */
  function resolveImage(uri: string, pullerRoleArn?: string): ResolvedImage {
    const m = /^([^/]+)\/(.+?)(?::([A-Za-z0-9_][A-Za-z0-9_.-]*)|@(sha256:[a-f0-9]{64}))$/.exec(uri);
    if (!m)
      throw new Error(
        `'${uri}' is not an ECR image URI: use ${registryOf()}/<repository>:<tag> or ${registryOf()}/<repository>@sha256:<digest>`,
      );
    const [, host, name, tag, digest] = m;
    const account = /^(\d{12})\.dkr\.ecr\./.exec(host)?.[1];
    if (!account || host !== registryOf(account) || !ctx.iam.accounts.includes(account))
      throw new Error(`The image '${uri}' is not in a registry of this twin (${registryOf()})`);
    if (pullerRoleArn) authorizePull(uri, account, name, pullerRoleArn);
    return inAccount(account, () => resolveIn(uri, name, tag, digest));
  }

  function authorizePull(uri: string, account: string, name: string, roleArn: string) {
    // A role the twin does not know (tests and tools that provision no IAM) is not checked.
    if (!ctx.iam.role(roleArn)) return;
    const roleAccount = roleArn.split(':')[4];
    const identity = ctx.iam.sessionIdentity(roleArn, 'agentcore-image-pull');
    const resource = `arn:aws:ecr:${ctx.region}:${account}:repository/${name}`;
    const policy = ctx.resourcePolicies.get(resource, account);
    const denied = [
      ctx.iam.authorizeSync(identity, 'ecr:GetAuthorizationToken', '*', roleAccount),
      ctx.iam.authorizeSync(identity, 'ecr:BatchGetImage', resource, account, policy),
      ctx.iam.authorizeSync(identity, 'ecr:GetDownloadUrlForLayer', resource, account, policy),
    ].some((d) => !d.allowed);
    if (denied)
      throw new Error(
        `Access denied while validating ECR URI '${uri}'. The execution role requires permissions for ecr:GetAuthorizationToken, ecr:BatchGetImage, and ecr:GetDownloadUrlForLayer operations.`,
      );
  }

  function resolveIn(
    uri: string,
    name: string,
    tag: string | undefined,
    digest: string | undefined,
  ): ResolvedImage {
    const repo = state.repositories[name];
    const image = repo && findImage(repo, digest ? { imageDigest: digest } : { imageTag: tag });
    if (!image) throw new Error(`The specified image identifier '${uri}' does not exist in the repository`);
    const manifest = parseManifest(image.manifest);
    const config = imageConfigSchema.parse(JSON.parse(blobs.get(manifest.config.digest)!.toString('utf8')));
    const layer = manifest.layers.find((l) => l.mediaType === AGENT_BUNDLE_LAYER);
    if (!layer)
      throw new Error(
        `The image '${uri}' has no agent bundle layer (${AGENT_BUNDLE_LAYER}); push it with npm run image:local`,
      );
    return {
      repositoryName: name,
      digest: image.digest,
      architecture: config.architecture,
      os: config.os,
      bundleDigest: layer.digest,
      bundleFileName: layer.annotations?.[BUNDLE_FILE_ANNOTATION] ?? 'server.mjs',
    };
  }

  // SetRepositoryPolicy / GetRepositoryPolicy / DeleteRepositoryPolicy: what provisioning writes.
  op('SetRepositoryPolicy', (input) => {
    const repo = repository(input);
    try {
      JSON.parse(input.policyText ?? '');
    } catch {
      throw new AwsError(
        'InvalidParameterException',
        "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
      );
    }
    repo.policy = input.policyText;
    ctx.iam.changed();
    return { registryId: ctx.accountId, repositoryName: repo.name, policyText: repo.policy };
  });
  op('GetRepositoryPolicy', (input) => {
    const repo = repository(input);
    if (!repo.policy)
      throw new AwsError(
        'RepositoryPolicyNotFoundException',
        `Repository policy does not exist for the repository with name '${repo.name}' in the registry with id '${ctx.accountId}'`,
      );
    return { registryId: ctx.accountId, repositoryName: repo.name, policyText: repo.policy };
  });
  op('DeleteRepositoryPolicy', (input) => {
    const repo = repository(input);
    const policyText = repo.policy;
    delete repo.policy;
    ctx.iam.changed();
    return { registryId: ctx.accountId, repositoryName: repo.name, policyText };
  });

  return {
    /** The registry host in repository URIs (of the account the caller acts in). */
    get registry() {
      return registryOf();
    },
    repositoryUri,
    resolveImage,
    /** The bytes of a stored blob (a layer or config), by digest. */
    blob: (digest: string) => blobs.get(digest),
  };
}

export type EcrApi = ReturnType<typeof registerEcr>;
