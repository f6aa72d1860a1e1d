import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** A workflow job that assumes an AWS role: where it runs from and which role variable it uses. */
export interface RoleJob {
  workflow: string;
  job: string;
  /** Events that start the workflow (keys of `on:`). */
  events: string[];
  /** Branches a `push` trigger is limited to. */
  pushBranches?: string[];
  /** GitHub environments the job may run in (`${{ inputs.environment }}` expands to the choice options). */
  environments: (string | undefined)[];
  /**
   * The variable holding the role ARN (e.g. AWS_DEPLOY_ROLE_ARN), or DIFF_ROLES for a job whose step
   * assumes every account's read-only diff role itself (`assume-diff-roles: 'true'`: the role ARNs are
   * derived from environments/, no variable).
   */
  roleVariable: string;
}

interface WorkflowDoc {
  on: Record<string, { branches?: string[]; inputs?: Record<string, { options?: string[] }> } | null>;
  jobs: Record<
    string,
    { environment?: string | { name: string }; steps?: { uses?: string; with?: Record<string, string> }[] }
  >;
}

/** The `with.<input>` values jobs of other workflows pass when they call `file` (a reusable workflow). */
function callerInputs(workflowsDir: string, file: string, input: string): string[] {
  const values: string[] = [];
  for (const caller of fs.readdirSync(workflowsDir).filter((f) => f.endsWith('.yml') && f !== file)) {
    const doc = parse(fs.readFileSync(path.join(workflowsDir, caller), 'utf8')) as {
      jobs: Record<string, { uses?: string; with?: Record<string, string> }>;
    };
    for (const [name, job] of Object.entries(doc.jobs)) {
      if (job.uses !== `./.github/workflows/${file}`) continue;
      const value = job.with?.[input];
      if (!value || value.includes('${{'))
        throw new Error(`${caller} ${name}: calls ${file} without a literal ${input}`);
      values.push(value);
    }
  }
  return [...new Set(values)];
}

/** Every job in `.github/workflows` whose steps assume a role with the aws-credentials action. */
export function roleJobs(workflowsDir: string): RoleJob[] {
  const jobs: RoleJob[] = [];
  for (const file of fs.readdirSync(workflowsDir).filter((f) => f.endsWith('.yml'))) {
    const doc = parse(fs.readFileSync(path.join(workflowsDir, file), 'utf8')) as WorkflowDoc;
    const events = Object.keys(doc.on);
    for (const [name, job] of Object.entries(doc.jobs)) {
      // A credentials step given a token file runs against the twin (ci.yml's actions job, no
      // id-token permission): it can assume no AWS role, so it is not a role job.
      const assumes = (job.steps ?? []).filter(
        (s) =>
          (s.uses === './.github/actions/aws-credentials' && !s.with?.['web-identity-token-file']) ||
          s.with?.['assume-diff-roles'] === 'true',
      );
      if (assumes.length === 0) continue;
      if (assumes.length > 1) throw new Error(`${file} ${name}: assumes more than one role`);
      const diffRoles = assumes[0].with?.['assume-diff-roles'] === 'true';
      const variable = diffRoles
        ? 'DIFF_ROLES'
        : /^\$\{\{\s*vars\.(\w+)\s*\}\}$/.exec(assumes[0].with?.['role-to-assume'] ?? '')?.[1];
      if (!variable) throw new Error(`${file} ${name}: role-to-assume must be \${{ vars.<NAME> }}`);
      const env = typeof job.environment === 'object' ? job.environment.name : job.environment;
      let environments: (string | undefined)[] = [env];
      const input = env && /^\$\{\{\s*inputs\.(\w+)\s*\}\}$/.exec(env);
      if (input) {
        // A dispatched workflow's choice options, or the values its callers pass (workflow_call).
        const options =
          doc.on.workflow_dispatch?.inputs?.[input[1]]?.options ??
          (doc.on.workflow_call !== undefined ? callerInputs(workflowsDir, file, input[1]) : undefined);
        if (!options?.length)
          throw new Error(`${file} ${name}: environment from input ${input[1]} without options or callers`);
        environments = options;
      } else if (env?.includes('${{')) {
        throw new Error(`${file} ${name}: environment expression ${env} is not modelled`);
      }
      jobs.push({
        workflow: file,
        job: name,
        events,
        pushBranches: doc.on.push?.branches,
        environments,
        roleVariable: variable,
      });
    }
  }
  return jobs;
}

/** What a job's OIDC token says (the claims STS may see), for one run context. */
export interface RunContext {
  repository: string;
  /** `repo:OWNER/REPO` or the id-based form. */
  subjectPrefix: string;
  event: string;
  ref: string;
  environment?: string;
  /** Workflow file the job's steps come from (job_workflow_ref). */
  workflowFile: string;
  audience?: string;
}

export function oidcClaims(c: RunContext): Record<string, string> {
  const sub = c.environment
    ? `${c.subjectPrefix}:environment:${c.environment}`
    : c.event === 'pull_request'
      ? `${c.subjectPrefix}:pull_request`
      : `${c.subjectPrefix}:ref:${c.ref}`;
  const claims: Record<string, string> = {
    aud: c.audience ?? 'sts.amazonaws.com',
    sub,
    ref: c.ref,
    repository: c.repository,
    job_workflow_ref: `${c.repository}/.github/workflows/${c.workflowFile}@${c.ref}`,
    event_name: c.event,
    workflow_ref: `${c.repository}/.github/workflows/${c.workflowFile}@${c.ref}`,
  };
  if (c.environment) claims.environment = c.environment;
  return claims;
}
