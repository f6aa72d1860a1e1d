import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * GitHub's ci.yml and the project's CI must be one and the same: the workflow only prepares the
 * runner (checkout, Node) and runs .ci/run, which installs every tool the suite requires with CI set
 * (container engine, arm64 emulation, Chromium, cfn-lint) and runs the README's test command.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');

interface Step {
  uses?: string;
  run?: string;
}
interface Job {
  steps?: Step[];
  uses?: string;
}
const jobs = (file: string) => (parse(read(file)) as { jobs: Record<string, Job> }).jobs;
const ciScriptLines = read('.ci/run')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('GitHub ci.yml runs the same CI as .ci/run', () => {
  it('every ci.yml job only sets up the runner and runs `bash .ci/run`', () => {
    const all = Object.entries(jobs('.github/workflows/ci.yml'));
    expect(all.length).toBeGreaterThan(0);
    for (const [name, job] of all) {
      const runs = (job.steps ?? []).filter((s) => s.run !== undefined).map((s) => s.run!.trim());
      expect(runs, `ci.yml job ${name}`).toEqual(['bash .ci/run']);
      const uses = (job.steps ?? []).flatMap((s) => (s.uses ? [s.uses.split('@')[0]] : []));
      expect(uses, `ci.yml job ${name} may only check out and set up Node`).toEqual([
        'actions/checkout',
        'actions/setup-node',
      ]);
    }
  });

  it('.ci/run runs the README’s test command and installs what the suite requires with CI set', () => {
    const readmeTest = /^(npm test)\s+#/m.exec(read('README.md'))?.[1];
    expect(readmeTest).toBe('npm test');
    expect(ciScriptLines).toContain(readmeTest);
    expect(ciScriptLines).toContain('export CI=true');
    for (const installer of ['install-container-deps.sh', 'install-browser-deps.sh', 'install-cfn-lint.sh']) {
      expect(ciScriptLines).toContain(`bash scripts/ci/${installer}`);
      expect(fs.existsSync(path.join(root, 'scripts/ci', installer))).toBe(true);
    }
  });

  it('release.yml tests through ci.yml before it builds', () => {
    const release = jobs('.github/workflows/release.yml');
    const testJob = Object.entries(release).find(([, j]) => j.uses === './.github/workflows/ci.yml');
    expect(testJob, 'release.yml has a job that calls ci.yml').toBeDefined();
    const needs = (
      parse(read('.github/workflows/release.yml')) as { jobs: Record<string, { needs?: string | string[] }> }
    ).jobs.build?.needs;
    expect([needs].flat()).toContain(testJob![0]);
  });
});
