import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentBundleInputs } from '../../scripts/build-agent';

const root = path.resolve(import.meta.dirname, '../..');
const dockerfile = fs.readFileSync(path.join(root, 'agent/Dockerfile'), 'utf8');

/** The Dockerfile's stages: FROM line fields and their instructions (continuation lines joined). */
function stages() {
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const out: { platform?: string; base: string; name?: string; instructions: string[] }[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(?:--platform=(\S+)\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) out.push({ platform: from[1], base: from[2], name: from[3], instructions: [] });
    else out.at(-1)?.instructions.push(line);
  }
  return out;
}

/** Sources the Dockerfile copies from the build context (COPY <src> <dest>, repository-relative). */
function copiedSources(): string[] {
  return [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => {
    const parts = m[1].trim().split(/\s+/);
    return parts.slice(0, -1);
  });
}

describe('agent/Dockerfile', () => {
  it('copies every repository source the agent bundle imports, so the image builds from a clean checkout', async () => {
    const sources = (await agentBundleInputs()).filter((i) => !i.includes('node_modules/'));
    const copied = copiedSources();
    const missing = sources.filter(
      (s) => !copied.some((c) => s === c || s.startsWith(`${c.replace(/\/$/, '')}/`)),
    );
    expect(sources.length).toBeGreaterThan(5);
    expect(missing).toEqual([]);
  });

  it('runs from scratch: the assembled root file system and /app, a non-root user, nothing run in it', () => {
    const runtime = stages().at(-1)!;
    expect(runtime.base).toBe('scratch');
    const copies = runtime.instructions.filter((i) => i.startsWith('COPY'));
    expect(copies).toEqual(['COPY --from=rootfs /rootfs/ /', 'COPY --from=warm --chown=0:0 /app /app']);
    expect(runtime.instructions.filter((i) => /^(RUN|ADD)\b/.test(i))).toEqual([]);
    const user = runtime.instructions.find((i) => i.startsWith('USER'));
    expect(user).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
    expect(runtime.instructions).toContain('CMD ["node", "server.mjs"]');
    expect(runtime.instructions.join('\n')).toMatch(/NODE_COMPILE_CACHE=\/app\/\.compile-cache/);
  });

  it('puts only glibc, libstdc++/libgcc, CA certificates, zoneinfo, a stripped node and the user in the root file system', () => {
    const rootfs = stages().find((s) => s.name === 'rootfs')!;
    const script = rootfs.instructions.filter((i) => i.startsWith('RUN')).join('\n');
    // Libraries copied into it, by name: exactly what node links against (readelf -d: NEEDED).
    const libs = /for lib in (.+?); do/.exec(script)?.[1].split(/\s+/);
    expect(libs).toEqual([
      '"$loader"',
      'libc.so.6',
      'libm.so.6',
      'libdl.so.2',
      'libpthread.so.0',
      'libstdc++.so.6',
      'libgcc_s.so.1',
    ]);
    expect(script).toMatch(/strip" --strip-all -o "\$r\/usr\/local\/bin\/node"/);
    // Nothing from a package manager or a shell reaches /rootfs: no npm, no Perl, no /bin.
    expect(script).not.toMatch(/\$r\/(bin|usr\/bin|usr\/local\/lib|usr\/lib\/node_modules)/);
    expect(script).not.toMatch(/npm|perl/i);
    expect(script).toMatch(/agent:x:10001:10001::\/app:/);
  });

  it('runs npm and esbuild on the build machine’s platform, and node’s files come from the target’s image', () => {
    const all = stages();
    for (const s of all.filter((s) => s.instructions.some((i) => /\bnpm\b|apt-get/.test(i))))
      expect(s.platform, `stage ${s.name}`).toBe('$BUILDPLATFORM');
    const node = all.find((s) => s.name === 'node')!;
    expect(node).toMatchObject({ base: 'node:24-bookworm-slim', platform: undefined });
    expect(all.find((s) => s.name === 'warm')).toMatchObject({ base: 'node' });
  });

  it('makes the compile cache as the runtime’s user (node keys its cache directory by uid)', () => {
    const all = stages();
    const runtimeUser = all.at(-1)!.instructions.find((i) => i.startsWith('USER'));
    const warm = all.find((s) => s.name === 'warm')!.instructions;
    const userAt = warm.findIndex((i) => i.startsWith('USER'));
    const cacheAt = warm.findIndex((i) => /NODE_COMPILE_CACHE=\/app\/\.compile-cache node /.test(i));
    expect(warm[userAt]).toBe(runtimeUser);
    expect(cacheAt).toBeGreaterThan(userAt);
  });
});
