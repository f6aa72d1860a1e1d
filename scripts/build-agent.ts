import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { builtinModules, createRequire } from 'node:module';
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
    b.onLoad({ filter: /.*/, namespace: 'builtin-through-require' }, (args) => {
      const name = JSON.stringify(args.path);
      if (!LAZY_BUILTINS.includes(args.path))
        return { contents: `module.exports = require(${name});`, loader: 'js' };
      // Getters for its exports, that require it on first read (see http2OnFirstUse). Listed from the
      // building Node's module: an export a later Node adds would be missing (the SDK reads connect
      // and constants).
      const getters = Object.keys(createRequire(import.meta.url)(args.path) as object).map(
        (k) =>
          `Object.defineProperty(exports, ${JSON.stringify(k)}, { enumerable: true, get: () => require(${name})[${JSON.stringify(k)}] });`,
      );
      return { contents: getters.join('\n'), loader: 'js' };
    });
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

/**
 * @ag-ui/core/schemas builds a zod schema for every AG-UI type when imported (99, ~80 ms CPU on Node 24
 * at load 9, measured), and esbuild keeps them all: a call may have side effects. The agent validates
 * its input with RunAgentInputSchema alone, and the event schemas are used only by the protobuf encoder,
 * imported when a client asks for protobuf (server.ts). Each top-level `const X = <schema>;` of the
 * generated file becomes `const X = /* @__PURE__ *\/ (() => <schema>)();` (evaluated in the same order),
 * so esbuild drops the schemas nothing uses: the input chunk builds RunAgentInputSchema's alone, and the
 * protobuf encoder, bundled on its own (onItsOwn), builds its own. The build fails if the file no longer
 * has that shape.
 */
const agUiSchemasPure: Plugin = {
  name: 'ag-ui-schemas-pure',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@ag-ui[\\/]core[\\/]dist[\\/]schemas\.mjs$/ }, async (args) => {
      const lines = (await readFile(args.path, 'utf8')).split('\n');
      const fail = (why: string) => {
        throw new Error(`${args.path}: ${why}; update agUiSchemasPure in scripts/build-agent.ts`);
      };
      let wrapped = 0;
      for (let i = 0; i < lines.length; i++) {
        const start = /^const (\w+) = (?!\/\* @__PURE__)/.exec(lines[i]);
        if (!start) continue;
        // The statement ends at the first line from here that is not indented and ends with `;`.
        let end = i;
        while (end < lines.length && !(/^\S/.test(lines[end]) && lines[end].endsWith(';'))) end++;
        if (end === lines.length) fail(`no end found for the declaration of ${start[1]}`);
        lines[i] = lines[i].replace(' = ', ' = /* @__PURE__ */ (() => ');
        lines[end] = `${lines[end].slice(0, -1)})();`;
        wrapped++;
        i = end;
      }
      const source = lines.join('\n');
      const declared = source.match(/^const \w+ =/gm)?.length ?? 0;
      if (wrapped < 50 || wrapped !== declared || !/^const RunAgentInputSchema =/m.test(source))
        fail(
          `expected one top-level \`const <Name>Schema = …;\` per schema (found ${declared}, wrapped ${wrapped})`,
        );
      return { contents: source, loader: 'js' };
    });
  },
};

const packageFile = (file: string) =>
  new RegExp(`[\\\\/]node_modules[\\\\/]${file.replaceAll('/', '[\\\\/]').replaceAll('.', '\\.')}$`);

/** A package file's source, or a build failure naming the plugin to update when `check` finds it changed. */
async function sourceOf(file: string, plugin: string, check: (source: string) => string | undefined) {
  const source = await readFile(file, 'utf8');
  const changed = check(source);
  if (changed) throw new Error(`${file}: ${changed}; update ${plugin} in scripts/build-agent.ts`);
  return source;
}

/**
 * iconv-lite's UTF codecs only. body-parser uses iconv-lite to decode a body in its charset, and the agent
 * parses JSON bodies alone (express.json), which accepts only `utf-*` charsets (RFC 7159; a body in
 * any other is refused with 415 before iconv-lite sees it). The single- and double-byte codecs and
 * their tables (~470 KB minified) were read and compiled before the first answer, and their modules
 * run when the first body was decoded. Any other charset now meets iconv-lite's "Encoding not
 * recognized" (test: performance.test, a UTF-16 body parses and a Shift_JIS one is refused with 415).
 */
const iconvUtfOnly: Plugin = {
  name: 'iconv-utf-only',
  setup(b) {
    b.onLoad({ filter: packageFile('iconv-lite/encodings/index.js') }, async (args) => {
      const utf = ['internal', 'utf32', 'utf16', 'utf7'];
      const others = ['sbcs-codec', 'sbcs-data', 'sbcs-data-generated', 'dbcs-codec', 'dbcs-data'];
      const listed = (source: string) =>
        [...source.matchAll(/^ {2}require\("\.\/([\w-]+)"\),?$/gm)].map((m) => m[1]);
      const source = await sourceOf(args.path, 'iconvUtfOnly', (source) => {
        const found = listed(source).join();
        return found === [...utf, ...others].join() ? undefined : `its codec modules are now ${found}`;
      });
      return {
        contents: source.replace(/^ {2}require\("\.\/([\w-]+)"\),?\n/gm, (line, name: string) =>
          utf.includes(name) ? line : '',
        ),
        loader: 'js',
      };
    });
  },
};

/**
 * CommonJS modules evaluated on first use, not when Express loads: what they do is never needed on the
 * SSE answer's path, and they cost CPU before the first token (Node 24, measured).
 * - mime-types, with mime-db (~150 KB) and a pass over its 2,500 types to index extensions (~50 ms):
 *   needed to set a Content-Type by extension or add a charset (res.json, res.type, send).
 * - qs, with side-channel, get-intrinsic and object-inspect (~15 ms): Express's "extended" query parser
 *   and express.urlencoded, neither used by the agent.
 * The module's source runs unchanged inside a function the first time one of its exports is read. Its
 * exports are read at build time, and the build fails unless they are a plain object's properties.
 */
function onFirstUse(file: string): Plugin {
  return {
    name: `on-first-use:${file}`,
    setup(b) {
      b.onLoad({ filter: packageFile(file) }, async (args) => {
        const exports: unknown = createRequire(import.meta.url)(args.path);
        if (Object.getPrototypeOf(exports) !== Object.prototype)
          throw new Error(
            `${args.path} no longer exports a plain object: drop it from onFirstUse in scripts/build-agent.ts`,
          );
        const getters = Object.keys(exports as object).map(
          (n) =>
            `Object.defineProperty(exports, ${JSON.stringify(n)}, { enumerable: true, get: () => load()[${JSON.stringify(n)}] });`,
        );
        return {
          contents: [
            'let loaded;',
            'function load() {',
            '  if (loaded) return loaded;',
            '  const module = { exports: {} };',
            `  (function (exports, module) {\n${await readFile(args.path, 'utf8')}\n})(module.exports, module);`,
            '  return (loaded = module.exports);',
            '}',
            ...getters,
          ].join('\n'),
          loader: 'js',
        };
      });
    },
  };
}

/**
 * node:http2 read when the first HTTP/2 session opens, not when the AWS SDK's HTTP handlers load (for
 * NodeHttp2Handler, the Bedrock runtime client's default): ~20 ms CPU on Node 24 and ~12 on Node 20
 * after https (measured). The agent's clients use the HTTP/1.1 handler (aws-http.ts) and never open one.
 * builtinsThroughRequire gives node:http2 getters that require it on first read; this rewrites the one
 * top-level read of it (`const { constants } = node_http2;`) into reads at the point of use. The build
 * fails if the handler's source no longer reads as expected.
 */
const LAZY_BUILTINS = ['node:http2'];
const http2OnFirstUse: Plugin = {
  name: 'http2-on-first-use',
  setup(b) {
    b.onLoad(
      { filter: packageFile('@smithy/node-http-handler/dist-es/node-http2-handler.js') },
      async (args) => {
        const edits: [from: string, to: string, times: number][] = [
          ['const { constants } = node_http2;', '', 1],
          ['[constants.', '[node_http2.constants.', 2],
        ];
        const edited = (source: string) => edits.reduce((s, [from, to]) => s.replaceAll(from, to), source);
        const source = await sourceOf(args.path, 'http2OnFirstUse', (source) => {
          for (const [from, , times] of edits) {
            const found = source.split(from).length - 1;
            if (found !== times) return `it has "${from}" ${found} times, not ${times}`;
          }
          const left = edited(source).match(/(?<![.\w])constants\.|=\s*node_http2\s*;/g);
          return left ? `it would still read node:http2 when it loads (${left.join(', ')})` : undefined;
        });
        return { contents: edited(source), loader: 'js' };
      },
    );
  },
};

const MAIN = path.join(root, 'agent/src/main.ts');
const CONFIG = path.join(root, 'agent/src/config.ts');
const SERVER = path.join(root, 'agent/src/server.ts');
const ENCODER = fileURLToPath(import.meta.resolve('@ag-ui/encoder'));

/** The inputs that put code in an output (esbuild lists the ones tree shaking emptied too). */
const contributors = (output: Metafile['outputs'][string]) =>
  Object.entries(output.inputs).flatMap(([input, { bytesInOutput }]) => (bytesInOutput > 0 ? [input] : []));

/** What each module bundled on its own (onItsOwn) is made of, by the name esbuild's metafile gives it. */
type OwnInputs = Map<string, string[]>;
const OWN = 'on-its-own';

/**
 * For the split bundle, modules bundled on their own, each with its own copy of what it imports, and
 * inlined where they are imported:
 * - main.ts's config module (validation on `zod/mini`), in the entry. With code splitting esbuild gives
 *   the entry every file it shares with the server's modules, and zod/mini shares zod's core with
 *   classic zod, whose index re-exports all 50 locales that classic zod keeps: the entry would read
 *   ~400 KB before the port opens instead of ~40 KB (~60 ms CPU on Node 24, measured).
 * - @ag-ui/encoder, which server.ts imports only for a client that asks for protobuf. esbuild splits
 *   chunks by file, so sharing @ag-ui/core/schemas with input.ts would put every event schema its
 *   encoder validates with in the chunk every first answer loads (agUiSchemasPure then drops none).
 * Nothing compares their classes (zod's) with the other copy's.
 */
function onItsOwn(minify: boolean, inputs: OwnInputs = new Map()): Plugin {
  const own = new Map([
    [`${MAIN}:./config`, { entry: CONFIG, plugins: [] as Plugin[] }],
    [`${SERVER}:@ag-ui/encoder`, { entry: ENCODER, plugins: [zodEnglishOnly, agUiSchemasPure] }],
  ]);
  return {
    name: OWN,
    setup(b) {
      b.onResolve({ filter: /^(\.\/config|@ag-ui\/encoder)$/ }, (args) => {
        const module = own.get(`${args.importer}:${args.path}`);
        return module && { path: module.entry, namespace: OWN, pluginData: module };
      });
      b.onLoad({ filter: /.*/, namespace: OWN }, async (args) => {
        const { entry, plugins } = args.pluginData as { entry: string; plugins: Plugin[] };
        const out = await build({
          absWorkingDir: root,
          entryPoints: [entry],
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node20',
          plugins,
          minify,
          sourcemap: 'inline',
          metafile: true,
          write: false,
          logLevel: 'silent',
        });
        inputs.set(`${OWN}:${entry}`, Object.values(out.metafile.outputs).flatMap(contributors));
        return {
          contents: out.outputFiles[0].text,
          loader: 'js',
          resolveDir: path.dirname(entry),
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
  // A package's ESM build ("module") before its CommonJS one ("main"), where it has both and no
  // "exports": the AWS SDK's and OpenTelemetry's. esbuild then drops what the agent does not use (the
  // Bedrock client's other commands and schemas, ~190 KB read before the first token) and imports the
  // credential providers only when the chain reaches them: ~80 ms less CPU before the first token on
  // Node 20 (measured, 8 starts). Both publish their ESM builds for Node too.
  mainFields: ['module', 'main'],
  format: 'esm',
  target: 'node20',
  plugins: [
    builtinsThroughRequire,
    zodEnglishOnly,
    agUiSchemasPure,
    iconvUtfOnly,
    onFirstUse('mime-types/index.js'),
    onFirstUse('qs/lib/index.js'),
    http2OnFirstUse,
  ],
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
      plugins: [...common.plugins!, onItsOwn(common.minify!)],
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

/** esbuild's account of the split bundle (what the image runs), without writing it; built once per process. */
let split: ReturnType<typeof buildSplit> | undefined;
const splitMetafile = () => (split ??= buildSplit());

async function buildSplit() {
  const ownInputs: OwnInputs = new Map();
  const out = await build({
    ...agentBundle,
    plugins: [...agentBundle.plugins!, onItsOwn(false, ownInputs)],
    entryPoints: [{ in: MAIN, out: 'server' }],
    outdir: path.join(root, 'agent/dist'),
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = new Map(out.outputFiles.map((f) => [path.relative(root, f.path), f.text]));
  return { ...out.metafile, ownInputs, code };
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

/** The code (unminified) of the files agentStartInputs() come from, joined. */
export async function agentStartCode(): Promise<string> {
  const { code } = await splitMetafile();
  return (await startOutputs()).map((f) => code.get(f) ?? '').join('\n');
}

async function splitInputs(withEntryImports: boolean): Promise<string[]> {
  const { outputs, ownInputs } = await splitMetafile();
  return (await startOutputs(withEntryImports))
    .flatMap((f) => contributors(outputs[f]))
    .flatMap((i) => ownInputs.get(i) ?? [i])
    .filter((i) => !i.startsWith('builtin-through-require:'));
}

/** The split bundle's output files its entry loads (with its import()s: `withEntryImports`), statically imported chunks included. */
async function startOutputs(withEntryImports = true): Promise<string[]> {
  const { outputs } = await splitMetafile();
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
  return [...loaded];
}

/** Repository-relative inputs that left code anywhere in the split bundle (entry and every chunk). */
export async function agentSplitInputs(): Promise<string[]> {
  const { outputs, ownInputs } = await splitMetafile();
  const inputs = Object.values(outputs).flatMap(contributors);
  return [...new Set([...inputs, ...[...ownInputs.values()].flat()])].filter((i) => !i.includes(':'));
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
