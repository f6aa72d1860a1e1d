import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig } from './image-fixture';

describe('SSM Parameter Store on the twin', () => {
  let twin: Twin;
  let ssm: SSMClient;
  const name = '/agentcore-gitops/dev/image';
  beforeAll(async () => {
    twin = await startTwin();
    ssm = new SSMClient(clientConfig(twin));
  });
  afterAll(() => twin.close());

  it('puts, refuses to overwrite without Overwrite, overwrites with it, and versions', async () => {
    expect(
      (await ssm.send(new PutParameterCommand({ Name: name, Value: 'repo@sha256:aaa', Type: 'String' })))
        .Version,
    ).toBe(1);
    const dup = await ssm
      .send(new PutParameterCommand({ Name: name, Value: 'repo@sha256:bbb', Type: 'String' }))
      .catch((e) => e);
    expect(dup.name).toBe('ParameterAlreadyExists');
    expect(
      (await ssm.send(new PutParameterCommand({ Name: name, Value: 'repo@sha256:bbb', Overwrite: true })))
        .Version,
    ).toBe(2);
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name }));
    expect(Parameter).toMatchObject({
      Name: name,
      Value: 'repo@sha256:bbb',
      Version: 2,
      Type: 'String',
      ARN: 'arn:aws:ssm:us-east-1:123456789012:parameter/agentcore-gitops/dev/image',
    });
    expect(Parameter?.LastModifiedDate).toBeInstanceOf(Date);
    expect(twin.ssm.get(name)).toBe('repo@sha256:bbb');
  });

  it('reports missing parameters', async () => {
    const err = await ssm.send(new GetParameterCommand({ Name: '/nope' })).catch((e) => e);
    expect(err.name).toBe('ParameterNotFound');
    const many = await ssm.send(new GetParametersCommand({ Names: [name, '/nope'] }));
    expect(many.Parameters?.map((p) => p.Name)).toEqual([name]);
    expect(many.InvalidParameters).toEqual(['/nope']);
    const bad = await ssm.send(new PutParameterCommand({ Name: 'has space', Value: 'x' })).catch((e) => e);
    expect(bad.name).toBe('ValidationException');
  });

  it('keeps the value history, oldest first, paginated', async () => {
    const history = '/agentcore-gitops/prod/image';
    for (const v of ['a', 'b', 'c']) {
      await ssm.send(new PutParameterCommand({ Name: history, Value: `repo@sha256:${v}`, Overwrite: true }));
    }
    const first = await ssm.send(new GetParameterHistoryCommand({ Name: history, MaxResults: 2 }));
    expect(first.Parameters?.map((p) => [p.Version, p.Value])).toEqual([
      [1, 'repo@sha256:a'],
      [2, 'repo@sha256:b'],
    ]);
    const rest = await ssm.send(
      new GetParameterHistoryCommand({ Name: history, MaxResults: 2, NextToken: first.NextToken }),
    );
    expect(rest.Parameters?.map((p) => p.Value)).toEqual(['repo@sha256:c']);
    expect(rest.NextToken).toBeUndefined();
    const missing = await ssm.send(new GetParameterHistoryCommand({ Name: '/nope' })).catch((e) => e);
    expect(missing.name).toBe('ParameterNotFound');
  });
});
