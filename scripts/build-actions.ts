/**
 * Bundle every pipeline step into one self-contained ESM file, .github/actions/dist/<step>.js
 * (the runner does not npm install). Output is deterministic, so CI can rebuild in memory and
 * compare bytes with the committed bundles.
 *
 *   npm run build:actions
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type OutputFile, type Plugin } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const actionsDir = path.join(root, '.github/actions');
export const entriesDir = path.join(actionsDir, 'src/entries');
export const distDir = path.join(actionsDir, 'dist');

/** One entry per step: src/entries/<step>.ts (exports run()) → dist/<step>.js, used by <step>/action.yml. */
export function actionSteps(): string[] {
  return fs
    .readdirSync(entriesDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

// The toolkit's dependencies call require() for Node built-ins; ESM output needs a real one.
const banner =
  "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);";

/**
 * Each bundle's index, as actions/typescript-action's src/index.ts: import the entry's `run()` and
 * call it. Generated here rather than kept as ten identical files; the entries themselves only export
 * `run()`, which is what `npx @github/local-action` imports.
 */
const INDEX = 'action-index';
const indexPlugin: Plugin = {
  name: INDEX,
  setup(b) {
    b.onResolve({ filter: new RegExp(`^${INDEX}:`) }, (args) => ({
      path: args.path.slice(INDEX.length + 1),
      namespace: INDEX,
    }));
    b.onLoad({ filter: /.*/, namespace: INDEX }, (args) => ({
      contents: `import { run } from './${args.path}';\nawait run();\n`,
      resolveDir: entriesDir,
      loader: 'ts',
    }));
  },
};

/** How the steps are bundled (every entry behind its index, one ESM file each). */
const actionsBundle = () =>
  ({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(actionSteps().map((s) => [s, `${INDEX}:${s}`])),
    plugins: [indexPlugin],
    outdir: distDir,
    bundle: true,
    platform: 'node',
    // Runners use node24; node20 syntax also runs the bundles on this repository's dev machines.
    target: 'node20',
    format: 'esm',
    banner: { js: banner },
    minify: true,
    legalComments: 'none',
    sourcemap: false,
    charset: 'utf8',
    logLevel: 'warning',
    write: false,
  }) satisfies BuildOptions;

/** Build all bundles in memory: file path → bytes. */
export async function bundleActions(): Promise<Map<string, Uint8Array>> {
  const result = await build(actionsBundle());
  return new Map(result.outputFiles.map((f: OutputFile) => [f.path, f.contents]));
}

/** Per bundle (dist/<step>.js), the repository-relative files it is made of (esbuild metafile inputs). */
export async function actionBundleInputs(): Promise<Map<string, string[]>> {
  const result = await build({ ...actionsBundle(), metafile: true, logLevel: 'silent' });
  return new Map(
    Object.entries(result.metafile.outputs).map(([file, out]) => [
      path.basename(file),
      Object.keys(out.inputs),
    ]),
  );
}

export async function buildActions(): Promise<string[]> {
  const files = await bundleActions();
  fs.mkdirSync(distDir, { recursive: true });
  const expected = new Set(files.keys());
  for (const stale of fs.readdirSync(distDir).map((f) => path.join(distDir, f))) {
    if (!expected.has(stale)) fs.rmSync(stale);
  }
  for (const [file, bytes] of files) fs.writeFileSync(file, bytes);
  return [...files.keys()];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const started = performance.now();
  const files = await buildActions();
  for (const f of files)
    console.log(`${path.relative(root, f)}  ${(fs.statSync(f).size / 1024).toFixed(0)} KiB`);
  console.log(`built ${files.length} action bundles in ${Math.round(performance.now() - started)} ms`);
}
