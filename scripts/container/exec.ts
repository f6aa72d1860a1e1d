import { spawn } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  /** Kill the command after this long (default 2 minutes). */
  timeoutMs?: number;
  /** Throw on a non-zero exit (default true). */
  check?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a command to completion, bounded in time; on failure the error carries its output. */
export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? -1, stdout, stderr, ms: performance.now() - started };
      if (options.check === false || code === 0) return resolve(result);
      const why = signal
        ? `was killed (${signal}${signal === 'SIGKILL' ? ', time limit' : ''})`
        : `exited ${code}`;
      reject(new Error(`${cmd} ${args.join(' ')} ${why}\n${stderr.slice(-4000) || stdout.slice(-4000)}`));
    });
  });
}
