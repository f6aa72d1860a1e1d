import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRClient,
  ListImagesCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig } from './image-fixture';

/** What a rejected SDK call threw: its error code and message. */
const rejection = (call: Promise<unknown>) =>
  call.then(
    () => {
      throw new Error('expected the twin to reject the request');
    },
    (e: Error) => ({ name: e.name, message: e.message }),
  );

// The constraints of AWS's service models (docs/twin.md, "Fidelity: limits and timing"), answered
// with each service's own error code and wording, through the real SDK clients.
describe('model input constraints on the twin', () => {
  let twin: Twin;
  beforeAll(async () => {
    twin = await startTwin();
  });
  afterAll(() => twin.close());

  it('ECR: InvalidParameterException naming the member and its constraint', async () => {
    const ecr = new ECRClient(clientConfig(twin));
    expect(await rejection(ecr.send(new CreateRepositoryCommand({ repositoryName: 'a' })))).toEqual({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must have length greater than or equal to 2'",
    });
    expect(await rejection(ecr.send(new CreateRepositoryCommand({ repositoryName: 'Team/Agent' })))).toEqual({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''",
    });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/agent' }));
    expect(
      await rejection(ecr.send(new ListImagesCommand({ repositoryName: 'team/agent', maxResults: 1001 }))),
    ).toEqual({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'maxResults' failed to satisfy constraint: 'must have value less than or equal to 1000'",
    });
    expect(
      await rejection(ecr.send(new ListImagesCommand({ repositoryName: 'team/agent', registryId: '12345' }))),
    ).toMatchObject({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'registryId' failed to satisfy constraint: 'must satisfy regular expression '[0-9]{12}''",
    });
    expect(
      await rejection(
        ecr.send(
          new PutImageCommand({
            repositoryName: 'team/agent',
            imageManifest: '{}',
            imageTag: 't'.repeat(301),
          }),
        ),
      ),
    ).toMatchObject({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must have length less than or equal to 300'",
    });
    expect(
      await rejection(
        ecr.send(new DescribeImagesCommand({ repositoryName: 'team/agent', imageIds: [{ imageTag: '' }] })),
      ),
    ).toMatchObject({ message: expect.stringContaining("at 'imageIds.1.member.imageTag'") });
    // Within the constraints, the same calls pass.
    expect(
      (await ecr.send(new ListImagesCommand({ repositoryName: 'team/agent', maxResults: 1000 }))).imageIds,
    ).toEqual([]);
  });
});
