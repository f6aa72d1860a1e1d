import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type BuildOptions } from 'esbuild';

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

/** How the agent is bundled: every dependency in ESM that runs with `node <file>`. */
const agentBundle: BuildOptions = {
  absWorkingDir: root,
  entryPoints: [path.join(root, 'agent/src/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
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
      entryPoints: [{ in: path.join(root, 'agent/src/main.ts'), out: path.basename(outfile, '.mjs') }],
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
  return Object.keys(out.metafile?.inputs ?? {});
}

/**
 * Repository-relative inputs of what the split bundle's entry loads before any of its code runs: the
 * entry file and the chunks it imports statically (not the ones it imports with import()).
 */
export async function agentEntryInputs(): Promise<string[]> {
  const out = await build({
    ...agentBundle,
    entryPoints: [{ in: path.join(root, 'agent/src/main.ts'), out: 'server' }],
    outdir: path.join(root, 'agent/dist'),
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = out.metafile.outputs;
  const entry = Object.keys(outputs).find((f) => outputs[f].entryPoint === 'agent/src/main.ts');
  if (!entry) throw new Error('esbuild reported no entry output for agent/src/main.ts');
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const i of outputs[file].imports) if (!i.external && i.kind === 'import-statement') visit(i.path);
  };
  visit(entry);
  return [...loaded].flatMap((f) => Object.keys(outputs[f].inputs));
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
