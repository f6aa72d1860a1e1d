/**
 * Run one job of a workflow file on this machine, step by step, as a runner would: `run:` steps with
 * bash, `uses: ./.github/actions/<step>` with the committed bundle (runAction: INPUT_* variables, the
 * action.yml defaults filled in, GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STEP_SUMMARY files), variables a
 * step exports carried to the next ones. Only what ci.yml's `actions` job needs: expressions other
 * than `${{ steps.<id>.outputs.<name> }}` and steps other than those are refused, so a change to the
 * job that this cannot run fails here rather than being skipped.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseFileCommands, runAction } from '../rehearse';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
  if?: string;
}

export interface StepResult {
  step: string;
  ok: boolean;
  /** What the step printed (stdout then stderr), for the failure message. */
  log: string;
  outputs: Record<string, string>;
}

export interface JobOptions {
  /** Variables the job starts with (the job's own `env:` is applied over them, then `override`). */
  env: Record<string, string | undefined>;
  /** Job `env:` values replaced here (e.g. the twin's port on a shared machine). */
  override?: Record<string, string>;
  /** Steps not run (by their `uses` without version, or their `run` text): what this machine already did. */
  skip?: (step: Step) => boolean;
  log?: (line: string) => void;
}

const label = (s: Step) => s.id ?? s.name ?? s.uses ?? s.run!.split('\n')[0];

/** `${{ steps.<id>.outputs.<name> }}` filled in; any other expression is refused. */
function evaluate(value: string, outputs: Record<string, Record<string, string>>): string {
  return value.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    const m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr);
    if (!m) throw new Error(`workflow-job: expression "${expr}" is not supported`);
    const v = outputs[m[1]]?.[m[2]];
    if (v === undefined) throw new Error(`workflow-job: steps.${m[1]} has no output ${m[2]}`);
    return v;
  });
}

/** The action.yml defaults, then the step's `with:` (what the runner passes as INPUT_*). */
function inputsOf(action: string, given: Record<string, string>): Record<string, string> {
  const meta = parse(fs.readFileSync(path.join(root, '.github/actions', action, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, { default?: string }>;
  };
  const defaults = Object.entries(meta.inputs ?? {}).flatMap(([k, i]) =>
    i.default === undefined ? [] : [[k, String(i.default)]],
  );
  return { ...Object.fromEntries(defaults), ...given };
}

function bash(script: string, env: Record<string, string | undefined>) {
  return new Promise<{ code: number; log: string }>((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], {
      cwd: root,
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('close', (code) => resolve({ code: code ?? 1, log }));
  });
}

/** Run `job` of `workflow` (a path under .github/workflows); stops at the first failing step. */
export async function runWorkflowJob(
  workflow: string,
  job: string,
  options: JobOptions,
): Promise<StepResult[]> {
  const doc = parse(fs.readFileSync(path.join(root, '.github/workflows', workflow), 'utf8')) as {
    jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
  };
  const definition = doc.jobs[job];
  if (!definition) throw new Error(`workflow-job: ${workflow} has no job ${job}`);
  let env: Record<string, string | undefined> = {
    ...options.env,
    ...definition.env,
    ...options.override,
    GITHUB_WORKSPACE: root,
  };
  const outputs: Record<string, Record<string, string>> = {};
  const results: StepResult[] = [];
  for (const step of definition.steps) {
    if (options.skip?.(step)) continue;
    if (step.if !== undefined) {
      // Only the diagnostics step (`if: always()`): it prints, it changes nothing.
      if (step.if !== 'always()') throw new Error(`workflow-job: if "${step.if}" is not supported`);
      continue;
    }
    options.log?.(`step ${label(step)}`);
    const stepEnv = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(String(v), outputs)]),
    );
    let result: StepResult;
    if (step.run !== undefined) {
      // The runner's file commands: outputs and exported variables of a run step.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-job-'));
      const files = { GITHUB_OUTPUT: path.join(dir, 'output'), GITHUB_ENV: path.join(dir, 'env') };
      for (const f of Object.values(files)) fs.writeFileSync(f, '');
      const r = await bash(step.run, { ...env, ...stepEnv, ...files });
      const read = (f: string) => parseFileCommands(fs.readFileSync(f, 'utf8'));
      const outputs = read(files.GITHUB_OUTPUT);
      env = { ...env, ...read(files.GITHUB_ENV) };
      fs.rmSync(dir, { recursive: true, force: true });
      result = { step: label(step), ok: r.code === 0, log: r.log, outputs };
    } else if (step.uses?.startsWith('./.github/actions/')) {
      const action = step.uses.slice('./.github/actions/'.length);
      const given = Object.fromEntries(
        Object.entries(step.with ?? {}).map(([k, v]) => [k, evaluate(String(v), outputs)]),
      );
      const r = await runAction(action, inputsOf(action, given), { ...env, ...stepEnv });
      env = { ...env, ...r.exported };
      result = { step: label(step), ok: r.code === 0, log: r.stdout + r.stderr, outputs: r.outputs };
    } else {
      throw new Error(`workflow-job: step ${label(step)} (${step.uses}) cannot run here; skip it`);
    }
    if (step.id) outputs[step.id] = result.outputs;
    results.push(result);
    if (!result.ok) break;
  }
  return results;
}
