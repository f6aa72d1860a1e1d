/** Pipeline figures: rehearsal per step, action start-up, synth time, bundle sizes. */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from '../container/exec';
import { median, round1 } from './stats';

export interface RehearsalStep {
  step: string;
  ms: number;
  ok: boolean;
}

/** The rows of the rehearsal's printed table: `<step>  <seconds> s  ok|FAIL <note>`. */
export function parseRehearsalTable(stdout: string): RehearsalStep[] {
  const rows: RehearsalStep[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(.+?)\s+(\d+(?:\.\d+)?) s\s+(ok|FAIL)\b/.exec(line);
    if (m && m[1].trim() !== 'total')
      rows.push({ step: m[1].trim(), ms: Math.round(Number(m[2]) * 1000), ok: m[3] === 'ok' });
  }
  return rows;
}

export async function measureRehearsal(root: string, log: (s: string) => void) {
  const script = path.join(root, 'scripts/rehearse.ts');
  const source = await readFile(script, 'utf8').catch(() => undefined);
  if (!source) return { available: false as const, note: 'scripts/rehearse.ts does not exist' };
  const wantsJson = source.includes("'--json'");
  log(`  npm run rehearse${wantsJson ? ' -- --json' : ''}`);
  const r = await run('npm', ['run', '--silent', 'rehearse', ...(wantsJson ? ['--', '--json'] : [])], {
    cwd: root,
    check: false,
    timeoutMs: 10 * 60_000,
  });
  let steps: RehearsalStep[];
  if (wantsJson) {
    const json = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
      steps?: RehearsalStep[];
      rows?: RehearsalStep[];
    };
    steps = json.steps ?? json.rows ?? [];
  } else {
    steps = parseRehearsalTable(r.stdout);
  }
  const find = (re: RegExp) => steps.filter((s) => re.test(s.step));
  return {
    available: true as const,
    exitCode: r.code,
    wallMs: Math.round(r.ms),
    stepsTotalMs: steps.reduce((s, x) => s + x.ms, 0),
    steps,
    smokeGate: find(/smoke gate/i),
    rollback: find(/rollback/i),
    // Promotion is the same repoint of `live` as a rollback, without the verifying invocation.
    promote: find(/promote/i),
  };
}

/** Start-up time of each bundled action: spawn it with no inputs, time until it exits with its missing-input error. */
export async function measureActionStarts(root: string, repeats: number, log: (s: string) => void) {
  const dist = path.join(root, '.github/actions/dist');
  const files = (await readdir(dist).catch(() => [])).filter((f) => /\.(c|m)?js$/.test(f)).sort();
  const results = [];
  for (const file of files) {
    const times: number[] = [];
    let error = '';
    let exitCode = 0;
    for (let i = 0; i < repeats; i++) {
      // No INPUT_* and no runner variables: the action must fail fast on its first required input.
      const r = await run(process.execPath, [path.join(dist, file)], {
        check: false,
        timeoutMs: 30_000,
        env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      times.push(r.ms);
      exitCode = r.code;
      error =
        (r.stdout + r.stderr)
          .split('\n')
          .find((l) => l.startsWith('::error::'))
          ?.replace('::error::', '') ?? '';
    }
    const bytes = (await stat(path.join(dist, file))).size;
    const gzipBytes = gzipSync(await readFile(path.join(dist, file))).length;
    results.push({
      action: file.replace(/\.(c|m)?js$/, ''),
      startMedianMs: round1(median(times)),
      runs: repeats,
      exitCode,
      error,
      bytes,
      gzipBytes,
    });
    log(`  ${file}: ${round1(median(times))} ms (exit ${exitCode}: ${error})`);
  }
  return results;
}

export async function measureSynth(root: string, log: (s: string) => void) {
  log('  npm run synth');
  const r = await run('npm', ['run', '--silent', 'synth'], {
    cwd: root,
    check: false,
    timeoutMs: 5 * 60_000,
  });
  const stacks = Number(/synthesized (\d+) stacks?/.exec(r.stdout)?.[1] ?? 0);
  return {
    exitCode: r.code,
    wallMs: Math.round(r.ms),
    stacks,
    ...(r.code ? { error: r.stderr.slice(-500) } : {}),
  };
}

export async function fileSize(file: string) {
  const data = await readFile(file);
  return { bytes: data.length, gzipBytes: gzipSync(data).length };
}
