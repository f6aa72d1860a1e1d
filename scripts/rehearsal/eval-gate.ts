/**
 * Rehearsal step: a candidate whose prompt no longer names a tool is rejected by the eval gate, while
 * the guardrail and latency gates (smoke-test) pass — the regression only evals catch. Run from
 * scripts/rehearse.ts after dev's release, with its closures:
 *
 *   await step('dev: candidate that stops calling a tool → eval gate rejects it, smoke passes', () =>
 *     rehearseEvalGate({ action, assume, work, bundle, env: dev, liveVersion: () => liveVersion('dev') }));
 */
import fs from 'node:fs';
import path from 'node:path';
import { sharedResourceNames, type Environment } from '../../environments';
import { INSTRUCTIONS } from '../../agent/src/instructions';
import { suitesDir } from '../../evals/schema';
import { pushLocalImage } from '../push-local-image';
import { agentArtifact, type ActionRun } from '../rehearse';

export interface EvalGateRehearsal {
  /** Runs a committed action bundle with the job's environment (rehearse's `action`). */
  action: (name: string, inputs: Record<string, string | undefined>) => Promise<ActionRun>;
  /** Assumes the environment's role for a workflow job (rehearse's `assume`). */
  assume: (environment: string, job: { environment?: string }) => Promise<unknown>;
  /** The rehearsal's scratch folder and the built agent bundle (agent/dist/server.mjs). */
  work: string;
  bundle: string;
  env: Environment;
  /** The version the environment's live endpoint serves. */
  liveVersion: () => Promise<string | undefined>;
}

/** The tool the regressed candidate's prompt stops naming, and the eval case that must catch it. */
const DROPPED_TOOL = 'current_time';
const CATCHING_CASE = 'the time in a city comes from current_time';

/**
 * The agent bundle with a prompt change: its instructions say "the clock" where they named
 * current_time. The tool is still registered; a model told nothing about it stops calling it.
 */
export function bundleWithoutToolInstruction(bundle: string, out: string): string {
  const code = fs.readFileSync(bundle, 'utf8');
  // The instructions as the bundle holds them: the first and last sentence are unique and stable.
  const start = code.indexOf(INSTRUCTIONS.slice(0, 60));
  const endText = INSTRUCTIONS.slice(-60);
  const end = code.indexOf(endText, start) + endText.length;
  if (start < 0 || end < start)
    throw new Error(
      `${bundle} does not contain the agent's instructions verbatim; rebuild it (npm run build:agent)`,
    );
  const instructions = code.slice(start, end);
  if (!instructions.includes(DROPPED_TOOL))
    throw new Error(`the instructions no longer name ${DROPPED_TOOL}`);
  fs.writeFileSync(
    out,
    code.slice(0, start) + instructions.replaceAll(DROPPED_TOOL, 'the clock') + code.slice(end),
  );
  return out;
}

/**
 * The committed suites but memory: the rehearsal's provision() creates the memory without the
 * stack's long-term strategies, so nothing could be recalled across sessions on either endpoint.
 */
function suitesWithoutMemory(work: string): string {
  const dir = path.join(work, 'eval-suites');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(suitesDir).filter((f) => f.endsWith('.yaml') && f !== 'memory.yaml'))
    fs.copyFileSync(path.join(suitesDir, f), path.join(dir, f));
  return dir;
}

const errorOf = (r: ActionRun) => (/::error::(.*)/.exec(r.stdout)?.[1] ?? '').replaceAll('%0A', ' ');

export async function rehearseEvalGate(r: EvalGateRehearsal): Promise<string> {
  const expect = (cond: boolean, message: string) => {
    if (!cond) throw new Error(message);
  };
  const { env } = r;
  await r.assume(env.name, { environment: env.name });
  const regressed = agentArtifact(
    r.work,
    'no-time-tool',
    bundleWithoutToolInstruction(r.bundle, path.join(r.work, 'server-no-time-tool.mjs')),
  );
  const image = await pushLocalImage({
    repository: sharedResourceNames(env.app.app).repository,
    tags: ['e1a1'.padEnd(40, '3')],
    bundlePath: regressed,
  });
  const liveBefore = await r.liveVersion();
  const deploy = await r.action('deploy-runtime', { environment: env.name, 'image-uri': image.imageUri });
  expect(deploy.code === 0, `deploy failed: ${errorOf(deploy) || deploy.stderr.slice(0, 300)}`);
  try {
    // As release.yml runs them: smoke, then evals, on DEFAULT (the candidate).
    const smoke = await r.action('smoke-test', { environment: env.name, qualifier: 'DEFAULT' });
    expect(
      smoke.code === 0,
      `the smoke gates should pass (guardrail and latency are fine): ${errorOf(smoke)}`,
    );
    const evals = await r.action('eval-gate', {
      environment: env.name,
      qualifier: 'DEFAULT',
      'evals-dir': suitesWithoutMemory(r.work),
    });
    const failure = errorOf(evals);
    expect(
      evals.code !== 0 && evals.outputs.passed === 'false',
      `the eval gate passed the regressed candidate`,
    );
    expect(
      /- tools: .*regressed: .*the time in a city comes from current_time/.test(failure) &&
        !/- safety:/.test(failure),
      `the eval gate should fail on the tools suite alone: ${failure}`,
    );
    expect(
      evals.summary.includes(`| tools | ${CATCHING_CASE} | ❌ regressed |`),
      `no regressed row in the eval summary:\n${evals.summary}`,
    );
    expect((await r.liveVersion()) === liveBefore, 'live moved');
    return `candidate v${deploy.outputs.version} (prompt drops ${DROPPED_TOOL}): smoke ✅, eval gate ❌ "${failure.slice(0, 90)}…"; live still v${liveBefore}`;
  } finally {
    // As the workflow does after a failed gate: DEFAULT serves what live serves again.
    const restore = await r.action('deploy-runtime', { environment: env.name, 'restore-default': 'true' });
    expect(restore.code === 0, `restore-default failed: ${errorOf(restore)}`);
  }
}
