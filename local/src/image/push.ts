import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  type CreateRepositoryCommandInput,
} from '@aws-sdk/client-ecr';
import { pushPackedImage, type PushedImage } from '../../../.github/actions/src/lib/ecr-push';
import { packImage, type PackOptions } from '../../../.github/actions/src/lib/image-format';

export type { PushedImage };

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

/**
 * Setting up the twin: find (or create) the repository, then pack the bundle into the local image
 * format and push it with the pipeline's own code (what the build-image action's local builder does).
 */
export async function pushImage(options: PushOptions): Promise<PushedImage> {
  const ecr = options.ecr ?? new ECRClient({});
  const repositoryName = options.repository;
  let found;
  try {
    found = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] })))
      .repositories![0];
  } catch (e) {
    if ((e as Error)?.name !== 'RepositoryNotFoundException' || !options.createRepository) throw e;
    found = (await ecr.send(new CreateRepositoryCommand({ ...options.createRepository, repositoryName })))
      .repository!;
  }
  return pushPackedImage(
    ecr,
    { registryId: found.registryId!, repositoryName, repositoryUri: found.repositoryUri! },
    packImage(options.bundle, options),
    options.tags ?? [],
  );
}
