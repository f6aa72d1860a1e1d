import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const main = path.join(root, 'agent/src/main.ts');

export interface AgentProcess {
  child: ChildProcess;
  /** Parsed stdout JSON lines (log and EMF), until stdout is closed. */
  lines: Record<string, unknown>[];
  stderr(): string;
  /** The exit code (null when killed by a signal), once stdout and stderr are closed. */
  exited: Promise<number | null>;
  /** The base URL once the agent logged 'agent listening'. */
  listening(): Promise<string>;
  /** Close this end of stdout (or stderr), as `| head` does when it has read enough: later writes fail with EPIPE. */
  closeStdout(): void;
  closeStderr(): void;
  /**
   * SIGTERM, then wait for the exit up to `waitMs`: the exit code (undefined: still running) and the
   * milliseconds it took.
   */
  terminate(waitMs?: number): Promise<{ code: number | null | undefined; ms: number }>;
}

/**
 * The agent as its own process (as in the container), with stdout JSON lines collected. One process:
 * node with tsx's loader, not the tsx CLI, whose child a SIGKILL would leave running.
 */
export function spawnAgent(env: Record<string, string>): AgentProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: root,
    env: { PATH: process.env.PATH!, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    for (const line of parts) if (line.startsWith('{')) lines.push(JSON.parse(line));
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close' waits for stdout to drain; 'exit' can fire before the last log lines are read.
  const exited = once(child, 'close').then(([code]) => code as number | null);
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    async listening() {
      const listened = () => lines.find((l) => l.msg === 'agent listening');
      // Generous: starting takes seconds when the machine is busy (tsx compiles the sources).
      await expect.poll(listened, { timeout: 30_000 }).toBeTruthy();
      expect(child.exitCode).toBeNull();
      const url = `http://127.0.0.1:${listened()!.port}`;
      // main.ts installs its SIGTERM handler right after that line, in the same turn of the event
      // loop: once /ping is answered it is in place (before it, SIGTERM kills the process outright).
      expect((await fetch(`${url}/ping`)).status).toBe(200);
      return url;
    },
    closeStdout: () => child.stdout!.destroy(),
    closeStderr: () => child.stderr!.destroy(),
    async terminate(waitMs = 20_000) {
      const start = Date.now();
      const exit = once(child, 'exit').then(([code]) => code as number | null);
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exit,
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs))),
      ]);
      clearTimeout(timer);
      return { code, ms: Date.now() - start };
    },
  };
}

/** Each test starts an agent process: seconds on a busy machine. */
export const PROCESS_TEST_TIMEOUT_MS = 90_000;

/** A TCP port that accepts connections and never answers (an endpoint that hangs). */
export async function blackHole() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
