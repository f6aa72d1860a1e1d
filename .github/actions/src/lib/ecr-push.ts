import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { OCI_MANIFEST, type Blob, type PackedImage } from './image-format';

/** An ECR repository named and addressed without asking ECR (no ecr:DescribeRepositories). */
export interface Repository {
  /** The registry's account: every ECR call passes it as `registryId`. */
  registryId: string;
  repositoryName: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>` */
  repositoryUri: string;
}

/** The repository `name` in `account`'s registry in `region`. */
export function ecrRepository(account: string, region: string, name: string): Repository {
  return {
    registryId: account,
    repositoryName: name,
    repositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${name}`,
  };
}

export interface PushedImage {
  /** `<repositoryUri>@sha256:…`: what runtimes are deployed with. */
  imageUri: string;
  digest: string;
  repositoryUri: string;
  tags: string[];
}

const named = (e: unknown, name: string) => (e as Error)?.name === name;

/**
 * Push a packed image with the ECR API (what `docker push` does underneath): the layer upload
 * (InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload) for blobs the registry lacks, then
 * PutImage once per tag; a tag already on this manifest counts as done.
 */
export async function pushPackedImage(
  ecr: ECRClient,
  repository: Repository,
  image: PackedImage,
  tags: string[],
): Promise<PushedImage> {
  const { registryId, repositoryName } = repository;
  const blobs = [image.config, image.layer];
  const check = await ecr.send(
    new BatchCheckLayerAvailabilityCommand({
      registryId,
      repositoryName,
      layerDigests: blobs.map((b) => b.digest),
    }),
  );
  const available = new Set(
    check.layers?.filter((l) => l.layerAvailability === 'AVAILABLE').map((l) => l.layerDigest),
  );
  for (const blob of blobs.filter((b) => !available.has(b.digest))) await uploadBlob(ecr, repository, blob);

  for (const imageTag of tags.length ? tags : [undefined]) {
    try {
      await ecr.send(
        new PutImageCommand({
          registryId,
          repositoryName,
          imageManifest: image.manifest,
          imageManifestMediaType: OCI_MANIFEST,
          imageTag,
          imageDigest: image.digest,
        }),
      );
    } catch (e) {
      if (!named(e, 'ImageAlreadyExistsException')) throw e;
    }
  }
  return {
    imageUri: `${repository.repositoryUri}@${image.digest}`,
    digest: image.digest,
    repositoryUri: repository.repositoryUri,
    tags,
  };
}

async function uploadBlob(ecr: ECRClient, { registryId, repositoryName }: Repository, blob: Blob) {
  const { uploadId, partSize } = await ecr.send(
    new InitiateLayerUploadCommand({ registryId, repositoryName }),
  );
  const size = partSize ?? 10 * 1024 * 1024;
  for (let first = 0; first < blob.bytes.length; first += size) {
    const part = blob.bytes.subarray(first, first + size);
    await ecr.send(
      new UploadLayerPartCommand({
        registryId,
        repositoryName,
        uploadId,
        partFirstByte: first,
        partLastByte: first + part.length - 1,
        layerPartBlob: part,
      }),
    );
  }
  try {
    await ecr.send(
      new CompleteLayerUploadCommand({ registryId, repositoryName, uploadId, layerDigests: [blob.digest] }),
    );
  } catch (e) {
    if (!named(e, 'LayerAlreadyExistsException')) throw e;
  }
}
