/**
 * The release rehearsal as a list of action steps: what ci.yml's `actions` job runs on real runners
 * (`uses: ./.github/actions/<action>` against the twin it starts, no AWS credentials) and what
 * `npm run rehearse` runs on this machine. One list, so the two cannot drift
 * (.github/actions/test/ci-parity.test.ts compares it with ci.yml step by step, inputs included).
 *
 * build (build role) → deploy a candidate to dev → smoke gate → promote (dev deploy role, as
 * release.yml's dev job) → roll back to the previous release → DEFAULT restored to what live serves
 * → smoke live (dev deploy role as rollback.yml's job), as rollback.yml does.
 */
import { loadEnvironment, sharedResourceNames } from '../../environments';

/** An input: a literal, or an output of an earlier step of the same job (`${{ steps.<step>.outputs.<output> }}`). */
export type StepInput = string | { step: string; output: string };

/** The workflow job whose GitHub OIDC token an aws-credentials step exchanges (claims as GitHub sets them). */
export interface TokenJob {
  /** push: release.yml; workflow_dispatch: rollback.yml (the workflow `npm run twin:token` picks per event). */
  event: 'push' | 'workflow_dispatch';
  /** The job's GitHub environment (its deploy role trusts only jobs in it). */
  environment?: string;
}

export interface PipelineStep {
  /** The step id in ci.yml; later steps read its outputs by it. */
  id: string;
  /** .github/actions/<action> */
  action: string;
  inputs: Record<string, StepInput>;
  /** aws-credentials only: the job whose token the step before it writes to `web-identity-token-file`. */
  token?: TokenJob;
}

/** The commit the rehearsal builds and promotes (a fixed one: the runner's own sha is not a release). */
export const rehearsalSha = 'c0ffee'.padEnd(40, '1');

const dev = loadEnvironment('dev');
const shared = sharedResourceNames(dev.app.app);
const role = (name: string) => `arn:aws:iam::${dev.account}:role/${name}`;
const out = (step: string, output: string): StepInput => ({ step, output });

/** aws-credentials as `job`'s role, with the token the twin issued for that job (from a file: no id-token permission). */
function credentials(id: string, roleName: string, token: TokenJob): PipelineStep {
  return {
    id,
    action: 'aws-credentials',
    inputs: {
      'role-to-assume': role(roleName),
      environment: 'dev',
      'web-identity-token-file': tokenFile(id),
    },
    token,
  };
}

/** Where the token of an aws-credentials step is written (`.local/` is git-ignored). */
export const tokenFile = (stepId: string) => `.local/${stepId}.jwt`;

/** The shell command that writes an aws-credentials step's token: ci.yml runs it as the step before. */
export function tokenCommand(step: PipelineStep): string {
  if (!step.token) throw new Error(`step ${step.id} exchanges no token`);
  const environment = step.token.environment ? ` --environment ${step.token.environment}` : '';
  return `mkdir -p .local && npm run -s twin:token -- --event ${step.token.event}${environment} > ${tokenFile(step.id)}`;
}

export const rehearsalPipeline: PipelineStep[] = [
  credentials('build-credentials', shared.buildRole, { event: 'push' }),
  {
    id: 'build',
    action: 'build-image',
    inputs: {
      sha: rehearsalSha,
      ref: `refs/heads/${dev.app.github.mainBranch}`,
      environment: 'dev',
      builder: 'auto',
      'agent-bundle': 'agent/dist/server.mjs',
    },
  },
  credentials('deploy-credentials', dev.names.deployRole, { event: 'push', environment: 'dev' }),
  {
    id: 'deploy',
    action: 'deploy-runtime',
    inputs: { environment: 'dev', 'image-uri': out('build', 'image-uri') },
  },
  {
    id: 'smoke',
    action: 'smoke-test',
    inputs: { environment: 'dev', qualifier: 'DEFAULT' },
  },
  {
    id: 'promote',
    action: 'promote',
    inputs: { environment: 'dev', version: out('deploy', 'version'), sha: rehearsalSha },
  },
  credentials('rollback-credentials', dev.names.deployRole, {
    event: 'workflow_dispatch',
    environment: 'dev',
  }),
  {
    id: 'rollback',
    action: 'rollback',
    // By version: `previous` needs a release promoted before this one, and a fresh twin records only this one.
    inputs: {
      environment: 'dev',
      target: out('promote', 'previous-live-version'),
      reason: 'rehearsal: roll back what was just promoted',
    },
  },
  { id: 'restore', action: 'deploy-runtime', inputs: { environment: 'dev', 'restore-default': 'true' } },
  {
    id: 'smoke-live',
    action: 'smoke-test',
    inputs: { environment: 'dev', qualifier: dev.runtime.liveEndpoint },
  },
];

/** An input as ci.yml writes it under `with:`. */
export function workflowInput(value: StepInput): string {
  return typeof value === 'string' ? value : `\${{ steps.${value.step}.outputs.${value.output} }}`;
}

/** A step's inputs with earlier steps' outputs filled in (for running the list outside a workflow). */
export function resolveInputs(
  step: PipelineStep,
  outputs: Record<string, Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(step.inputs).map(([name, value]) => {
      if (typeof value === 'string') return [name, value];
      const v = outputs[value.step]?.[value.output];
      if (v === undefined)
        throw new Error(
          `step ${step.id} input ${name}: step ${value.step} has no output ${value.output} (yet)`,
        );
      return [name, v];
    }),
  );
}
