import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { builtinModules } from 'node:module';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface BuildAgentOptions {
  /** Output file (default agent/dist/server.mjs). */
  outfile?: string;
  minify?: boolean;
  /**
   * Split the bundle: the entry file holds only what runs before the port opens (config validation,
   * /ping), and every module main.ts imports dynamically (Express, the AWS SDK, pino, the server) goes
   * to chunks/ beside it, read and compiled only when imported. What the image runs; without it, one
   * self-contained file (what the twin's local image format carries).
   */
  split?: boolean;
}

/**
 * Node's built-in modules through `require`, never `import`: importing one from ESM builds its ESM
 * facade, which reads every export, lazy getters included. On Node 24 `import … from 'node:http'` thus
 * loads undici for http's WebSocket/EventSource getters (~120 ms CPU before /ping, measured), which
 * `require('node:http')` never does. esbuild turns the import of a CommonJS module into property reads
 * at the point of use, so nothing is read early.
 */
const builtinsThroughRequire: Plugin = {
  name: 'builtins-through-require',
  setup(b) {
    const builtin = new RegExp(`^(node:)?(${builtinModules.join('|')})$`);
    b.onResolve({ filter: builtin }, (args) =>
      args.kind === 'import-statement' || args.kind === 'dynamic-import'
        ? { path: args.path.replace(/^(node:)?/, 'node:'), namespace: 'builtin-through-require' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin-through-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * zod's messages in English only: classic zod's `z` namespace carries `z.locales`, all 50 languages
 * (~260 KB minified) that esbuild cannot drop and Node would read before the first answer, while the
 * agent only ever uses English (the default classic zod sets, and what prices-schema.ts sets for
 * zod/mini). `z.locales` keeps `en`.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: "export { default as en } from './en.js';",
      loader: 'js',
    }));
  },
};

const MAIN = path.join(root, 'agent/src/main.ts');
const CONFIG = path.join(root, 'agent/src/config.ts');

/** The inputs that put code in an output (esbuild lists the ones tree shaking emptied too). */
const contributors = (output: Metafile['outputs'][string]) =>
  Object.entries(output.inputs).flatMap(([input, { bytesInOutput }]) => (bytesInOutput > 0 ? [input] : []));

/**
 * For the split bundle: main.ts's config module (validation on `zod/mini`) bundled on its own and
 * inlined in the entry. With code splitting esbuild gives the entry every file it shares with the
 * server's modules, and zod/mini shares zod's core with classic zod, whose index re-exports all 50 locales
 * that classic zod keeps: the entry would read ~400 KB before the port opens instead of ~40 KB (~60 ms
 * CPU on Node 24, measured). The server's modules keep their own copy of config.ts and zod's core
 * (nothing compares their classes). `inputs` collects what the config bundle is made of.
 */
function configOnItsOwn(minify: boolean, inputs: string[] = []): Plugin {
  return {
    name: 'config-on-its-own',
    setup(b) {
      b.onResolve({ filter: /^\.\/config$/ }, (args) =>
        args.importer === MAIN ? { path: CONFIG, namespace: 'config-on-its-own' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'config-on-its-own' }, async (args) => {
        const out = await build({
          absWorkingDir: root,
          entryPoints: [args.path],
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node20',
          minify,
          sourcemap: 'inline',
          metafile: true,
          write: false,
          logLevel: 'silent',
        });
        inputs.push(...Object.values(out.metafile.outputs).flatMap(contributors));
        return {
          contents: out.outputFiles[0].text,
          loader: 'js',
          resolveDir: path.dirname(CONFIG),
          watchFiles: Object.keys(out.metafile.inputs).map((i) => path.join(root, i)),
        };
      });
    },
  };
}

/** How the agent is bundled: every dependency in ESM that runs with `node <file>`. */
const agentBundle: BuildOptions = {
  absWorkingDir: root,
  entryPoints: [MAIN],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  plugins: [builtinsThroughRequire, zodEnglishOnly],
  // CommonJS dependencies call require(); give the ESM bundle (each chunk) one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
};

/** Bundle the agent and every dependency into ESM that runs with `node <outfile>`. */
export async function buildAgent(options: BuildAgentOptions = {}) {
  const outfile = options.outfile ?? path.join(root, 'agent/dist/server.mjs');
  const started = Date.now();
  const common: BuildOptions = {
    ...agentBundle,
    minify: options.minify ?? false,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  };
  if (options.split) {
    const outdir = path.dirname(outfile);
    // Chunk names carry content hashes: drop the previous build's.
    await rm(path.join(outdir, 'chunks'), { recursive: true, force: true });
    await build({
      ...common,
      plugins: [...common.plugins!, configOnItsOwn(common.minify!)],
      entryPoints: [{ in: MAIN, out: path.basename(outfile, '.mjs') }],
      outdir,
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      outExtension: { '.js': '.mjs' },
    });
  } else {
    await build({ ...common, outfile });
  }
  return { outfile, bytes: (await stat(outfile)).size, ms: Date.now() - started };
}

/** Repository-relative files the agent bundle is made of (sources and node_modules), without writing it. */
export async function agentBundleInputs(): Promise<string[]> {
  const out = await build({ ...agentBundle, write: false, metafile: true, logLevel: 'silent' });
  // Not files: the plugins' modules (`builtin-through-require:node:http`).
  return Object.keys(out.metafile?.inputs ?? {}).filter((i) => !i.includes(':'));
}

/** esbuild's account of the split bundle (what the image runs), without writing it. */
async function splitMetafile() {
  const configInputs: string[] = [];
  const out = await build({
    ...agentBundle,
    plugins: [...agentBundle.plugins!, configOnItsOwn(false, configInputs)],
    entryPoints: [{ in: MAIN, out: 'server' }],
    outdir: path.join(root, 'agent/dist'),
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { ...out.metafile, configInputs };
}

/**
 * Repository-relative inputs of what the split bundle's entry loads before any of its code runs: the
 * entry file and the chunks it imports statically (not the ones it imports with import()); only those
 * that left code in them.
 */
export async function agentEntryInputs(): Promise<string[]> {
  return splitInputs(false);
}

/**
 * Repository-relative inputs of what main.ts loads before it serves an agent without memory and
 * tracing: the entry, every chunk it imports (statically or with import(): its loading ladder and the
 * server) and their static imports, but not what the server imports only when needed (memory, the
 * tracing SDK).
 */
export async function agentStartInputs(): Promise<string[]> {
  return splitInputs(true);
}

async function splitInputs(withEntryImports: boolean): Promise<string[]> {
  const { outputs, configInputs } = await splitMetafile();
  const entry = Object.keys(outputs).find((f) => outputs[f].entryPoint === 'agent/src/main.ts');
  if (!entry) throw new Error('esbuild reported no entry output for agent/src/main.ts');
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const i of outputs[file].imports) if (!i.external && i.kind === 'import-statement') visit(i.path);
  };
  visit(entry);
  if (withEntryImports) {
    for (const i of outputs[entry].imports) if (!i.external && i.kind === 'dynamic-import') visit(i.path);
  }
  return [...loaded]
    .flatMap((f) => contributors(outputs[f]))
    .flatMap((i) => (i.startsWith('config-on-its-own:') ? configInputs : [i]))
    .filter((i) => !i.startsWith('builtin-through-require:'));
}

/** Repository-relative inputs that left code anywhere in the split bundle (entry and every chunk). */
export async function agentSplitInputs(): Promise<string[]> {
  const { outputs, configInputs } = await splitMetafile();
  const inputs = Object.values(outputs).flatMap(contributors);
  return [...new Set([...inputs, ...configInputs])].filter((i) => !i.includes(':'));
}

/** `<output file>: <module>` for every Node built-in the split bundle imports with `import` (see builtinsThroughRequire). */
export async function agentBuiltinImports(): Promise<string[]> {
  const outputs = (await splitMetafile()).outputs;
  return Object.entries(outputs).flatMap(([file, o]) =>
    o.imports
      .filter(
        (i) =>
          i.external && i.kind !== 'require-call' && builtinModules.includes(i.path.replace(/^node:/, '')),
      )
      .map((i) => `${path.basename(file)}: ${i.path}`),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { minify: { type: 'boolean' }, split: { type: 'boolean' }, outfile: { type: 'string' } },
  });
  const { outfile, bytes, ms } = await buildAgent({
    minify: values.minify,
    split: values.split,
    outfile: values.outfile && path.resolve(values.outfile),
  });
  console.log(`${path.relative(process.cwd(), outfile)}  ${(bytes / 1024).toFixed(0)} KiB  in ${ms} ms`);
}
