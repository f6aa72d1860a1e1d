/** Build agent/Dockerfile for linux/arm64 with podman, offline: stand-ins for its FROM images first. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec';
import { baseImagesOf, CACHE_DIR, ensureStandIn, type Platform } from './stand-in';

const TARGET: Platform = 'linux/arm64';
const BUILD_PLATFORM: Platform = process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';

/** The platform a FROM line runs on: its --platform (with the build platform substituted) or the target. */
function platformOf(flag: string | undefined): Platform {
  if (!flag) return TARGET;
  if (/BUILDPLATFORM/.test(flag)) return BUILD_PLATFORM;
  if (/TARGETPLATFORM/.test(flag)) return TARGET;
  if (flag === 'linux/amd64' || flag === 'linux/arm64') return flag;
  throw new Error(`FROM --platform=${flag} is not a platform the stand-ins cover (linux/amd64, linux/arm64)`);
}

/**
 * Where this machine's npm trusts an extra CA (`npm config get cafile`: a TLS-inspecting proxy in front of
 * the registry), the build's RUN steps get the same trust through build-time mounts: the CA bundle and a
 * global npmrc naming it. Mounts are not committed, so the image is unchanged; without a cafile, none.
 */
async function npmTrustMounts(root: string): Promise<string[]> {
  const { stdout } = await run('npm', ['config', 'get', 'cafile'], { cwd: root, check: false });
  const cafile = stdout.trim();
  if (!cafile.startsWith('/') || !existsSync(cafile)) return [];
  const npmrc = path.join(CACHE_DIR, 'build-npmrc');
  await mkdir(CACHE_DIR, { recursive: true });
  await writeFile(npmrc, `cafile=${cafile}\n`);
  return ['-v', `${cafile}:${cafile}:ro`, '-v', `${npmrc}:/usr/local/etc/npmrc:ro`];
}

export interface AgentImageOptions {
  /** Repository root (build context). */
  root: string;
  tag: string;
  log?: (line: string) => void;
}

export async function agentImage({ root, tag, log = () => {} }: AgentImageOptions) {
  const dockerfile = path.join(root, 'agent/Dockerfile');
  const froms = baseImagesOf(await readFile(dockerfile, 'utf8'));
  const platforms = new Map<string, Set<Platform>>();
  for (const f of froms)
    platforms.set(f.ref, (platforms.get(f.ref) ?? new Set()).add(platformOf(f.platform)));
  const bases = [];
  for (const [ref, set] of platforms) bases.push({ ref, ...(await ensureStandIn(ref, [...set], log)) });

  log(`building ${tag} from agent/Dockerfile for ${TARGET}`);
  const ignorefile = `${dockerfile}.dockerignore`;
  const mounts = await npmTrustMounts(root);
  const { ms } = await run(
    'podman',
    [
      'build',
      '--pull=never',
      `--platform=${TARGET}`,
      '--format=oci',
      '-f',
      dockerfile,
      ...(await readFile(ignorefile).then(
        () => ['--ignorefile', ignorefile],
        () => [],
      )),
      ...mounts,
      '-t',
      tag,
      root,
    ],
    { timeoutMs: 15 * 60_000 },
  );
  const { stdout } = await run('podman', ['image', 'inspect', '--format', '{{.Size}}', tag]);
  return { tag, bases, ms, bytes: Number(stdout.trim()) };
}
