/**
 * Bundle the pipeline steps into ESM for the runner (which does not npm install): an entry per step,
 * .github/actions/dist/<step>.js, and the chunks the entries share or load on demand,
 * dist/chunks/*.js. A step loads only what it runs: the entries import the AWS SDK clients, Octokit,
 * the environments' YAML and schemas (...) with `await import()` where they are used, and esbuild
 * turns each of those into a chunk that Node loads then, relative to the entry
 * (runs.main: ../dist/<step>.js; the repository's package.json `"type": "module"` makes them ESM).
 * Output is deterministic (content-hashed chunk names), so CI can rebuild in memory and compare bytes
 * with the committed files.
 *
 *   npm run build:actions
 */
import fs from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type OutputFile, type Plugin } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const actionsDir = path.join(root, '.github/actions');
export const entriesDir = path.join(actionsDir, 'src/entries');
export const distDir = path.join(actionsDir, 'dist');
/** Where the shared and on-demand chunks go, under distDir. */
export const chunksDir = path.join(distDir, 'chunks');

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
 * call it, with the job's compile cache on for the chunks run() loads (enableJobCompileCache in src/lib/action.ts).
 * Generated here rather than kept as twelve identical files; the entries themselves only export
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
      contents: `import { enableJobCompileCache } from '../lib/action';\nimport { run } from './${args.path}';\nenableJobCompileCache();\nawait run();\n`,
      resolveDir: entriesDir,
      loader: 'ts',
    }));
  },
};

/**
 * Rewrite one file of a package as the build loads it: each [from, to] must be found (the build fails
 * naming what to check when the package no longer reads as expected).
 */
function rewrite(name: string, file: RegExp, edits: [from: string, to: string][]): Plugin {
  return {
    name,
    setup(b) {
      b.onLoad({ filter: file }, async (args) => {
        let source = await fs.promises.readFile(args.path, 'utf8');
        for (const [from, to] of edits) {
          if (!source.includes(from))
            throw new Error(
              `${args.path} no longer has "${from}": update ${name} in scripts/build-actions.ts`,
            );
          source = source.replace(from, to);
        }
        return { contents: source, loader: 'js' };
      });
    },
  };
}

const coreFile = (name: string) =>
  new RegExp(`[\\\\/]node_modules[\\\\/]@actions[\\\\/]core[\\\\/]lib[\\\\/]${name}\\.js$`);

/**
 * @actions/core's index imports its OIDC client at its top level, and with it @actions/http-client
 * and undici (~430 KiB minified), though only getIDToken() uses it: every step would load them before
 * reading its first input. Rewritten as the import() it could be, they load only when a step asks
 * for a token (aws-credentials, infra-diff and infra-drift on a runner).
 */
const lazyOidcPlugin = rewrite('lazy-oidc-client', coreFile('core'), [
  ["import { OidcClient } from './oidc-utils.js';", ''],
  [
    'return yield OidcClient.getIDToken(aud);',
    "return yield (yield import('./oidc-utils.js')).OidcClient.getIDToken(aud);",
  ],
]);

/**
 * The rest of @actions/core that loaded Node modules before a step read its first input (issue 16:
 * compiling them was most of a step's start above `node -e ''`): crypto, for the delimiter of
 * setOutput()'s file command, now loaded when an output is set; fs/promises (and with it readline),
 * destructured when the summary module loads, now read when a summary is written.
 */
const lazyCoreBuiltinsPlugin = [
  rewrite('lazy-core-crypto', coreFile('file-command'), [
    ["import * as crypto from 'crypto';", ''],
    ['crypto.randomUUID()', "process.getBuiltinModule('node:crypto').randomUUID()"],
  ]),
  rewrite('lazy-core-fs-promises', coreFile('summary'), [
    [
      'const { access, appendFile, writeFile } = promises;',
      'const access = (...a) => promises.access(...a), appendFile = (...a) => promises.appendFile(...a), writeFile = (...a) => promises.writeFile(...a);',
    ],
  ]),
];

/**
 * @actions/core re-exports `platform` (OS details through @actions/exec, which loads child_process,
 * timers and string_decoder), which no step uses; esbuild keeps a module it cannot prove free of side
 * effects, so it is declared free of them here and left out when unused.
 */
const unusedCorePlatformPlugin: Plugin = {
  name: 'unused-core-platform',
  setup(b) {
    b.onResolve({ filter: /^\.\/platform\.js$/ }, async (args) => {
      if (args.pluginData === 'resolved' || !coreFile('core').test(args.importer)) return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'resolved',
      });
      return { ...resolved, sideEffects: false };
    });
  },
};

/**
 * An ES module's import of a Node built-in (`import * as fs from 'fs'`) reads every export of it when
 * it links, which runs the lazy getters Node keeps for what most programs never use (fs.promises loads
 * fs/promises and readline; crypto.webcrypto the Web Crypto API). A require() reads only what the code
 * uses. So every ESM import of a built-in is bundled as a CommonJS module that requires it (the
 * banner's require), and esbuild's interop reads its exports when they are used. One such module per
 * importer: shared ones would each become a chunk of their own, an extra file to load before run().
 * An import() stays as it is: its result is a namespace, which a CommonJS module in a chunk of its own
 * would not give (the SDK's import('node:http') runs only for http:// endpoints, never AWS's).
 */
const builtinsViaRequirePlugin: Plugin = {
  name: 'builtins-via-require',
  setup(b) {
    b.onResolve({ filter: /^[a-z_/:]+$/ }, (args) =>
      args.kind === 'import-statement' && isBuiltin(args.path)
        ? {
            path: `${args.path.replace(/^node:/, '')}?from=${path.relative(root, args.importer)}`,
            namespace: 'node-builtin',
          }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`node:${args.path.split('?')[0]}`)});`,
      loader: 'js',
    }));
  },
};

/** How the steps are bundled (every entry behind its index; shared and lazily loaded code in chunks). */
export const actionsBundle = () =>
  ({
    absWorkingDir: root,
    // node_modules may be a symlink (a git worktree's to the main checkout's): paths through it, not
    // its target, keep chunk names (hashed over module paths) the same wherever the build runs.
    preserveSymlinks: true,
    entryPoints: Object.fromEntries(actionSteps().map((s) => [s, `${INDEX}:${s}`])),
    plugins: [
      indexPlugin,
      lazyOidcPlugin,
      ...lazyCoreBuiltinsPlugin,
      unusedCorePlatformPlugin,
      builtinsViaRequirePlugin,
    ],
    outdir: distDir,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    // The ESM builds (`module`) of packages that also ship CommonJS as `main`, as the AWS SDK clients
    // do: an import() of an ES module gives its named exports (of a CommonJS chunk, only `default`),
    // and ES modules are tree-shaken.
    mainFields: ['module', 'main'],
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

/**
 * Per output file (dist/<step>.js and dist/chunks/<chunk>.js, relative to dist/), the
 * repository-relative files it is made of (esbuild metafile inputs).
 */
export async function actionBundleInputs(): Promise<Map<string, string[]>> {
  const result = await build({ ...actionsBundle(), metafile: true, logLevel: 'silent' });
  return new Map(
    Object.entries(result.metafile.outputs).map(([file, out]) => [
      path.relative(distDir, path.resolve(root, file)),
      Object.keys(out.inputs),
    ]),
  );
}

/** What a step loads before its run() starts: its entry and the chunks it imports statically. */
export interface EntryClosure {
  /** dist/<step>.js and dist/chunks/… (relative to dist/). */
  outputs: string[];
  /** The repository-relative source files those are made of. */
  inputs: string[];
  bytes: number;
}

/** Per step, its entry's static import closure (esbuild metafile: import statements, not import()). */
export async function actionEntryClosures(): Promise<Map<string, EntryClosure>> {
  const { metafile } = await build({ ...actionsBundle(), metafile: true, logLevel: 'silent' });
  const closure = (file: string, seen: Set<string>): Set<string> => {
    if (seen.has(file)) return seen;
    seen.add(file);
    for (const i of metafile.outputs[file].imports)
      if (i.kind === 'import-statement' && !i.external) closure(i.path, seen);
    return seen;
  };
  return new Map(
    actionSteps().map((step) => {
      const entry = path.relative(root, path.join(distDir, `${step}.js`));
      const files = [...closure(entry, new Set())];
      return [
        step,
        {
          outputs: files.map((f) => path.relative(distDir, path.resolve(root, f))),
          inputs: [...new Set(files.flatMap((f) => Object.keys(metafile.outputs[f].inputs)))],
          bytes: files.reduce((n, f) => n + metafile.outputs[f].bytes, 0),
        },
      ];
    }),
  );
}

/** The files now in dist/ and dist/chunks/ (absolute paths). */
export function distFiles(): string[] {
  return [distDir, chunksDir].flatMap((dir) =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir, { withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => path.join(dir, e.name))
      : [],
  );
}

export async function buildActions(): Promise<string[]> {
  const files = await bundleActions();
  fs.mkdirSync(chunksDir, { recursive: true });
  const expected = new Set(files.keys());
  for (const stale of distFiles()) if (!expected.has(stale)) fs.rmSync(stale);
  for (const [file, bytes] of files) fs.writeFileSync(file, bytes);
  return [...files.keys()];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const started = performance.now();
  const files = await buildActions();
  for (const f of files.filter((f) => path.dirname(f) === distDir))
    console.log(`${path.relative(root, f)}  ${(fs.statSync(f).size / 1024).toFixed(0)} KiB`);
  const chunks = files.filter((f) => path.dirname(f) === chunksDir);
  const chunkBytes = chunks.reduce((n, f) => n + fs.statSync(f).size, 0);
  console.log(
    `${path.relative(root, chunksDir)}: ${chunks.length} chunks, ${(chunkBytes / 1024).toFixed(0)} KiB`,
  );
  console.log(
    `built ${files.length - chunks.length} action entries in ${Math.round(performance.now() - started)} ms`,
  );
}
