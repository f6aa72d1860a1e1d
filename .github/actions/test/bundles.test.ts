import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentBundleInputs } from '../../../scripts/build-agent';
import {
  actionBundleInputs,
  actionEntryClosures,
  actionSteps,
  bundleActions,
  distDir,
  distFiles,
} from '../../../scripts/build-actions';

describe('committed action bundles', () => {
  it('match their source byte for byte (run npm run build:actions after changing src/)', async () => {
    const built = await bundleActions();
    const entries = [...built.keys()].filter((f) => path.dirname(f) === distDir);
    expect(entries.map((f) => path.basename(f)).sort()).toEqual(actionSteps().map((s) => `${s}.js`));
    // Every committed file is built (no stale chunk), and every built file is committed.
    expect(distFiles().sort()).toEqual([...built.keys()].sort());
    const stale = [...built].filter(([file, bytes]) => !Buffer.from(bytes).equals(fs.readFileSync(file)));
    expect(stale.map(([f]) => path.relative(distDir, f))).toEqual([]);
  }, 120_000);

  it('are ESM with a require() for CommonJS dependencies and no build timestamps', () => {
    for (const file of distFiles()) {
      const head = fs.readFileSync(file, 'utf8').slice(0, 200);
      expect(head).toMatch(/^import \{ createRequire as __createRequire \} from 'node:module';/);
      expect(head).not.toMatch(/20\d\d-\d\d-\d\dT/);
    }
  });

  it('carry no code of the twin (local/): production never imports it', async () => {
    const bundles = new Map([
      ...(await actionBundleInputs()),
      ['agent/dist/server.mjs', await agentBundleInputs()],
    ]);
    expect([...bundles.keys()]).toContain('build-image.js');
    const fromTwin = [...bundles].flatMap(([bundle, inputs]) =>
      inputs.filter((f) => f.startsWith('local/')).map((f) => `${bundle} ← ${f}`),
    );
    expect(fromTwin).toEqual([]);
  }, 120_000);

  /**
   * Issue 16: an action starts in ≤ 150 ms. What a step loads before its run() starts is its entry and
   * the chunks that entry imports statically; the SDK clients, Octokit, the environments' YAML and
   * schemas and the step's own modules load with import() when the step reaches them. (Timings are
   * in `npm run bench`; this checks the structure they rest on.)
   */
  it('load only @actions/core and the step’s entry before run() starts', async () => {
    const closures = await actionEntryClosures();
    expect([...closures.keys()]).toEqual(actionSteps());
    // @actions/core's own @actions/exec (its `platform` helpers, ~15 KiB) stays: small, and core is eager.
    const heavy =
      /node_modules\/(@aws-sdk|@smithy|@octokit|@actions\/(github|http-client)|undici|zod|yaml|@ag-ui|jose)\/|^environments\/|^evals\/|^infra\//;
    const eager = [...closures].flatMap(([step, c]) =>
      c.inputs.filter((f) => heavy.test(f)).map((f) => `${step} ← ${f}`),
    );
    expect(eager).toEqual([]);
    const LIMIT = 48 * 1024;
    const big = [...closures].filter(([, c]) => c.bytes > LIMIT).map(([s, c]) => `${s}: ${c.bytes} B`);
    expect(big, `entries that load more than ${LIMIT} B before run()`).toEqual([]);
  }, 120_000);
});
