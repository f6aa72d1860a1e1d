import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { actionSteps, bundleActions, distDir } from '../../../scripts/build-actions';

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
});
