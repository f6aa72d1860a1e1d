/**
 * Issue 15: ci.yml's `actions` job, run on this machine step by step from ci.yml itself — its
 * start-twin script (`npm run twin -- --provision`, every stack deployed through the real CDK CLI),
 * its token commands (`npm run twin:token`), and each `uses: ./.github/actions/<step>` with the
 * committed bundle — so what GitHub's runners will do is known to work before a push.
 * Not run here: checkout, setup-node and `npm ci` (this checkout and its node_modules are used).
 * The smoke steps need the twin to answer Cognito's public discovery URL, which the stack gives the
 * runtime's JWT authorizer, for its own pools (local/src/services/runtime-invoke.ts).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { rehearsalPipeline } from '../../../scripts/rehearsal/pipeline';
import { runWorkflowJob, type StepResult } from '../../../scripts/rehearsal/workflow-job';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const pidFile = path.join(root, '.local/twin.pid');

/** A free loopback port: other sessions on this machine may hold the job's 4566. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

afterAll(() => {
  // The twin start-twin.sh left running, in its own process group (the runner ends it on GitHub).
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // already gone
  }
  fs.rmSync(pidFile);
});

describe('ci.yml actions job, run here', () => {
  it('builds, deploys, gates, promotes and rolls back through the actions, every step green', async () => {
    fs.rmSync(pidFile, { force: true });
    const port = await freePort();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const results: StepResult[] = await runWorkflowJob('ci.yml', 'actions', {
      env: { ...env, TWIN_PORT: String(port) },
      override: { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` },
      skip: (s) =>
        ['actions/checkout', 'actions/setup-node'].includes(s.uses?.split('@')[0] ?? '') ||
        s.run === 'npm ci',
    });
    const failed = results.find((r) => !r.ok);
    expect(failed, failed && `${failed.step} failed:\n${failed.log.slice(-3000)}`).toBeUndefined();
    // Every step of the pipeline ran, and the last check (live back on the release before) passed.
    const ran = results.map((r) => r.step);
    for (const step of rehearsalPipeline) expect(ran).toContain(step.id);
    const byId = Object.fromEntries(results.map((r) => [r.step, r.outputs]));
    expect(byId.deploy).toMatchObject({ 'previous-version': '1', version: '2', action: 'updated' });
    expect(byId.promote).toMatchObject({ version: '2', 'previous-live-version': '1', changed: 'true' });
    expect(byId.rollback).toMatchObject({ version: '1', 'previous-live-version': '2' });
    expect(byId.restore.action).toBe('restored');
    expect(ran.at(-1)).toBe('Live serves the release before the promoted one again');
  }, 900_000);
});
