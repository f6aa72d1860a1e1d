/**
 * `npm run rehearse:ci-job`: ci.yml's `actions` job, run on this machine step by step from ci.yml
 * itself — its start-twin script (`npm run twin -- --provision`, every stack deployed through the real
 * CDK CLI), its token commands (`npm run twin:token`) and each `uses: ./.github/actions/<step>` with the
 * committed bundle — so what GitHub's runners will do is known to work before a push. Not run here:
 * checkout, setup-node and `npm ci` (this checkout and its node_modules are used). Exits non-zero on
 * the first failed step. About two minutes on an idle 2-core machine, so it is not part of `npm test`.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rehearsalPipeline } from './pipeline';
import { runWorkflowJob } from './workflow-job';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pidFile = path.join(root, '.local/twin.pid');

/** A free loopback port: something else on this machine may hold the job's 4566. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** The twin start-twin.sh left running, in its own process group (the runner ends it on GitHub). */
function stopTwin() {
  if (!fs.existsSync(pidFile)) return;
  try {
    process.kill(-Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
  } catch {
    // already gone
  }
  fs.rmSync(pidFile);
}

async function main(): Promise<number> {
  fs.rmSync(pidFile, { force: true });
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const started = performance.now();
  try {
    const results = await runWorkflowJob('ci.yml', 'actions', {
      env: { ...env, TWIN_PORT: String(port) },
      override: { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` },
      skip: (s) =>
        ['actions/checkout', 'actions/setup-node'].includes(s.uses?.split('@')[0] ?? '') ||
        s.run === 'npm ci',
    });
    for (const r of results) console.log(`${r.ok ? 'ok    ' : 'FAILED'} ${r.step}`);
    const failed = results.find((r) => !r.ok);
    if (failed) {
      console.error(`\n${failed.step} failed:\n${failed.log.slice(-3000)}`);
      return 1;
    }
    const ran = new Set(results.map((r) => r.step));
    const missing = rehearsalPipeline.filter((s) => !ran.has(s.id)).map((s) => s.id);
    if (missing.length) {
      console.error(`pipeline steps ci.yml's job did not run: ${missing.join(', ')}`);
      return 1;
    }
    console.log(
      `\nci.yml's actions job: ${results.length} steps green in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return 0;
  } finally {
    stopTwin();
  }
}

process.exitCode = await main();
