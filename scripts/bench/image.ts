/** The agent image's size and its layers (podman), when it has been built on this machine. */
import { run } from '../container/exec';

export type ImageFigures =
  | { available: false; note: string }
  | {
      available: true;
      tag: string;
      bytes: number;
      /** The runtime root file system (glibc, libstdc++, CA bundle, zoneinfo, stripped node). */
      baseBytes: number;
      /** Everything else: the bundle and its compile cache. */
      ourBytes: number;
      layers: { bytes: number; createdBy: string }[];
    };

const UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };

/** podman history prints sizes for people ("2.11 MB", "0 B") whatever --human says. */
export function layerBytes(size: string): number {
  const m = /^([\d.]+)\s*([kKMG]?B)$/.exec(size.trim());
  if (!m) throw new Error(`unexpected layer size "${size}" from podman history`);
  return Math.round(Number(m[1]) * UNITS[m[2]]);
}

export async function imageFigures(tag: string): Promise<ImageFigures> {
  const inspected = await run('podman', ['image', 'inspect', '--format', '{{.Size}}', tag], {
    check: false,
  }).catch((e: Error) => ({ code: 1, stdout: '', stderr: e.message }));
  if (inspected.code !== 0) {
    return {
      available: false,
      note: `no image ${tag} here: build it with npx tsx scripts/container/build-agent-image.ts`,
    };
  }
  const history = await run('podman', [
    'history',
    '--human=false',
    '--format',
    '{{.Size}}\t{{.CreatedBy}}',
    tag,
  ]);
  const layers = history.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [size, ...rest] = line.split('\t');
      return { bytes: layerBytes(size), createdBy: rest.join('\t').slice(0, 120) };
    })
    .filter((l) => l.bytes > 0);
  // Newest first: the largest layer is the runtime root file system, the ones above it are ours.
  const base = layers.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const ourBytes = layers.slice(0, layers.indexOf(base)).reduce((sum, l) => sum + l.bytes, 0);
  const bytes = Number(inspected.stdout.trim());
  return { available: true, tag, bytes, baseBytes: base.bytes, ourBytes, layers };
}
