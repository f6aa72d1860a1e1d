import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentBundleInputs } from '../../../scripts/build-agent';
import { actionBundleInputs, actionSteps, bundleActions, distDir } from '../../../scripts/build-actions';

describe('committed action bundles', () => {
  it('match their source byte for byte (run npm run build:actions after changing src/)', async () => {
    const built = await bundleActions();
    expect([...built.keys()].map((f) => path.basename(f)).sort()).toEqual(
      actionSteps().map((s) => `${s}.js`),
    );
    expect(fs.readdirSync(distDir).sort()).toEqual(actionSteps().map((s) => `${s}.js`));
    const stale = [...built].filter(([file, bytes]) => !Buffer.from(bytes).equals(fs.readFileSync(file)));
    expect(stale.map(([f]) => path.relative(distDir, f))).toEqual([]);
  }, 120_000);

  it('are ESM with a require() for CommonJS dependencies and no build timestamps', () => {
    for (const step of actionSteps()) {
      const head = fs.readFileSync(path.join(distDir, `${step}.js`), 'utf8').slice(0, 200);
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
});
