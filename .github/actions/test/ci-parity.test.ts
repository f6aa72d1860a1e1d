import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { rehearsalPipeline, tokenCommand, workflowInput } from '../../../scripts/rehearsal/pipeline';

/**
 * GitHub's ci.yml and the project's CI must be one and the same: the workflow only prepares the
 * runner (checkout, Node) and runs .ci/run, which installs every tool the suite requires with CI set
 * (container engine, arm64 emulation, Chromium, cfn-lint) and runs the README's test command.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  steps?: Step[];
  uses?: string;
  'runs-on'?: string;
  permissions?: Record<string, string>;
  strategy?: { matrix?: { runner?: string[] } };
  env?: Record<string, string>;
}
const jobs = (file: string) => (parse(read(file)) as { jobs: Record<string, Job> }).jobs;
const ciScriptLines = read('.ci/run')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('GitHub ci.yml runs the same CI as .ci/run', () => {
  it('ci.yml’s test job only sets up the runner and runs `bash .ci/run`', () => {
    const all = Object.entries(jobs('.github/workflows/ci.yml'));
    // The other job is the rehearsal on runners (below), not a second copy of the suite.
    expect(all.map(([name]) => name).sort()).toEqual(['actions', 'check']);
    for (const [name, job] of all.filter(([n]) => n === 'check')) {
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

/**
 * ci.yml's `actions` job rehearses the release with the actions as users' runners run them; its
 * steps are scripts/rehearsal/pipeline.ts, the list `npm run rehearse` runs.
 */
describe('ci.yml’s actions job runs the rehearsal pipeline on runners', () => {
  const job = jobs('.github/workflows/ci.yml').actions ?? {};
  const steps = job.steps ?? [];

  it('uses the actions in the pipeline’s order with the pipeline’s inputs, each after its token', () => {
    const used = steps.flatMap((s, i) =>
      s.uses?.startsWith('./.github/actions/')
        ? [
            {
              id: s.id,
              action: s.uses.slice('./.github/actions/'.length),
              inputs: s.with ?? {},
              before: steps[i - 1],
            },
          ]
        : [],
    );
    expect(used.map(({ id, action, inputs }) => ({ id, action, inputs }))).toEqual(
      rehearsalPipeline.map((p) => ({
        id: p.id,
        action: p.action,
        inputs: Object.fromEntries(Object.entries(p.inputs).map(([k, v]) => [k, workflowInput(v)])),
      })),
    );
    // Each aws-credentials step reads the token the step before it wrote, for the job it stands for.
    for (const [i, p] of rehearsalPipeline.entries())
      if (p.token) expect(used[i].before?.run?.trim(), p.id).toBe(tokenCommand(p));
  });

  it('runs on x64 and arm64 runners, against the twin it starts, with no AWS credentials or OIDC token', () => {
    expect(job['runs-on']).toBe('${{ matrix.runner }}');
    expect(job.strategy?.matrix?.runner).toEqual(['ubuntu-24.04', 'ubuntu-24.04-arm']);
    // Without id-token: write the runner sets no ACTIONS_ID_TOKEN_REQUEST_*; no secrets, no variables.
    expect(job.permissions).toEqual({ contents: 'read' });
    expect(JSON.stringify(job)).not.toMatch(/secrets\.|vars\.|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
    expect(job.env).toEqual({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' });
    const runs = steps.map((s) => s.run?.trim());
    const twin = runs.indexOf('bash scripts/ci/start-twin.sh');
    expect(twin).toBeGreaterThan(runs.indexOf('npm ci'));
    expect(read('scripts/ci/start-twin.sh')).toContain('npm run twin -- --provision');
    // Local actions need the checkout; the twin must be up before the first action.
    expect(steps[0].uses?.split('@')[0]).toBe('actions/checkout');
    const firstAction = steps.findIndex((s) => s.uses?.startsWith('./.github/actions/'));
    expect(twin).toBeGreaterThanOrEqual(0);
    expect(twin).toBeLessThan(firstAction);
    expect(runs.indexOf('npm run build:agent')).toBeLessThan(firstAction);
  });
});
