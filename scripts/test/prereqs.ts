import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const onPath = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** What building and running the arm64 agent image needs that this machine lacks (empty: ready). */
export function missingContainerTools(): string[] {
  const missing = ['podman', 'mmdebstrap', 'runc']
    .filter((c) => !onPath(c))
    .map((c) => `${c} (apt package ${c})`);
  if (process.arch !== 'arm64' && !existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64')) {
    missing.push('arm64 emulation (qemu-user-static registered as qemu-aarch64 in a mounted binfmt_misc)');
  }
  return missing;
}

/** Debian's Chromium binary, or undefined. */
export function chromiumPath(): string | undefined {
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
}

/**
 * Skip with a message when a system tool is missing outside CI; with CI set, the suite must run, so
 * the missing tool becomes a failure that names the install script.
 */
export function requireOrSkip(what: string, missing: string[], installer: string): boolean {
  if (!missing.length) return false;
  const message = `${what}: missing ${missing.join('; ')}. Install with: sudo bash ${installer}`;
  if (process.env.CI) throw new Error(`CI is set, so ${message}`);
  console.warn(`SKIPPED ${message}`);
  return true;
}
