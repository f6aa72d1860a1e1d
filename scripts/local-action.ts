/**
 * Run one action with GitHub's local runner, `@github/local-action`, unmodified:
 *
 *   npm run local-action -- <step> [dotenv file, default .env]
 *
 * is `npx @github/local-action run .github/actions/<step> ../src/entries/<step>.ts <dotenv>`: the
 * action directory holds the action.yml (inputs, defaults, outputs), and the entry, relative to it,
 * is the TypeScript source that exports `run()`. local-action loads it with tsx, stubs @actions/core
 * (inputs from INPUT_<NAME> in the dotenv file, outputs printed as a table) and calls `run()`.
 * See docs/pipeline.md ("Running an action with GitHub's local runner") and .env.example.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { actionSteps } from './build-actions';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'node_modules/@github/local-action/bin/local-action.js');

/** The local-action arguments for a step: action directory, entry relative to it, dotenv file. */
export function localActionArgs(step: string, dotenv: string): string[] {
  if (!actionSteps().includes(step))
    throw new Error(`no action "${step}"; the actions are: ${actionSteps().join(', ')}`);
  return ['run', path.join(root, '.github/actions', step), `../src/entries/${step}.ts`, path.resolve(dotenv)];
}

export interface LocalActionRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The "Action Outputs" table local-action prints (it writes no GITHUB_OUTPUT file). */
  outputs: Record<string, string>;
  /** The `::error::` lines: local-action exits 0 when the action fails, so this is how to tell. */
  errors: string[];
}

/** One cell of a console.table row: strings are printed quoted (util.inspect), the rest as is. */
function cell(raw: string): string {
  const v = raw.trim();
  const q = v[0];
  if ((q === "'" || q === '"' || q === '`') && v.endsWith(q) && v.length >= 2)
    return v.slice(1, -1).replaceAll(`\\${q}`, q).replaceAll('\\n', '\n').replaceAll('\\\\', '\\');
  return v;
}

/** Parse local-action's output: the outputs table after "Action Outputs", and the error lines. */
export function parseLocalActionOutput(stdout: string): Pick<LocalActionRun, 'outputs' | 'errors'> {
  const outputs: Record<string, string> = {};
  const after = stdout.slice(stdout.lastIndexOf('Action Outputs'));
  for (const line of after.split('\n')) {
    const m = /^│ \d+\s+│ (.+?) │ (.*) │$/.exec(line);
    if (m) outputs[cell(m[1])] = cell(m[2]);
  }
  const errors = [...stdout.matchAll(/^::error::(.*)$/gm)].map((m) => m[1].replaceAll('%0A', '\n'));
  return { outputs, errors };
}

/**
 * Run local-action as a child process (the real CLI, `bin/local-action.js`). It stubs @actions/core
 * at the path `npm ls` reports from the working directory, and Node loads modules by their real
 * path, so it runs from the folder whose node_modules is real (the repository itself, unless
 * node_modules is a symlink as in a git worktree sharing another's).
 */
export async function runLocalAction(
  step: string,
  dotenv: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalActionRun> {
  const cwd = path.dirname(fs.realpathSync(path.join(root, 'node_modules')));
  const child = spawn(process.execPath, [bin, ...localActionArgs(step, dotenv)], {
    cwd,
    env: { ...env, FORCE_COLOR: '0', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr, ...parseLocalActionOutput(stdout) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [step, dotenv = '.env'] = process.argv.slice(2);
  if (!step || step === '-h' || step === '--help') {
    console.log(
      `Usage: npm run local-action -- <step> [dotenv file, default .env]\nsteps: ${actionSteps().join(', ')}`,
    );
    process.exit(step ? 0 : 2);
  }
  if (!fs.existsSync(dotenv)) {
    console.error(
      `local-action: no ${dotenv}; copy .env.example to ${dotenv} and fill it in (docs/pipeline.md)`,
    );
    process.exit(2);
  }
  const child = spawn(process.execPath, [bin, ...localActionArgs(step, dotenv)], { stdio: 'inherit' });
  child.on('close', (code) => process.exit(code ?? 1));
}
