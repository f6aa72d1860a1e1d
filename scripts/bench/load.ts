/**
 * Load: the sustained invocation rate one server process handles while its first-token p99 stays
 * within twice its idle p99, and its resident memory idle and under that load.
 *
 * Open loop: invocations start at a fixed rate (evenly spaced, each on a new session) for one step,
 * whatever the server's pace, so a slow server builds a queue instead of slowing the client down.
 * Rates double from the start rate until a step fails (first-token p99 over the limit, an error, or a
 * stream without a token), then bisect between the last good and the first failed rate. First-token
 * time here is what the user sees: POST → first TEXT_MESSAGE_CONTENT, the model's delay included.
 * Bounded by the number of steps and a time budget; loopback only.
 *
 * CPU per answer, as the kernel counts it (/proc: user + system): of the server, of the twin that
 * answers its model calls (on the same cores: its share is CPU the server cannot use), and of this
 * client, over a fixed closed-loop batch (the same invocations for every server) and over each step.
 */
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { newThreadId, postInvocation, runInput } from './agui-client';
import { cpuMs } from './processes';
import { percentile, round1 } from './stats';

export interface LoadOptions {
  /** Length of one step at a fixed rate. */
  stepMs: number;
  startRate: number;
  maxRate: number;
  /** Steps at most (doubling, then bisecting). */
  maxSteps: number;
  /** No new step starts after this long. */
  budgetMs: number;
  /** Idle first-token samples (one at a time). */
  idleSamples: number;
  /** The CPU batch: rounds of `concurrency` invocations at once, each round after the last ended. */
  cpuRounds: number;
  cpuConcurrency: number;
  /** The twin's process, whose CPU per invocation is counted beside the server's. */
  twinPid?: number;
  prompt: string;
  log: (line: string) => void;
}

export interface LoadStep {
  rate: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  ok: boolean;
  /** CPU per invocation started in the step (ms), counted from its start until its last run ended. */
  cpu?: CpuPerInvocation;
}

/** CPU time per invocation (ms, kernel-counted); undefined where /proc could not be read. */
export interface CpuPerInvocation {
  server?: number;
  twin?: number;
  client: number;
}

export interface LoadFigures {
  idleP99Ms: number;
  limitMs: number;
  /** Highest rate (invocations/s) whose step held the limit; 0 when even the start rate did not. */
  sustainedPerSecond: number;
  /** Resident set size after warm-up, idle, and the highest seen during the load steps (MB). */
  rssIdleMB: number;
  rssLoadedMB: number;
  /** The fixed CPU batch: invocations, concurrency and CPU per invocation. */
  cpu: { invocations: number; concurrency: number } & CpuPerInvocation;
  steps: LoadStep[];
}

const execFileAsync = promisify(execFile);

/** Resident set size of a process in MB: /proc on Linux, `ps` elsewhere. */
export async function rssMB(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    if (kb) return round1(Number(kb) / 1024);
  } catch {
    // not Linux
  }
  const { stdout } = await execFileAsync('ps', ['-o', 'rss=', '-p', String(pid)]);
  return round1(Number(stdout.trim()) / 1024);
}

const TOKEN = /"type":\s*"TEXT_MESSAGE_CONTENT"/;
const FINISHED = /"type":\s*"RUN_FINISHED"/;

/**
 * POST one invocation; resolves with POST → first TEXT_MESSAGE_CONTENT (ms) once the stream has ended
 * with RUN_FINISHED. A light reader (a text search, not an event parser): at high rates the client
 * shares the machine with the server it measures, so it does as little as it can, the same for both.
 */
export async function firstTokenMs(url: string, prompt: string, timeoutMs = 60_000): Promise<number> {
  const input = runInput(newThreadId('load'), [{ role: 'user', content: prompt }]);
  const started = performance.now();
  const res = await postInvocation(url, input, AbortSignal.timeout(timeoutMs));
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let first: number | undefined;
  let tail = '';
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const text = tail + decoder.decode(value, { stream: true });
    if (first === undefined && TOKEN.test(text)) first = performance.now() - started;
    tail = text.slice(-4096);
  }
  if (first === undefined) throw new Error(`no TEXT_MESSAGE_CONTENT; stream ended with ${tail.slice(-200)}`);
  if (!FINISHED.test(tail)) throw new Error(`no RUN_FINISHED; stream ended with ${tail.slice(-200)}`);
  return first;
}

/** Counts CPU from now; `per(n)` gives it per invocation for n invocations. */
async function cpuMeter(serverPid: number, twinPid?: number) {
  const read = () => Promise.all([cpuMs(serverPid), twinPid === undefined ? undefined : cpuMs(twinPid)]);
  const [server0, twin0] = await read();
  const client0 = process.cpuUsage();
  return async (invocations: number): Promise<CpuPerInvocation> => {
    const [server1, twin1] = await read();
    const client = process.cpuUsage(client0);
    const per = (ms: number) => Math.round((ms / invocations) * 100) / 100;
    const diff = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : per(b - a));
    return {
      server: diff(server0, server1),
      twin: diff(twin0, twin1),
      client: per((client.user + client.system) / 1000),
    };
  };
}

async function step(
  url: string,
  pid: number,
  rate: number,
  o: LoadOptions,
  onRss: () => void,
): Promise<LoadStep> {
  const count = Math.max(1, Math.round((rate * o.stepMs) / 1000));
  const interval = 1000 / rate;
  const cpu = await cpuMeter(pid, o.twinPid);
  const started = performance.now();
  const runs: Promise<number | Error>[] = [];
  const sampler = setInterval(onRss, 100);
  try {
    for (let i = 0; i < count; i++) {
      const due = started + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      runs.push(firstTokenMs(url, o.prompt).catch((e: Error) => e));
    }
    const results = await Promise.all(runs);
    const times = results.filter((r): r is number => typeof r === 'number');
    return {
      rate,
      samples: times.length,
      p50Ms: round1(percentile(times, 50)),
      p99Ms: round1(percentile(times, 99)),
      errors: results.length - times.length,
      ok: false,
      cpu: await cpu(count),
    };
  } finally {
    clearInterval(sampler);
  }
}

/** The load figure of the server at `url` (process `pid`, for its memory). */
export async function measureLoad(url: string, pid: number, o: LoadOptions): Promise<LoadFigures> {
  // Warm-up, then the idle first-token p99, one invocation at a time.
  for (let i = 0; i < 5; i++) await firstTokenMs(url, o.prompt);
  const idle: number[] = [];
  for (let i = 0; i < o.idleSamples; i++) idle.push(await firstTokenMs(url, o.prompt));
  const idleP99Ms = round1(percentile(idle, 99));
  const limitMs = round1(2 * idleP99Ms);

  // The same closed-loop batch for every server: CPU per answer, not disturbed by queueing.
  const cpuInvocations = o.cpuRounds * o.cpuConcurrency;
  const meter = await cpuMeter(pid, o.twinPid);
  for (let r = 0; r < o.cpuRounds; r++)
    await Promise.all(Array.from({ length: o.cpuConcurrency }, () => firstTokenMs(url, o.prompt)));
  const cpu = {
    invocations: cpuInvocations,
    concurrency: o.cpuConcurrency,
    ...(await meter(cpuInvocations)),
  };
  o.log(
    `    CPU per invocation (${cpuInvocations}, ${o.cpuConcurrency} at once): server ${cpu.server ?? 'n/a'} ms, twin ${cpu.twin ?? 'n/a'} ms, client ${cpu.client} ms`,
  );
  await sleep(500);
  const rssIdleMB = await rssMB(pid);
  let rssLoadedMB = rssIdleMB;
  const sampleRss = () =>
    void rssMB(pid).then(
      (mb) => (rssLoadedMB = Math.max(rssLoadedMB, mb)),
      () => undefined,
    );

  const steps: LoadStep[] = [];
  const deadline = performance.now() + o.budgetMs;
  let good = 0;
  let bad = Infinity;
  let rate = o.startRate;
  while (steps.length < o.maxSteps && performance.now() < deadline) {
    const s = await step(url, pid, rate, o, sampleRss);
    s.ok = s.errors === 0 && s.samples > 0 && s.p99Ms <= limitMs;
    steps.push(s);
    o.log(
      `    ${rate}/s: p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms (limit ${limitMs})${s.errors ? `, ${s.errors} errors` : ''}, CPU/invocation server ${s.cpu?.server ?? 'n/a'} twin ${s.cpu?.twin ?? 'n/a'} ms → ${s.ok ? 'held' : 'over'}`,
    );
    if (s.ok) good = Math.max(good, rate);
    else bad = Math.min(bad, rate);
    // Let the queue of a failed step drain before the next one.
    await sleep(s.ok ? 200 : 1500);
    if (bad === Infinity) {
      if (rate >= o.maxRate) break;
      rate = Math.min(o.maxRate, rate * 2);
    } else {
      // Bisect to within 10% of the last good rate.
      if (bad - good <= Math.max(1, good * 0.1)) break;
      rate = Math.round((good + bad) / 2);
    }
  }
  return { idleP99Ms, limitMs, sustainedPerSecond: good, rssIdleMB, rssLoadedMB, cpu, steps };
}
