/** Build agent/Dockerfile for linux/arm64 with podman, offline: stand-ins for its FROM images first. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec';
import { baseImagesOf, ensureStandIn, type Platform } from './stand-in';

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
      '-t',
      tag,
      root,
    ],
    { timeoutMs: 15 * 60_000 },
  );
  const { stdout } = await run('podman', ['image', 'inspect', '--format', '{{.Size}}', tag]);
  return { tag, bases, ms, bytes: Number(stdout.trim()) };
}
