import { execFile } from 'node:child_process';
import fs from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { agentBundleInputs } from '../../../scripts/build-agent';
import { build } from 'esbuild';
import {
  actionBundleInputs,
  actionsBundle,
  actionEntryClosures,
  actionSteps,
  bundleActions,
  distDir,
  distFiles,
} from '../../../scripts/build-actions';

/** Runs `fn` in a new temporary directory, removed after. */
async function inScratch(prefix: string, fn: (dir: string) => Promise<void>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

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
    // @actions/core's `platform` (through @actions/exec and @actions/io) is left out: no step uses it.
    const heavy =
      /node_modules\/(@aws-sdk|@smithy|@octokit|@actions\/(github|http-client|exec|io)|undici|zod|yaml|@ag-ui|jose)\/|^environments\/|^evals\/|^infra\//;
    const eager = [...closures].flatMap(([step, c]) =>
      c.inputs.filter((f) => heavy.test(f)).map((f) => `${step} ← ${f}`),
    );
    expect(eager).toEqual([]);
    const LIMIT = 16 * 1024;
    const big = [...closures].filter(([, c]) => c.bytes > LIMIT).map(([s, c]) => `${s}: ${c.bytes} B`);
    expect(big, `entries that load more than ${LIMIT} B before run()`).toEqual([]);
  }, 120_000);

  /**
   * Issue 16: most of a step's start above `node -e ''` was Node's own modules, compiled on load
   * (crypto, child_process, fs/promises and readline, pulled in by @actions/core's eager imports and by
   * ESM imports of built-ins, which read every export). A step failing on its first input must load
   * no more of Node than a script that only writes that error line does.
   */
  it('load no more of Node than writing the error line when the first input is missing', async () => {
    await inScratch('action-builtins-', async (scratch) => {
      const floor = path.join(scratch, 'floor.mjs');
      fs.writeFileSync(
        floor,
        `process.stdout.write('::error::input "x" is required\\n'); process.exitCode = 1;`,
      );
      const floorModules = new Set((await loadedModules(floor, scratch)).modules);
      // infra-drift has no required input: with none it runs on (its start figure is its first request).
      const steps = actionSteps().filter((s) => s !== 'infra-drift');
      const extra: Record<string, string[]> = {};
      for (const step of steps) {
        const { modules, output } = await loadedModules(path.join(distDir, `${step}.js`), scratch);
        expect(output, step).toMatch(/^::error::input "[\w-]+" is required$/m);
        const more = modules.filter((m) => !floorModules.has(m) && !BUNDLE_NEEDS.test(m));
        if (more.length) extra[step] = more;
      }
      expect(extra).toEqual({});
    });
  }, 120_000);

  /**
   * Issue 16: later steps of a job load the chunks compiled (V8's code cache under RUNNER_TEMP, on Node
   * 22 and later). A cache is an optimisation: a step behaves the same with one, without one, and
   * when RUNNER_TEMP cannot hold one.
   */
  it('keep their compile cache under RUNNER_TEMP, and run the same when it cannot be kept', async () => {
    await inScratch('action-cache-', async (scratch) => {
      const step = path.join(distDir, 'deploy-runtime.js');
      const unknown = (runnerTemp?: string) =>
        promisify(execFile)(process.execPath, [step], {
          cwd: scratch,
          env: {
            PATH: process.env.PATH,
            INPUT_ENVIRONMENT: 'nope',
            GITHUB_WORKSPACE: path.resolve(distDir, '../../..'),
            ...(runnerTemp ? { RUNNER_TEMP: runnerTemp } : {}),
          },
        }).then(
          () => 'exit 0',
          (e: { code: number; stdout: string; stderr: string }) => `exit ${e.code}: ${e.stdout}${e.stderr}`,
        );
      const expected = 'exit 1: ::error::unknown environment "nope"; known: dev, preview, prod\n';
      const notADirectory = path.join(scratch, 'a-file');
      fs.writeFileSync(notADirectory, '');
      const runnerTemp = path.join(scratch, 'runner-temp');
      fs.mkdirSync(runnerTemp);
      for (const dir of [undefined, notADirectory, runnerTemp, runnerTemp])
        expect(await unknown(dir), `RUNNER_TEMP=${dir}`).toBe(expected);
      const cache = path.join(runnerTemp, 'agentcore-gitops-compile-cache');
      const cached = fs.existsSync(cache) ? fs.readdirSync(cache, { recursive: true }) : [];
      if ('enableCompileCache' in module) expect(cached.length).toBeGreaterThan(1);
      else expect(cached).toEqual([]);
    });
  }, 60_000);

  it('still set outputs and write the job summary through @actions/core as the build rewrites it', async () => {
    await inScratch('action-core-', async (scratch) => {
      const { outputFiles } = await build({
        ...actionsBundle(),
        entryPoints: undefined,
        splitting: false,
        outdir: scratch,
        stdin: {
          contents: `import * as core from '@actions/core';
            core.setOutput('answer', 'forty-two');
            await core.summary.addHeading('Probe', 3).write();`,
          resolveDir: path.dirname(distDir),
          sourcefile: 'probe.ts',
          loader: 'ts',
        },
      });
      const probe = path.join(scratch, 'probe.mjs');
      fs.writeFileSync(probe, outputFiles[0].contents);
      const [output, summary] = ['output', 'summary'].map((f) => path.join(scratch, f));
      for (const f of [output, summary]) fs.writeFileSync(f, '');
      await promisify(execFile)(process.execPath, [probe], {
        env: { PATH: process.env.PATH, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary },
      });
      expect(fs.readFileSync(output, 'utf8')).toMatch(
        /^answer<<(ghadelimiter_[0-9a-f-]{36})\nforty-two\n\1\n$/,
      );
      expect(fs.readFileSync(summary, 'utf8')).toBe('<h3>Probe</h3>\n');
    });
  }, 60_000);
});

/**
 * What a bundle needs beyond writing a line, each small: node:module (and the source maps module it
 * loads) for the banner's createRequire, import.meta for its URL, os (@actions/core ends each command
 * it writes with os.EOL), and on Node 24 fs/dir (esbuild's interop reads the descriptors of fs's
 * exports, and reading that of fs.Dir loads it).
 */
const BUNDLE_NEEDS =
  /^(NativeModule (module|internal\/source_map\/source_map|internal\/modules\/esm\/initialize_import_meta|os|internal\/fs\/dir)|Internal Binding (os|fs_dir))$/;

/** Node's internal modules and bindings a script loaded by its exit (process.moduleLoadList), and its output. */
async function loadedModules(script: string, cwd: string) {
  // The probe itself must not load modules: process.getBuiltinModule, not an ESM import of node:fs.
  const probe =
    'data:text/javascript,process.on("exit",()=>process.getBuiltinModule("fs").writeSync(2,"\\n@@modules "+JSON.stringify(process.moduleLoadList)+"\\n"))';
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', probe, script], {
    cwd,
    env: { PATH: process.env.PATH },
  }).catch((e: { stdout: string; stderr: string }) => e);
  const listed = /^@@modules (.*)$/m.exec(stderr)?.[1];
  if (!listed) throw new Error(`${script} printed no module list: ${stderr}`);
  return { modules: JSON.parse(listed) as string[], output: stdout };
}
