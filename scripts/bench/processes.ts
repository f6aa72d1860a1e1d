/** Servers under measurement as child processes on loopback: spawn, wait for /ping, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** performance.now() when the process was spawned. */
  spawnedAt: number;
  /** Everything the process wrote to stderr (for error messages). */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Spawn `command args` serving HTTP on 127.0.0.1:<free port> (PORT/HOST in its environment). Its stdout
 * is a pipe that is read and discarded, as the runtime reads an agent's log and metric lines.
 */
export async function spawnServer(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<ServerProcess> {
  const port = await freePort();
  const spawnedAt = performance.now();
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.resume();
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
  const exited = once(child, 'exit');
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    spawnedAt,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => false), sleep(5_000).then(() => true)]);
      if (killed) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/**
 * Poll GET <url>/ping until it answers {"status":"Healthy"}; returns performance.now() at that moment.
 * `gone` reports why waiting is pointless (e.g. the process exited).
 */
export async function pingUntilHealthy(
  url: string,
  { timeoutMs = 30_000, intervalMs = 5, gone = () => undefined as string | undefined } = {},
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const why = gone();
    if (why) throw new Error(why);
    try {
      const res = await fetch(`${url}/ping`);
      const body = (await res.json()) as { status?: string };
      if (res.ok && body.status === 'Healthy') return performance.now();
    } catch {
      // not listening yet
    }
    await sleep(intervalMs);
  }
  throw new Error(`no Healthy /ping from ${url} within ${timeoutMs} ms`);
}

export function waitHealthy(server: ServerProcess, timeoutMs = 30_000, intervalMs = 5): Promise<number> {
  return pingUntilHealthy(server.url, {
    timeoutMs,
    intervalMs,
    gone: () =>
      server.child.exitCode === null
        ? undefined
        : `server exited with ${server.child.exitCode} before /ping answered:`,
  }).catch((e: Error) => {
    throw new Error(`${e.message}\n${server.stderr()}`);
  });
}

/** The twin in a child process (scripts/bench/twin-process.ts); resolves once it printed its URL. */
export async function spawnTwin(firstTokenDelayMs: number) {
  const script = new URL('./twin-process.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(firstTokenDelayMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  let out = '';
  const ready = new Promise<{ url: string; env: Record<string, string>; memoryId: string }>(
    (resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
      });
      void exited.then(([code]) =>
        reject(new Error(`the twin process exited with ${code} before listening`)),
      );
    },
  );
  const twin = await Promise.race([
    ready,
    sleep(120_000).then(() => Promise.reject(new Error('the twin process did not start within 120 s'))),
  ]);
  return {
    ...twin,
    /** The twin's process id (its CPU time and memory can be read while it serves). */
    pid: child.pid!,
    async close() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/**
 * User + system CPU time a process has used so far (ms), as the kernel counts it (/proc/<pid>/stat,
 * utime + stime in clock ticks of 10 ms); undefined off Linux or once the process is gone.
 */
export async function cpuMs(pid: number): Promise<number | undefined> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
