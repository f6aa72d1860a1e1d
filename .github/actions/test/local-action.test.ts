/**
 * Issue 15, GitHub's tooling: the actions run under GitHub's own local runner, `@github/local-action`
 * (the real CLI, as a child process), against the twin, signed as the role each workflow job assumes
 * with the token `npm run twin:token` prints for that job — as docs/pipeline.md and .env.example tell
 * a user to do.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv, promisify } from 'node:util';
import { ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironment, sharedResourceNames } from '../../../environments';
import { startTwin, type Twin } from '../../../local/src/twin';
import { runLocalAction } from '../../../scripts/local-action';
import { pushLocalImage } from '../../../scripts/push-local-image';
import {
  provision,
  provisionIdentities,
  provisionSeeded,
  twinOptions,
  type Provisioned,
} from './helpers/provision';
import { getEndpoint } from '../src/lib/runtime';
import { BedrockAgentCoreControlClient } from '@aws-sdk/client-bedrock-agentcore-control';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dev = loadEnvironment('dev');
const prod = loadEnvironment('prod');
const sha = 'deed'.padEnd(40, '5');
let twin: Twin;
let p: Provisioned;
let work: string;
let candidate = '';
const admin = () => ({
  region: dev.region,
  endpoint: twin.url,
  maxAttempts: 1,
  credentials: twin.credentials(),
});
const live = async () =>
  (await getEndpoint(new BedrockAgentCoreControlClient(admin()), p.runtimeId, dev.runtime.liveEndpoint))
    .liveVersion;

/** `npm run -s twin:token -- <args> > file`, as the docs say: the token of one workflow job. */
async function tokenFile(name: string, args: string[]): Promise<string> {
  const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [tsx, 'local/src/token-cli.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, AWS_ENDPOINT_URL: twin.url },
  });
  const file = path.join(work, `${name}.jwt`);
  fs.writeFileSync(file, stdout.trim());
  return file;
}

/**
 * .env.example with the values filled in and `inputs` as INPUT_<NAME> lines (hyphens kept, as the
 * runner and local-action spell them): one dotenv file per run, as a user would edit it.
 */
function dotenv(name: string, values: Record<string, string>, inputs: Record<string, string>): string {
  const example = parseEnv(fs.readFileSync(path.join(root, '.env.example'), 'utf8'));
  const merged = { ...example, ...values } as Record<string, string>;
  for (const k of Object.keys(merged)) if (k.startsWith('INPUT_')) delete merged[k];
  for (const [k, v] of Object.entries(inputs)) merged[`INPUT_${k.toUpperCase()}`] = v;
  const file = path.join(work, `${name}.env`);
  fs.writeFileSync(
    file,
    Object.entries(merged)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n'),
  );
  return file;
}

/** Run a step under local-action as the job whose token is in `token`; fresh summary file per run. */
async function localAction(step: string, token: string, inputs: Record<string, string>) {
  const summary = path.join(work, `${step}-${Date.now()}.md`);
  const file = dotenv(
    step,
    {
      AWS_ENDPOINT_URL: twin.url,
      AWS_WEB_IDENTITY_TOKEN_FILE: token,
      GITHUB_WORKSPACE: root,
      GITHUB_STEP_SUMMARY: summary,
    },
    inputs,
  );
  // Nothing from this process's AWS variables: the dotenv file alone says where and who.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('INPUT_')),
  );
  const r = await runLocalAction(step, file, env);
  return { ...r, summary: fs.existsSync(summary) ? fs.readFileSync(summary, 'utf8') : '' };
}

beforeAll(async () => {
  twin = await startTwin(twinOptions([dev, prod]));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'local-action-'));
  const seeded = await provisionSeeded(twin, dev, work, new ECRClient(admin()));
  p = seeded.provisioned;
  // The roles, trust policies and permissions the CDK app synthesizes (for both accounts, so every
  // statement resolves): IAM is enforced.
  await provisionIdentities(twin, [p, await provision(twin, prod, seeded.seedImage)]);
  const file = path.join(work, 'candidate.mjs');
  fs.writeFileSync(file, '// candidate\n');
  candidate = (
    await pushLocalImage({
      repository: sharedResourceNames(dev.app.app).repository,
      tags: [sha],
      bundlePath: file,
      ecr: new ECRClient(admin()),
    })
  ).imageUri;
}, 180_000);
afterAll(async () => {
  await twin?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the actions under @github/local-action, against the twin (issue 15)', () => {
  it('.env.example points at the twin and at the dev deploy role from environments/', () => {
    const example = parseEnv(fs.readFileSync(path.join(root, '.env.example'), 'utf8'));
    expect(example).toMatchObject({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_REGION: dev.region,
      AWS_ROLE_ARN: `arn:aws:iam::${dev.account}:role/${dev.names.deployRole}`,
      'INPUT_ROLE-TO-ASSUME': `arn:aws:iam::${dev.account}:role/${dev.names.deployRole}`,
      INPUT_ENVIRONMENT: 'dev',
    });
    expect(example.AWS_WEB_IDENTITY_TOKEN_FILE).toBe(example['INPUT_WEB-IDENTITY-TOKEN-FILE']);
  });

  it('deploy-runtime, promote and rollback: outputs, job summary, and the twin moves', async () => {
    // The release job of release.yml (GitHub environment dev), then rollback.yml's job.
    const release = await tokenFile('release', ['--event', 'push', '--environment', 'dev']);
    const dispatch = await tokenFile('rollback', ['--event', 'workflow_dispatch', '--environment', 'dev']);

    const credentials = await localAction('aws-credentials', release, {
      'role-to-assume': `arn:aws:iam::${dev.account}:role/${dev.names.deployRole}`,
      environment: 'dev',
      'web-identity-token-file': release,
    });
    expect(credentials.errors, credentials.stdout).toEqual([]);
    expect(credentials.outputs['aws-account-id']).toBe(dev.account);
    expect(credentials.outputs['authenticated-arn']).toContain(`assumed-role/${dev.names.deployRole}/`);

    const deploy = await localAction('deploy-runtime', release, {
      environment: 'dev',
      'image-uri': candidate,
    });
    expect(deploy.errors, deploy.stdout).toEqual([]);
    expect(deploy.outputs).toMatchObject({
      'runtime-id': p.runtimeId,
      version: '2',
      'previous-version': '1',
      action: 'updated',
    });
    expect(deploy.summary).toContain('<h3>Deploy dev</h3>');
    expect(deploy.summary).toContain(candidate);
    expect(await live()).toBe('1');

    const promote = await localAction('promote', release, { environment: 'dev', version: '2', sha });
    expect(promote.errors, promote.stdout).toEqual([]);
    expect(promote.outputs).toMatchObject({
      version: '2',
      'previous-live-version': '1',
      'image-uri': candidate,
      changed: 'true',
    });
    expect(JSON.parse(promote.outputs['alarm-baseline'])).toBeTypeOf('object');
    expect(promote.summary).toContain('<h3>Promote dev</h3>');
    expect(promote.summary).toContain(`commit ${sha}`);
    expect(await live()).toBe('2');

    const rollback = await localAction('rollback', dispatch, {
      environment: 'dev',
      target: 'previous',
      reason: 'local-action test',
    });
    expect(rollback.errors, rollback.stdout).toEqual([]);
    expect(rollback.outputs).toMatchObject({
      version: '1',
      'previous-live-version': '2',
      redeployed: 'false',
    });
    expect(rollback.summary).toContain('<h3>Rollback dev</h3>');
    expect(rollback.summary).toContain('local-action test');
    expect(await live()).toBe('1');
  }, 600_000);

  it('a failing action fails: local-action exits 0, so its ::error:: line and missing outputs tell', async () => {
    const release = await tokenFile('release-fail', ['--event', 'push', '--environment', 'dev']);
    // A rollback to a commit no promotion recorded: the action must fail with its message.
    const r = await localAction('rollback', release, {
      environment: 'dev',
      target: 'f'.repeat(40),
      reason: 'no such release',
    });
    expect(r.code).toBe(0);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/f{40}/);
    expect(r.outputs).toEqual({});
    expect(r.summary).toBe('');
    expect(await live()).toBe('1');
  }, 300_000);
});
