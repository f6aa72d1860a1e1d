import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface BuildAgentOptions {
  /** Output file (default agent/dist/server.mjs). */
  outfile?: string;
  minify?: boolean;
}

/** How the agent is bundled: every dependency in one ESM file that runs with `node <file>`. */
const agentBundle: BuildOptions = {
  absWorkingDir: root,
  entryPoints: [path.join(root, 'agent/src/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
};

/** Bundle the agent and every dependency into one ESM file that runs with `node <file>`. */
export async function buildAgent(options: BuildAgentOptions = {}) {
  const outfile = options.outfile ?? path.join(root, 'agent/dist/server.mjs');
  const started = Date.now();
  await build({
    ...agentBundle,
    outfile,
    minify: options.minify ?? false,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  return { outfile, bytes: (await stat(outfile)).size, ms: Date.now() - started };
}

/** Repository-relative files the agent bundle is made of (sources and node_modules), without writing it. */
export async function agentBundleInputs(): Promise<string[]> {
  const out = await build({ ...agentBundle, write: false, metafile: true, logLevel: 'silent' });
  return Object.keys(out.metafile?.inputs ?? {});
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outfile, bytes, ms } = await buildAgent({ minify: process.argv.includes('--minify') });
  console.log(`${path.relative(process.cwd(), outfile)}  ${(bytes / 1024).toFixed(0)} KiB  in ${ms} ms`);
}
