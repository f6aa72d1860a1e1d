import { z } from 'zod';
import { checkInput, list, pattern, range, text, type Violation } from '../core/constraints';
import { AwsError } from '../core/respond';

/**
 * Input constraints of the ECR operations this project calls, transcribed from AWS's service model
 * (aws/api-models-aws ecr/service/2015-09-21/ecr-2015-09-21.json). ECR answers a violation with
 * InvalidParameterException (every operation's modelled client error), naming the first member that
 * fails: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular
 * expression '…''".
 */

const registryId = pattern('^[0-9]{12}$');
const repositoryName = pattern('^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$')
  .min(2, 'Member must have length greater than or equal to 2')
  .max(256, 'Member must have length less than or equal to 256');
const uploadId = pattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$');
const imageTag = text(1, 300);
const imageIds = list(z.object({ imageTag: imageTag.optional() }).passthrough(), 1, 100);
const maxResults = range(1, 1000);
const inRepository = { registryId: registryId.optional(), repositoryName };
const withRepository = z.object(inRepository).passthrough();

export const ecrInputs: Record<string, z.ZodType> = {
  // registryIds is deprecated and ignored by ECR; the operation takes no other input.
  GetAuthorizationToken: z.object({}).passthrough(),
  CreateRepository: withRepository,
  PutImageTagMutability: withRepository,
  DescribeRepositories: z
    .object({
      registryId: registryId.optional(),
      repositoryNames: list(repositoryName, 1, 100).optional(),
      maxResults: maxResults.optional(),
    })
    .passthrough(),
  DeleteRepository: withRepository,
  BatchCheckLayerAvailability: z
    .object({ ...inRepository, layerDigests: list(text(0, 1000), 1, 100) })
    .passthrough(),
  InitiateLayerUpload: withRepository,
  UploadLayerPart: z
    .object({
      ...inRepository,
      uploadId,
      partFirstByte: range(0),
      partLastByte: range(0),
      layerPartBlob: z.string(),
    })
    .passthrough(),
  CompleteLayerUpload: z
    .object({
      ...inRepository,
      uploadId,
      layerDigests: list(pattern('^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$'), 1, 100),
    })
    .passthrough(),
  PutImage: z
    .object({ ...inRepository, imageManifest: text(1, 4194304), imageTag: imageTag.optional() })
    .passthrough(),
  BatchGetImage: z.object({ ...inRepository, imageIds }).passthrough(),
  DescribeImages: z
    .object({ ...inRepository, imageIds: imageIds.optional(), maxResults: maxResults.optional() })
    .passthrough(),
  ListImages: z.object({ ...inRepository, maxResults: maxResults.optional() }).passthrough(),
  BatchDeleteImage: z.object({ ...inRepository, imageIds }).passthrough(),
  SetRepositoryPolicy: z.object({ ...inRepository, policyText: text(0, 10240) }).passthrough(),
  GetRepositoryPolicy: withRepository,
  DeleteRepositoryPolicy: withRepository,
};

/** ECR words a constraint "must satisfy regular expression '…'", quoted, without "Member". */
const ecrConstraint = (constraint: string) =>
  constraint
    .replace(/^Member /, '')
    .replace(/^must satisfy regular expression pattern: (.*)$/s, "must satisfy regular expression '$1'");

const invalidParameter = ([first]: Violation[]) =>
  new AwsError(
    'InvalidParameterException',
    `Invalid parameter at '${first.path}' failed to satisfy constraint: '${ecrConstraint(first.constraint)}'`,
  );

/** The input if it satisfies the operation's model; else ECR's InvalidParameterException. */
export function validateEcrInput<T>(operation: string, input: T): T {
  checkInput(ecrInputs[operation], input, invalidParameter);
  return input;
}
