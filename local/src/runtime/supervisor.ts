import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';

/** What to run for one (runtime, version). */
export interface InstanceSpec {
  runtimeId: string;
  version: string;
  /** Shown in log prefixes, e.g. `myagent v3`. */
  label: string;
  artifactPath: string;
  env: Record<string, string>;
  idleTimeoutMs: number;
  maxLifetimeMs: number;
}

export interface LogLine {
  time: string;
  runtimeId: string;
  version: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface Instance {
  readonly key: string;
  readonly spec: InstanceSpec;
  readonly port: number;
  readonly pid: number | undefined;
  readonly startedAt: number;
  /** Sessions that have been routed to this instance and not stopped. */
  readonly sessions: Set<string>;
  inflight: number;
}

interface Running extends Instance {
  child: ChildProcess;
  exited: Promise<void>;
  idleTimer?: NodeJS.Timeout;
  lifetimeTimer?: NodeJS.Timeout;
  retiring: boolean;
}

const LOG_LIMIT = 1000;
export const instanceKey = (runtimeId: string, version: string) => `${runtimeId}#${version}`;

/** Error a start failure carries, so the data plane can answer like the service. */
export class StartError extends Error {}

/**
 * One child process per (runtime, version), started on demand with `node <artifact>`, checked with
 * GET /ping, stopped when idle, at its maximum lifetime, or when the twin closes.
 */
export class Supervisor {
  private readonly instances = new Map<string, Promise<Running>>();
  private readonly logs: LogLine[] = [];
  private readonly killAll = () => {
    for (const p of this.instances.values())
      void p.then(
        (i) => i.child.kill('SIGKILL'),
        () => undefined,
      );
  };

  constructor(
    private readonly options: {
      startTimeoutMs: number;
      logAgentOutput: boolean;
      onLine?: (line: LogLine) => void;
    },
  ) {
    // A twin that dies without close() must not leave agents running.
    process.once('exit', this.killAll);
  }

  /** The running (healthy) instance for the spec, starting it if needed; counts one request in flight. */
  async acquire(spec: InstanceSpec): Promise<Instance> {
    const key = instanceKey(spec.runtimeId, spec.version);
    let starting = this.instances.get(key);
    if (!starting) {
      starting = this.start(key, spec);
      this.instances.set(key, starting);
      starting.catch(() => this.instances.delete(key));
    }
    const instance = await starting;
    instance.inflight++;
    if (instance.idleTimer) clearTimeout(instance.idleTimer);
    return instance;
  }

  /** One request finished: arm the idle timer when nothing else is in flight. */
  release(instance: Instance) {
    const i = instance as Running;
    i.inflight--;
    if (i.inflight > 0) return;
    if (i.retiring) void this.stop(i.key);
    else i.idleTimer = setTimeout(() => void this.stop(i.key), i.spec.idleTimeoutMs).unref();
  }

  /** The instance under `key` once it has started; undefined if there is none or its start failed. */
  async get(key: string): Promise<Instance | undefined> {
    return this.instances.get(key)?.catch(() => undefined);
  }

  async list(): Promise<Instance[]> {
    const settled = await Promise.allSettled(this.instances.values());
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  recentLogs(filter: { runtimeId?: string; version?: string } = {}): LogLine[] {
    return this.logs.filter(
      (l) =>
        (!filter.runtimeId || l.runtimeId === filter.runtimeId) &&
        (!filter.version || l.version === filter.version),
    );
  }

  async stop(key: string): Promise<void> {
    const starting = this.instances.get(key);
    if (!starting) return;
    this.instances.delete(key);
    const i = await starting.catch(() => undefined);
    if (!i) return;
    clearTimeout(i.idleTimer);
    clearTimeout(i.lifetimeTimer);
    i.child.kill('SIGTERM');
    const killer = setTimeout(() => i.child.kill('SIGKILL'), 2_000).unref();
    await i.exited;
    clearTimeout(killer);
  }

  async stopWhere(predicate: (i: Instance) => boolean): Promise<void> {
    const all = await this.list();
    await Promise.all(all.filter(predicate).map((i) => this.stop(i.key)));
  }

  async close(): Promise<void> {
    process.off('exit', this.killAll);
    await Promise.all([...this.instances.keys()].map((k) => this.stop(k)));
  }

  private async start(key: string, spec: InstanceSpec): Promise<Running> {
    const port = await freePort();
    const child = spawn(process.execPath, [spec.artifactPath], {
      env: { ...spec.env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let exitInfo: string | undefined;
    child.once('exit', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      // A crashed instance is forgotten so the next request starts a fresh one.
      void this.instances.get(key)?.then(
        (i) => i.child === child && this.instances.delete(key),
        () => undefined,
      );
    });
    this.capture(child, spec);

    const instance: Running = {
      key,
      spec,
      port,
      pid: child.pid,
      startedAt: Date.now(),
      sessions: new Set(),
      inflight: 0,
      child,
      exited,
      retiring: false,
    };
    const deadline = Date.now() + this.options.startTimeoutMs;
    while (!(await healthy(port))) {
      if (exitInfo) {
        const tail = this.recentLogs({ runtimeId: spec.runtimeId, version: spec.version })
          .slice(-5)
          .map((l) => l.line)
          .join(' | ');
        throw new StartError(
          `The runtime process exited during initialization (${exitInfo})${tail ? `: ${tail}` : ''}`,
        );
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new StartError(
          `Runtime initialization time exceeded. Please make sure that initialization completes in ${Math.round(this.options.startTimeoutMs / 1000)}s.`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    instance.lifetimeTimer = setTimeout(() => {
      instance.retiring = true;
      if (instance.inflight === 0) void this.stop(key);
    }, spec.maxLifetimeMs).unref();
    return instance;
  }

  private capture(child: ChildProcess, spec: InstanceSpec) {
    for (const stream of ['stdout', 'stderr'] as const) {
      readline.createInterface({ input: child[stream]! }).on('line', (line) => {
        const entry: LogLine = {
          time: new Date().toISOString(),
          runtimeId: spec.runtimeId,
          version: spec.version,
          stream,
          line,
        };
        this.logs.push(entry);
        if (this.logs.length > LOG_LIMIT) this.logs.shift();
        if (this.options.logAgentOutput) process.stderr.write(`[${spec.label}] ${line}\n`);
        this.options.onLine?.(entry);
      });
    }
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The service's health check: GET /ping answering Healthy or HealthyBusy. */
async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return false;
    const body = (await res.json()) as { status?: string };
    return body.status === 'Healthy' || body.status === 'HealthyBusy';
  } catch {
    return false;
  }
}
