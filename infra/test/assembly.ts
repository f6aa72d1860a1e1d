/**
 * The CDK app synthesized once per test run, by the real CLI from cdk.json (`cdk synth`, as
 * `npx cdk diff` and local/src/provision/stacks.ts do: same context, path metadata), for every test
 * that only reads it: a synth costs ~15 s of CPU (most of it aws-cdk-lib's template validation), and
 * several files used to run their own. Tests that synthesize something else (changed environments,
 * other construct trees) keep their own synth.
 *
 * The first file to ask synthesizes into the run's folder (vitest globalSetup, infra/test/run-dir.ts)
 * while others wait for it; a folder appears only once complete (synthesized beside it, then renamed).
 * Readers must not write into it: the CLI only takes read locks on an assembly given with `--app`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { offlineCdkEnvironment } from '../../local/src/provision/stacks';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CDK = path.join(ROOT, 'node_modules/aws-cdk/bin/cdk');
/** A synth alone takes ~20 s; on a busy shared machine, several times that. */
const WAIT_LIMIT_MS = 10 * 60_000;

let pending: Promise<string> | undefined;

/** The path of the run's cloud assembly of the app (infra/bin/app.ts), synthesized on first use. */
export function sharedAssembly(): Promise<string> {
  pending ??= obtain();
  return pending;
}

async function obtain(): Promise<string> {
  // Outside a run with the globalSetup (another config), this process's own folder.
  const runDir = inject('runDir') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vitest-run-'));
  const assembly = path.join(runDir, 'cdk.out');
  const failure = path.join(runDir, 'cdk.out.error');
  try {
    fs.mkdirSync(path.join(runDir, 'cdk.out.lock'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return waitFor(assembly, failure);
  }
  const partial = path.join(runDir, 'cdk.out.partial');
  const home = fs.mkdtempSync(path.join(runDir, 'home-'));
  try {
    await promisify(execFile)(
      process.execPath,
      [CDK, '--no-notices', '--no-color', 'synth', '--quiet', '--output', partial],
      {
        cwd: ROOT,
        // No credentials and no AWS config: synth needs neither (the stacks name their accounts).
        env: offlineCdkEnvironment(home),
        maxBuffer: 64 << 20,
      },
    );
    fs.renameSync(partial, assembly);
    return assembly;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    const message = `cdk synth of the shared assembly failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`;
    fs.writeFileSync(failure, message);
    throw new Error(message, { cause: e });
  }
}

async function waitFor(assembly: string, failure: string): Promise<string> {
  const until = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    if (fs.existsSync(assembly)) return assembly;
    if (fs.existsSync(failure)) throw new Error(fs.readFileSync(failure, 'utf8'));
    if (Date.now() > until)
      throw new Error(
        `the shared cloud assembly (${assembly}) did not appear within ${WAIT_LIMIT_MS / 60_000} min: ` +
          'the file synthesizing it (the first to call sharedAssembly()) may have died; rerun the tests',
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** A folder for the whole test run, removed at its end (infra/test/run-dir.ts). */
    runDir: string;
  }
}
