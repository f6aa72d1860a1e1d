/** Build agent/Dockerfile for linux/arm64 with podman, offline: stand-ins for its FROM images first. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec';
import { baseImagesOf, CACHE_DIR, ensureStandIn, type Platform } from './stand-in';

const BUILD_PLATFORM: Platform = process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
const PLATFORMS: Platform[] = ['linux/amd64', 'linux/arm64'];

/** The platform a FROM line runs on: its --platform (with the build platform substituted) or the target. */
function platformOf(flag: string | undefined, target: Platform): Platform {
  if (!flag) return target;
  if (/BUILDPLATFORM/.test(flag)) return BUILD_PLATFORM;
  if (/TARGETPLATFORM/.test(flag)) return target;
  if (flag === 'linux/amd64' || flag === 'linux/arm64') return flag;
  throw new Error(`FROM --platform=${flag} is not a platform the stand-ins cover (linux/amd64, linux/arm64)`);
}

/**
 * Where this machine's npm trusts an extra CA (`npm config get cafile`: a TLS-inspecting proxy in front of
 * the registry), the build's RUN steps get the same trust through build-time mounts: the CA bundle and a
 * global npmrc naming it. Mounts are not committed, so the image is unchanged; without a cafile, none.
 */
async function npmTrustMounts(cwd: string): Promise<string[]> {
  const { stdout } = await run('npm', ['config', 'get', 'cafile'], { cwd, check: false });
  const cafile = stdout.trim();
  if (!cafile.startsWith('/') || !existsSync(cafile)) return [];
  // Mounted at a path of its own: at the machine's path (/etc/ssl/certs/ca-certificates.crt) the
  // read-only mount made the ca-certificates package fail to install in the build, and could put this
  // machine's trust into the image.
  const mounted = '/run/npm-trust/ca.pem';
  const npmrc = path.join(CACHE_DIR, 'build-npmrc');
  await mkdir(CACHE_DIR, { recursive: true });
  await writeFile(npmrc, `cafile=${mounted}\n`);
  return ['-v', `${cafile}:${mounted}:ro`, '-v', `${npmrc}:/usr/local/etc/npmrc:ro`];
}

/**
 * The build platform's automatic build arguments, as BuildKit sets them. Podman 4.3 (buildah 1.28)
 * leaves them unset while it reads FROM lines, so `FROM --platform=$BUILDPLATFORM` resolved to the
 * target platform and the build stages (npm ci, esbuild) ran under qemu: 40 minutes instead of one.
 */
export const buildPlatformArgs = (): string[] => {
  const [os, arch] = BUILD_PLATFORM.split('/');
  return Object.entries({ BUILDPLATFORM: BUILD_PLATFORM, BUILDOS: os, BUILDARCH: arch }).flatMap(([k, v]) => [
    '--build-arg',
    `${k}=${v}`,
  ]);
};

export interface AgentImageOptions {
  /** Build context, Dockerfile and target platform: pass build-image's (releaseBuildInputs). */
  context: string;
  dockerfile: string;
  platform: string;
  tag: string;
  log?: (line: string) => void;
}

/** Build the Dockerfile as the build-image action would (same context, file and platform), with podman. */
export async function agentImage({ context, dockerfile, platform, tag, log = () => {} }: AgentImageOptions) {
  const target = PLATFORMS.find((p) => p === platform);
  if (!target)
    throw new Error(`platform ${platform} is not one the stand-ins cover (${PLATFORMS.join(', ')})`);
  const froms = baseImagesOf(await readFile(dockerfile, 'utf8'));
  const platforms = new Map<string, Set<Platform>>();
  for (const f of froms)
    platforms.set(f.ref, (platforms.get(f.ref) ?? new Set()).add(platformOf(f.platform, target)));
  const bases = [];
  for (const [ref, set] of platforms) bases.push({ ref, ...(await ensureStandIn(ref, [...set], log)) });

  log(`building ${tag} from ${path.relative(context, dockerfile)} in ${context} for ${target}`);
  const ignorefile = `${dockerfile}.dockerignore`;
  const mounts = await npmTrustMounts(context);
  const { ms } = await run(
    'podman',
    [
      'build',
      '--pull=never',
      `--platform=${target}`,
      '--format=oci',
      ...buildPlatformArgs(),
      '-f',
      dockerfile,
      ...(await readFile(ignorefile).then(
        () => ['--ignorefile', ignorefile],
        () => [],
      )),
      ...mounts,
      '-t',
      tag,
      context,
    ],
    { timeoutMs: 15 * 60_000 },
  );
  const { stdout } = await run('podman', ['image', 'inspect', '--format', '{{.Size}}', tag]);
  return { tag, bases, ms, bytes: Number(stdout.trim()) };
}
