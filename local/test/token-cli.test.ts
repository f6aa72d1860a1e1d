import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApp } from '../../environments';
import { tokenRequest } from '../src/token-cli';
import { startTwin, type Twin } from '../src/twin';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../src/token-cli.ts');
const repo = loadApp().github.repository;

/** `npm run twin:token` as a child process, finding the twin through the environment only. */
async function twinToken(args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'AWS_ENDPOINT_URL' && k !== 'TWIN_PORT'),
  );
  return run(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...clean, ...env },
    cwd: path.resolve(__dirname, '../..'),
  }).catch((e: { code: number; stdout: string; stderr: string }) => e);
}

describe('npm run twin:token', () => {
  let twin: Twin;
  const verify = async (token: string) =>
    (
      await jwtVerify(token, createRemoteJWKSet(new URL(`${twin.url}/github/.well-known/jwks`)), {
        issuer: `${twin.url}/github`,
        audience: 'sts.amazonaws.com',
      })
    ).payload;

  beforeAll(async () => {
    twin = await startTwin();
  });
  afterAll(() => twin.close());

  it('prints a token signed by the twin for a pull_request job (found through TWIN_PORT)', async () => {
    const out = await twinToken(['--event', 'pull_request', '--pull-request', '7'], {
      TWIN_PORT: String(twin.port),
    });
    const claims = await verify(String(out.stdout).trim());
    expect(claims).toMatchObject({
      sub: `repo:${repo}:pull_request`,
      event_name: 'pull_request',
      ref: 'refs/pull/7/merge',
      base_ref: 'main',
      repository: repo,
      workflow: 'preview',
      job_workflow_ref: `${repo}/.github/workflows/preview.yml@refs/pull/7/merge`,
    });
    expect(claims.environment).toBeUndefined();
  });

  it('gives an environment job the environment subject (found through AWS_ENDPOINT_URL)', async () => {
    const out = await twinToken(['--event', 'push', '--environment', 'dev'], { AWS_ENDPOINT_URL: twin.url });
    const claims = await verify(String(out.stdout).trim());
    expect(claims).toMatchObject({
      sub: `repo:${repo}:environment:dev`,
      environment: 'dev',
      event_name: 'push',
      ref: 'refs/heads/main',
      ref_type: 'branch',
      workflow: 'release',
      job_workflow_ref: `${repo}/.github/workflows/release.yml@refs/heads/main`,
    });
    const scheduled = await twinToken(['--event', 'schedule', '--claims'], { TWIN_PORT: String(twin.port) });
    expect(JSON.parse(String(scheduled.stdout))).toMatchObject({
      sub: `repo:${repo}:ref:refs/heads/main`,
      event_name: 'schedule',
      workflow: 'sweep-previews',
    });
  });

  it('refuses bad flags with a clear message and exit code 2; documents itself', async () => {
    const bad = (await twinToken(['--event', 'release'], { TWIN_PORT: String(twin.port) })) as {
      code: number;
      stderr: string;
    };
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--event must be one of push, pull_request, schedule, workflow_dispatch');
    // The same parser in-process (a child process per case is slow on a busy machine).
    expect(() => tokenRequest(['--event', 'push', '--env', 'dev'])).toThrow(/Unknown option '--env'/);
    expect(() => tokenRequest(['--ref', 'main'])).toThrow(/--event is required/);
    expect(() => tokenRequest(['--event', 'push', '--ref', 'main'])).toThrow(/--ref must be a full git ref/);
    expect(() => tokenRequest(['--event', 'push', '--workflow', 'nope.yml'])).toThrow(
      /--workflow must name a workflow file/,
    );
    expect(() => tokenRequest(['--event', 'push', '--pull-request', '3'])).toThrow(
      /only applies to --event pull_request/,
    );
    expect(tokenRequest(['--help'])).toBe('help');
  });
});
