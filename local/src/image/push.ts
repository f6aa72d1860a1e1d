import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
  type CreateRepositoryCommandInput,
} from '@aws-sdk/client-ecr';
import { OCI_MANIFEST, packImage, type Blob, type PackOptions } from './format';

export interface PushOptions extends PackOptions {
  /** The agent bundle (one ESM file). */
  bundle: Buffer;
  repository: string;
  /** Tags to put on the image; none pushes it untagged. */
  tags?: string[];
  /** Client to push with; default: one configured from the environment (AWS_ENDPOINT_URL ...). */
  ecr?: ECRClient;
  /** Create the repository with these settings if it does not exist (otherwise a missing one is an error). */
  createRepository?: Omit<CreateRepositoryCommandInput, 'repositoryName'>;
}

export interface PushedImage {
  /** `<registry>/<repository>@sha256:…` — what runtimes should be deployed with. */
  imageUri: string;
  digest: string;
  repositoryUri: string;
  tags: string[];
}

const named = (e: unknown, name: string) => (e as Error)?.name === name;

/**
 * Pack a bundle into the local image format and push it with the real ECR API: layer upload
 * (InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload) for blobs the registry lacks,
 * then PutImage once per tag (an existing tag on the same manifest counts as done).
 */
export async function pushImage(options: PushOptions): Promise<PushedImage> {
  const ecr = options.ecr ?? new ECRClient({});
  const { repository } = options;
  let repositoryUri: string;
  try {
    const found = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] }));
    repositoryUri = found.repositories![0].repositoryUri!;
  } catch (e) {
    if (!named(e, 'RepositoryNotFoundException') || !options.createRepository) throw e;
    const created = await ecr.send(
      new CreateRepositoryCommand({ ...options.createRepository, repositoryName: repository }),
    );
    repositoryUri = created.repository!.repositoryUri!;
  }

  const image = packImage(options.bundle, options);
  const blobs = [image.config, image.layer];
  const check = await ecr.send(
    new BatchCheckLayerAvailabilityCommand({
      repositoryName: repository,
      layerDigests: blobs.map((b) => b.digest),
    }),
  );
  const available = new Set(
    check.layers?.filter((l) => l.layerAvailability === 'AVAILABLE').map((l) => l.layerDigest),
  );
  for (const blob of blobs.filter((b) => !available.has(b.digest))) await uploadBlob(ecr, repository, blob);

  const tags = options.tags ?? [];
  for (const imageTag of tags.length ? tags : [undefined]) {
    try {
      await ecr.send(
        new PutImageCommand({
          repositoryName: repository,
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
  return { imageUri: `${repositoryUri}@${image.digest}`, digest: image.digest, repositoryUri, tags };
}

async function uploadBlob(ecr: ECRClient, repositoryName: string, blob: Blob) {
  const { uploadId, partSize } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName }));
  const size = partSize ?? 10 * 1024 * 1024;
  for (let first = 0; first < blob.bytes.length; first += size) {
    const part = blob.bytes.subarray(first, first + size);
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName,
        uploadId,
        partFirstByte: first,
        partLastByte: first + part.length - 1,
        layerPartBlob: part,
      }),
    );
  }
  try {
    await ecr.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [blob.digest] }));
  } catch (e) {
    if (!named(e, 'LayerAlreadyExistsException')) throw e;
  }
}
