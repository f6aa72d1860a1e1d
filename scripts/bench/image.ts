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
      return { bytes: Number(size), createdBy: rest.join('\t').slice(0, 120) };
    })
    .filter((l) => l.bytes > 0);
  const base = layers.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const bytes = Number(inspected.stdout.trim());
  return { available: true, tag, bytes, baseBytes: base.bytes, ourBytes: bytes - base.bytes, layers };
}
