/**
 * Stand-ins for the official `node` base images, made locally so the unchanged production Dockerfile
 * builds with no container registry in reach (reference/tooling.md §2):
 *   Debian minbase rootfs (mmdebstrap, slimmed like debian:*-slim) + the node binary of the npm package
 *   node-linux-<arch> at the tag's major version + npm + the official docker-entrypoint.sh + user `node`,
 * one image per platform, gathered under a manifest list named exactly as the FROM short name expands
 * to (docker.io/library/node:24-bookworm-slim), so `podman build --pull=never` resolves it for any
 * `--platform`. Downloads and rootfs tarballs are cached in CACHE_DIR; an image whose recipe label
 * matches is not rebuilt.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from './exec';

export type Platform = 'linux/amd64' | 'linux/arm64';

export const CACHE_DIR =
  process.env.AGENT_STAND_IN_CACHE ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'agentcore-gitops', 'container');

const RECIPE_LABEL = 'io.agentcore-gitops.stand-in.recipe';

/** What a Dockerfile's FROM lines name (stages and `scratch` excluded), with ARG defaults expanded. */
export function baseImagesOf(dockerfile: string): { ref: string; platform?: string }[] {
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const bases: { ref: string; platform?: string }[] = [];
  const expand = (s: string) => s.replace(/\$\{?(\w+)\}?/g, (m, name: string) => args.get(name) ?? m);
  for (const raw of dockerfile.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    const arg = /^ARG\s+(\w+)=(\S+)/i.exec(line);
    if (arg) args.set(arg[1], arg[2].replace(/^["']|["']$/g, ''));
    const from = /^FROM\s+(?:--platform=(\S+)\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!from) continue;
    const ref = expand(from[2]);
    if (ref !== 'scratch' && !stages.has(ref)) bases.push({ ref, platform: from[1] });
    if (from[3]) stages.add(from[3]);
  }
  return bases;
}

/** The fully-qualified name a short image name expands to on Docker Hub (`node:24` → `docker.io/library/node:24`). */
export function qualifiedName(ref: string): string {
  const [first, ...rest] = ref.split('/');
  const hasRegistry =
    rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return ref;
  const name = rest.length ? ref : `library/${ref}`;
  const tagged = /[:@]/.test(name.split('/').at(-1)!) ? name : `${name}:latest`;
  return `docker.io/${tagged}`;
}

/** `docker.io/library/node:24-bookworm-slim` → node major 24 on Debian bookworm. */
export function nodeImageTag(qualified: string): { major: number; suite: string } {
  const m = /^docker\.io\/library\/node:(\d+)(?:\.[\d.]+)?-(bookworm|trixie|bullseye)(?:-slim)?$/.exec(
    qualified,
  );
  if (!m) {
    throw new Error(
      `No stand-in recipe for base image ${qualified}: only the official node:<major>-<debian suite>[-slim] images ` +
        '(e.g. node:24-bookworm-slim) can be made offline here. Pin FROM to such a tag, or add a recipe in scripts/container/stand-in.ts.',
    );
  }
  return { major: Number(m[1]), suite: m[2] };
}

const debArch = (p: Platform) => p.split('/')[1];
const npmArch = (p: Platform) => (p === 'linux/amd64' ? 'x64' : 'arm64');

const semverCompare = (a: string, b: string) => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
};

/** The newest node version of `major` published for every platform (node-linux-<arch> npm packages). */
async function nodeVersionFor(major: number, platforms: Platform[]): Promise<string> {
  const cached = path.join(CACHE_DIR, `node-${major}-${platforms.map(npmArch).join('-')}.version`);
  if (existsSync(cached)) return (await readFile(cached, 'utf8')).trim();
  let common: string[] | undefined;
  for (const p of platforms) {
    const { stdout } = await run('npm', ['view', `node-linux-${npmArch(p)}@${major}`, 'version', '--json']);
    const versions = [JSON.parse(stdout)].flat() as string[];
    common = common ? common.filter((v) => versions.includes(v)) : versions;
  }
  const version = common?.sort(semverCompare).at(-1);
  if (!version)
    throw new Error(`npm has no node-linux-* package of node ${major} for ${platforms.join(', ')}`);
  await writeFile(cached, `${version}\n`);
  return version;
}

async function nodeBinary(version: string, p: Platform, log: (s: string) => void): Promise<string> {
  const dir = path.join(CACHE_DIR, `node-linux-${npmArch(p)}-${version}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  log(`fetching node ${version} for ${p} (npm node-linux-${npmArch(p)})`);
  await mkdir(dir, { recursive: true });
  const { stdout } = await run('npm', ['pack', `node-linux-${npmArch(p)}@${version}`, '--silent'], {
    cwd: dir,
  });
  await run('tar', ['xzf', stdout.trim(), 'package/bin/node'], { cwd: dir });
  await rm(path.join(dir, stdout.trim()));
  return bin;
}

/** Debian minbase, slimmed like the debian:*-slim images; the mirror comes from this machine's apt sources. */
async function rootfs(suite: string, p: Platform, log: (s: string) => void): Promise<string> {
  const tar = path.join(CACHE_DIR, `${suite}-${debArch(p)}-minbase.tar`);
  if (existsSync(tar)) return tar;
  const sources = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'].find(existsSync);
  if (!sources)
    throw new Error(
      'No apt sources found (/etc/apt/sources.list.d/debian.sources): mmdebstrap needs a Debian mirror',
    );
  log(
    `building ${suite} ${debArch(p)} rootfs with mmdebstrap (one-off: about 1 min native, 3-12 min under emulation)`,
  );
  await rm(`${tar}.partial`, { recursive: true, force: true });
  const slim = ['man', 'doc', 'locale', 'info'].map((d) => `--dpkgopt=path-exclude=/usr/share/${d}/*`);
  await run(
    'mmdebstrap',
    [
      '--variant=minbase',
      '--format=tar',
      `--architectures=${debArch(p)}`,
      '--quiet',
      ...slim,
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      suite,
      `${tar}.partial`,
      sources,
    ],
    { timeoutMs: 25 * 60_000 },
  );
  await run('mv', [`${tar}.partial`, tar]);
  return tar;
}

/** The official image's entrypoint: prepend `node` when the command is not an executable. */
const ENTRYPOINT = `#!/bin/sh
set -e
if [ "\${1#-}" != "\${1}" ] || [ -z "$(command -v "\${1}")" ] || { [ -f "\${1}" ] && ! [ -x "\${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
`;

const containerfile = (version: string) => `FROM scratch
ADD rootfs.tar /
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY --chmod=755 docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=${version}
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
`;

async function imageLabel(image: string): Promise<string | undefined> {
  const r = await run(
    'podman',
    ['image', 'inspect', '--format', `{{index .Labels "${RECIPE_LABEL}"}}`, image],
    { check: false },
  );
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function buildPlatform(
  image: string,
  suite: string,
  version: string,
  p: Platform,
  log: (s: string) => void,
) {
  const recipe = createHash('sha256')
    .update(`${containerfile(version)}${ENTRYPOINT}${suite}${p}`)
    .digest('hex')
    .slice(0, 16);
  if ((await imageLabel(image)) === recipe) return false;
  const [tar, node] = await Promise.all([rootfs(suite, p, log), nodeBinary(version, p, log)]);
  const ctx = path.join(CACHE_DIR, `context-${debArch(p)}`);
  await rm(ctx, { recursive: true, force: true });
  await mkdir(ctx, { recursive: true });
  // Hard links keep the 100+ MB inputs from being copied (same file system as the cache).
  await run('ln', [tar, path.join(ctx, 'rootfs.tar')]);
  await run('ln', [node, path.join(ctx, 'node')]);
  // npm is plain JavaScript: this machine's own copy serves every architecture.
  const { stdout: globalRoot } = await run('npm', ['root', '-g']);
  await cp(path.join(globalRoot.trim(), 'npm'), path.join(ctx, 'npm'), { recursive: true });
  await writeFile(path.join(ctx, 'docker-entrypoint.sh'), ENTRYPOINT);
  await writeFile(path.join(ctx, 'Containerfile'), containerfile(version));
  log(`building stand-in ${image} (${p}, node ${version})`);
  await run(
    'podman',
    [
      'build',
      '--pull=never',
      `--platform=${p}`,
      '--label',
      `${RECIPE_LABEL}=${recipe}`,
      '-t',
      image,
      '-f',
      'Containerfile',
      '.',
    ],
    {
      cwd: ctx,
      timeoutMs: 10 * 60_000,
    },
  );
  await rm(ctx, { recursive: true, force: true });
  return true;
}

/**
 * The real base image for `p`, when its registry answers (GitHub's runners): pulled and tagged as
 * `image`. Undefined when it cannot be pulled (these machines reach no container registry), so the
 * caller builds a stand-in instead. A refused pull fails in well under a second.
 */
async function pullReal(name: string, p: Platform, image: string, log: (s: string) => void) {
  const pulled = await run('podman', ['pull', '--quiet', `--platform=${p}`, name], {
    check: false,
    timeoutMs: 10 * 60_000,
  });
  if (pulled.code !== 0) return undefined;
  await run('podman', ['tag', pulled.stdout.trim(), image]);
  log(`pulled ${name} for ${p} from its registry`);
  return image;
}

/**
 * Make `ref` (a FROM short name such as node:24-bookworm-slim) resolvable with `--pull=never` for
 * `platforms`: the real image where its registry can be reached, else an offline stand-in.
 * Returns the fully-qualified name, whether anything was (re)built and where the base came from.
 */
export async function ensureStandIn(ref: string, platforms: Platform[], log: (s: string) => void = () => {}) {
  const name = qualifiedName(ref);
  const { major, suite } = nodeImageTag(name);
  await mkdir(CACHE_DIR, { recursive: true });
  let built = false;
  let source: 'registry' | 'stand-in' = 'registry';
  let version: string | undefined;
  const images: string[] = [];
  for (const p of platforms) {
    const local = `localhost/stand-in/${name.replace(/^docker\.io\/library\//, '').replace(':', '-')}:${debArch(p)}`;
    if (source === 'registry' && (await pullReal(name, p, `${local}-registry`, log))) {
      images.push(`${local}-registry`);
      built = true;
      continue;
    }
    source = 'stand-in';
    version ??= await nodeVersionFor(major, platforms);
    built = (await buildPlatform(local, suite, version, p, log)) || built;
    images.push(local);
  }
  const listed = await run('podman', ['manifest', 'inspect', name], { check: false });
  if (built || listed.code !== 0) {
    await run('podman', ['manifest', 'rm', name], { check: false });
    await run('podman', ['rmi', name], { check: false });
    await run('podman', ['manifest', 'create', name]);
    for (const image of images) await run('podman', ['manifest', 'add', name, `containers-storage:${image}`]);
    log(`tagged ${name} → ${platforms.join(', ')}`);
  }
  return { name, nodeVersion: version, built, source };
}

/**
 * This machine's build of the Node the agent image runs (the major of agent/Dockerfile's FROM, the
 * version its stand-in uses), fetched from npm like the stand-in's: the benchmark starts the agent
 * with it. Returns the binary's path and version.
 */
export async function imageNodeForHost(dockerfile: string, log: (s: string) => void = () => {}) {
  const [base] = baseImagesOf(await readFile(dockerfile, 'utf8'));
  const { major } = nodeImageTag(qualifiedName(base.ref));
  await mkdir(CACHE_DIR, { recursive: true });
  const host: Platform = process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
  // The platform list the image build resolves the version for (build and target), so both agree.
  const version = await nodeVersionFor(major, ['linux/amd64', 'linux/arm64']);
  return { path: await nodeBinary(version, host, log), version };
}
