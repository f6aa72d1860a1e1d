import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadEnvironment, sharedResourceNames } from '../../../environments';
import { buildImageInputs, imageRepository } from '../src/steps/build-image';
import { reportState } from '../src/steps/preview';
import type { SmokeReport } from '../src/steps/smoke-test';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const sha = 'a'.repeat(40);

describe('build-image inputs', () => {
  it('falls back to exactly the defaults action.yml declares (runs outside a runner build the same)', () => {
    const action = parse(
      fs.readFileSync(path.join(root, '.github/actions/build-image/action.yml'), 'utf8'),
    ) as {
      inputs: Record<string, { default?: string }>;
    };
    const withDefaults = (name: string) => action.inputs[name]?.default ?? '';
    expect(buildImageInputs(() => '', root)).toEqual(buildImageInputs(withDefaults, root));
    expect(buildImageInputs(() => '', root).context).toBe(root);
  });

  it('names the repository from the registry account: release builds to the release repository, PRs to the preview one', () => {
    const dev = loadEnvironment('dev');
    const names = sharedResourceNames(dev.app.app);
    const host = `${dev.account}.dkr.ecr.${dev.region}.amazonaws.com`;
    expect(imageRepository(dev, undefined)).toEqual({
      registryId: dev.account,
      repositoryName: names.repository,
      repositoryUri: `${host}/${names.repository}`,
    });
    expect(imageRepository(dev, 12).repositoryUri).toBe(`${host}/${names.previewRepository}`);
  });
});

describe('preview report', () => {
  const base = {
    runtimeName: 'app_pr_3',
    runtimeArn: '',
    version: '',
    imageUri: '',
    smokeReport: '',
    failed: true,
    dataPlaneUrl: 'https://data',
    sha,
  };
  const smoke = { passed: false, gates: [], latency: {} } as unknown as SmokeReport;

  it('says what failed when the runtime was never created, whatever else it got', () => {
    for (const r of [base, { ...base, failed: false }, { ...base, smokeReport: JSON.stringify(smoke) }])
      expect(reportState(r)).toMatchObject({
        kind: 'failed',
        error: expect.stringMatching(/was not created/),
      });
  });

  it('shows the gate results of a runtime that runs, and a failed job without results as failed', () => {
    const created = {
      ...base,
      runtimeArn: 'arn:aws:bedrock-agentcore:us-east-1:1:runtime/app_pr_3-abcdefghij',
      version: '2',
    };
    expect(reportState({ ...created, smokeReport: JSON.stringify(smoke) })).toMatchObject({
      kind: 'deployed',
      smoke,
      deploy: { runtimeId: 'app_pr_3-abcdefghij', version: '2' },
    });
    expect(reportState(created)).toMatchObject({
      kind: 'failed',
      error: expect.stringMatching(/before its gates ran/),
    });
    expect(reportState({ ...created, smokeReport: '{not json' })).toMatchObject({ kind: 'failed' });
  });
});
