import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  ListImagesCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packImage, sha256 } from '../../.github/actions/src/lib/image-format';
import { startTwin, type Twin } from '../src/twin';
import { ecrClient, pushFixture } from './image-fixture';

describe('ECR on the twin', () => {
  let twin: Twin;
  let ecr: ReturnType<typeof ecrClient>;
  beforeAll(async () => {
    twin = await startTwin();
    ecr = ecrClient(twin);
  });
  afterAll(() => twin.close());

  it('creates repositories with tag-mutability exclusions and rejects duplicates and bad names', async () => {
    const { repository } = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'team/agent',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [
          { filterType: 'WILDCARD', filter: 'latest' },
          { filterType: 'WILDCARD', filter: 'pr-*' },
        ],
      }),
    );
    expect(repository?.repositoryUri).toBe('123456789012.dkr.ecr.us-east-1.amazonaws.com/team/agent');
    expect(repository?.createdAt).toBeInstanceOf(Date);
    const dup = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/agent' })).catch((e) => e);
    expect(dup.name).toBe('RepositoryAlreadyExistsException');
    const bad = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'Bad_Name' })).catch((e) => e);
    expect(bad.name).toBe('InvalidParameterException');
    const noFilters = await ecr
      .send(
        new CreateRepositoryCommand({ repositoryName: 'x1', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' }),
      )
      .catch((e) => e);
    expect(noFilters.message).toMatch(/imageTagMutabilityExclusionFilters/);
    const missing = await ecr
      .send(new DescribeRepositoriesCommand({ repositoryNames: ['nope'] }))
      .catch((e) => e);
    expect(missing.name).toBe('RepositoryNotFoundException');
    const all = await ecr.send(new DescribeRepositoriesCommand({}));
    expect(all.repositories?.[0].imageTagMutabilityExclusionFilters).toHaveLength(2);
  });

  it('pushes through layer upload + PutImage; the digest is the manifest sha256', async () => {
    const pushed = await pushFixture(twin, {
      repository: 'team/agent',
      tags: ['abc123', 'latest'],
      marker: 'one',
    });
    expect(pushed.imageUri).toBe(`123456789012.dkr.ecr.us-east-1.amazonaws.com/team/agent@${pushed.digest}`);
    const got = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'team/agent',
        imageIds: [{ imageTag: 'abc123' }, { imageTag: 'gone' }],
      }),
    );
    expect(sha256(got.images![0].imageManifest!)).toBe(pushed.digest);
    expect(got.images![0].imageManifestMediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(got.failures).toEqual([
      {
        imageId: { imageTag: 'gone' },
        failureCode: 'ImageNotFound',
        failureReason: 'Requested image not found',
      },
    ]);
    const details = await ecr.send(new DescribeImagesCommand({ repositoryName: 'team/agent' }));
    expect(details.imageDetails?.[0]).toMatchObject({
      imageDigest: pushed.digest,
      imageTags: ['abc123', 'latest'],
    });
    expect(details.imageDetails?.[0].imagePushedAt).toBeInstanceOf(Date);
  });

  it('retags by manifest keeping the digest; same tag again is ImageAlreadyExists; immutable tags cannot move', async () => {
    const first = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'team/agent', imageIds: [{ imageTag: 'abc123' }] }),
    );
    const manifest = first.images![0].imageManifest!;
    const retag = await ecr.send(
      new PutImageCommand({ repositoryName: 'team/agent', imageManifest: manifest, imageTag: 'prod' }),
    );
    expect(retag.image?.imageId?.imageDigest).toBe(first.images![0].imageId?.imageDigest);
    const again = await ecr
      .send(new PutImageCommand({ repositoryName: 'team/agent', imageManifest: manifest, imageTag: 'prod' }))
      .catch((e) => e);
    expect(again.name).toBe('ImageAlreadyExistsException');

    const second = await pushFixture(twin, {
      repository: 'team/agent',
      tags: ['def456', 'latest', 'pr-7'],
      marker: 'two',
    });
    const moved = await ecr.send(new ListImagesCommand({ repositoryName: 'team/agent' }));
    expect(moved.imageIds).toContainEqual({ imageDigest: second.digest, imageTag: 'latest' });
    const immutable = await ecr
      .send(
        new PutImageCommand({ repositoryName: 'team/agent', imageManifest: manifest, imageTag: 'def456' }),
      )
      .catch((e) => e);
    expect(immutable.name).toBe('ImageTagAlreadyExistsException');
    const wrongDigest = await ecr
      .send(
        new PutImageCommand({
          repositoryName: 'team/agent',
          imageManifest: manifest,
          imageTag: 'x',
          imageDigest: `sha256:${'0'.repeat(64)}`,
        }),
      )
      .catch((e) => e);
    expect(wrongDigest.name).toBe('ImageDigestDoesNotMatchException');
  });

  it('refuses a manifest whose blobs were never uploaded', async () => {
    const image = packImage(Buffer.from('never uploaded'));
    const err = await ecr
      .send(
        new PutImageCommand({
          repositoryName: 'team/agent',
          imageManifest: image.manifest,
          imageTag: 'orphan',
        }),
      )
      .catch((e) => e);
    expect(err.name).toBe('LayersNotFoundException');
  });

  it('deletes by tag (untag) and by digest, reporting failures', async () => {
    const before = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'team/agent', imageIds: [{ imageTag: 'pr-7' }] }),
    );
    const digest = before.imageDetails![0].imageDigest!;
    const untag = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: 'team/agent',
        imageIds: [{ imageTag: 'pr-7' }, { imageTag: 'nope' }],
      }),
    );
    expect(untag.imageIds).toEqual([{ imageDigest: digest, imageTag: 'pr-7' }]);
    expect(untag.failures?.[0].failureCode).toBe('ImageNotFound');
    const still = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'team/agent', imageIds: [{ imageDigest: digest }] }),
    );
    expect(still.imageDetails?.[0].imageTags).toEqual(['def456', 'latest']);
    await ecr.send(
      new BatchDeleteImageCommand({ repositoryName: 'team/agent', imageIds: [{ imageDigest: digest }] }),
    );
    const gone = await ecr
      .send(new DescribeImagesCommand({ repositoryName: 'team/agent', imageIds: [{ imageDigest: digest }] }))
      .catch((e) => e);
    expect(gone.name).toBe('ImageNotFoundException');
  });

  it('hands out an authorization token for the registry on the twin', async () => {
    const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
    expect(Buffer.from(authorizationData![0].authorizationToken!, 'base64').toString()).toMatch(/^AWS:.+/);
    expect(authorizationData![0].proxyEndpoint).toBe(twin.url);
    expect(authorizationData![0].expiresAt!.getTime()).toBeGreaterThan(Date.now());
  });
});
