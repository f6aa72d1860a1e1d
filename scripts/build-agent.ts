import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface BuildAgentOptions {
  /** Output file (default agent/dist/server.mjs). */
  outfile?: string;
  minify?: boolean;
}

/** Bundle the agent and every dependency into one ESM file that runs with `node <file>`. */
export async function buildAgent(options: BuildAgentOptions = {}) {
  const outfile = options.outfile ?? path.join(root, 'agent/dist/server.mjs');
  const started = Date.now();
  await build({
    entryPoints: [path.join(root, 'agent/src/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: options.minify ?? false,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
    // CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  return { outfile, bytes: (await stat(outfile)).size, ms: Date.now() - started };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outfile, bytes, ms } = await buildAgent({ minify: process.argv.includes('--minify') });
  console.log(`${path.relative(process.cwd(), outfile)}  ${(bytes / 1024).toFixed(0)} KiB  in ${ms} ms`);
}
