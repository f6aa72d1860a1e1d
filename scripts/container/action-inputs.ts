/**
 * The inputs a workflow step gives a local action, as the runner computes them: the step's `with:`
 * over the defaults in the action's action.yml. Tests build with these so they use what the workflow
 * uses, never a copy that can drift.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { buildImageInputs, type BuildImageInputs } from '../../.github/actions/src/steps/build-image';

interface ActionFile {
  inputs?: Record<string, { default?: string }>;
}
interface WorkflowFile {
  jobs: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>;
}

export interface StepInputsOptions {
  /** Repository root. */
  root: string;
  /** File under .github/workflows, e.g. release.yml. */
  workflow: string;
  job: string;
  /** The step's `uses:`, e.g. ./.github/actions/build-image. */
  uses: string;
  /** Values of the `${{ … }}` expressions the step uses, e.g. { 'github.sha': '…' }. */
  expressions?: Record<string, string>;
}

/** A `core.getInput`-like reader of the step's inputs; an expression not in `expressions` is an error. */
export function workflowStepInputs(options: StepInputsOptions): (name: string) => string {
  const workflowFile = path.join(options.root, '.github/workflows', options.workflow);
  const workflow = parse(fs.readFileSync(workflowFile, 'utf8')) as WorkflowFile;
  const steps = workflow.jobs[options.job]?.steps ?? [];
  const step = steps.find((s) => s.uses === options.uses);
  if (!step) throw new Error(`${workflowFile}: job "${options.job}" has no step using ${options.uses}`);
  const action = parse(
    fs.readFileSync(path.join(options.root, options.uses, 'action.yml'), 'utf8'),
  ) as ActionFile;
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs ?? {}))
    if (spec.default !== undefined) inputs[name] = String(spec.default);
  for (const [name, value] of Object.entries(step.with ?? {})) {
    inputs[name] = String(value).replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
      const known = options.expressions?.[expr];
      if (known === undefined)
        throw new Error(
          `${workflowFile}: input "${name}" uses \${{ ${expr} }}, which the caller did not give`,
        );
      return known;
    });
  }
  return (name) => inputs[name] ?? '';
}

/**
 * What release.yml's build job builds: build-image's own input handling applied to that step's inputs
 * (context, Dockerfile, platform resolved against `root`).
 */
export function releaseBuildInputs(root: string, sha = '0'.repeat(40)): BuildImageInputs {
  const read = workflowStepInputs({
    root,
    workflow: 'release.yml',
    job: 'build',
    uses: './.github/actions/build-image',
    expressions: { 'github.sha': sha },
  });
  return buildImageInputs(read, root, 'refs/heads/main');
}
