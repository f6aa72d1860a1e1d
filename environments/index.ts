import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlFile, readYamlFile, validateYaml } from './read-yaml';
import type { z } from 'zod';
import type { StackOutputKey } from './agent-contract';
import { appSchema, environmentSchema, type AppConfig, type EnvironmentFile } from './schema';

export * from './schema';
export * from './agent-contract';

/** The folder holding app.yaml and one <name>.yaml per environment. */
export const environmentsDir = path.dirname(fileURLToPath(import.meta.url));

export class EnvironmentConfigError extends Error {}

/** Every resource name, derived once from `app` and the environment name. */
export interface ResourceNames {
  runtime: string;
  memory: string;
  guardrail: string;
  stack: string;
  imageParameter: string;
  alarmTopic: string;
  dashboard: string;
  userPool: string;
  /** Scope the smoke-test machine client gets, `<resource server>/<scope>`. */
  invokeScope: string;
  /** Cognito hosted domain prefix (globally unique per region, hence the account id). */
  userPoolDomain: string;
  /**
   * Every health alarm of the environment (what a bad deploy trips) starts with this; the pipeline's
   * watch step lists by it and rolls back on any of them.
   */
  alarmPrefix: string;
  /** The daily model-spend alarm: outside `alarmPrefix`, since spend is no reason to roll a deploy back. */
  spendAlarm: string;
  /** The runtime's execution role (previews of the environment they reuse pass it too). */
  executionRole: string;
  /** The GitHub OIDC role that deploys this environment's runtime (the release and rollback jobs). */
  deployRole: string;
  /** The GitHub OIDC role that deploys this environment's stack (`cdk deploy` from main only). */
  infraRole: string;
  /**
   * The promotion record promote writes (JSON: sha, image by digest, runtime version). Its SSM
   * parameter history is what rollback-by-sha reads, never an image tag a pull request could push.
   */
  releaseParameter: string;
  /** The runtime version `live` serves, written by promote, read by the stack so `cdk deploy` keeps it. */
  liveVersionParameter: string;
  /**
   * The stack's outputs (JSON of `StackOutputKey` → value), written by the stack itself so every
   * action reads them with one ssm:GetParameter instead of values copied into GitHub variables.
   */
  outputsParameter: string;
  /** Log group the runtime's APPLICATION_LOGS are delivered to (CloudWatch vended logs; retention from the file). */
  applicationLogGroup: string;
  /** Log group the runtime's USAGE_LOGS (per-session CPU and memory) are delivered to. */
  usageLogGroup: string;
}

/** Names shared by every environment: the image repository and the GitHub OIDC roles. */
export interface SharedResourceNames {
  /** ECR repository (one, in the registry account): build once, run the same digest everywhere. */
  repository: string;
  /** Stack holding the repository and the roles of the registry account. */
  sharedStack: string;
  buildRole: string;
  previewRole: string;
  /** Pull-request images live here, never in the release repository. */
  previewRepository: string;
  /** The nightly sweep (scheduled from main): lists and deletes preview runtimes, nothing else. */
  sweepRole: string;
  /** Read-only role a pull request's `cdk diff` and the scheduled drift check use (one per account). */
  diffRole: string;
  /** The scoped managed policy `cdk bootstrap --cloudformation-execution-policies` is given (one per account). */
  cdkExecutionPolicy: string;
  /** Every preview runtime's name starts with this (see previewRuntimeName). */
  previewRuntimePrefix: string;
  /** The CloudWatch Logs resource policy letting X-Ray write spans to `aws/spans` (one per account, with Transaction Search). */
  transactionSearchPolicy: string;
}

export interface Environment extends EnvironmentFile {
  app: AppConfig;
  names: ResourceNames;
  /** The file the settings came from. */
  file: string;
}

export function resourceNames(app: string, env: string, account = ''): ResourceNames {
  const base = `${app}-${env}`.replaceAll('_', '-');
  return {
    runtime: `${app}_${env}`,
    memory: `${app}_${env}_memory`,
    guardrail: `${app}-${env}`.replaceAll('_', '-'),
    stack: `${app}-${env}`.replaceAll('_', '-'),
    imageParameter: `/${app}/${env}/image`,
    alarmTopic: `${app}-${env}-alarms`.replaceAll('_', '-'),
    dashboard: `${app}-${env}`.replaceAll('_', '-'),
    userPool: `${app}-${env}`.replaceAll('_', '-'),
    invokeScope: `${app.replaceAll('_', '-')}/invoke`,
    userPoolDomain: account ? `${base}-${account}` : base,
    alarmPrefix: `${base}-health-`,
    spendAlarm: `${base}-daily-model-spend`,
    executionRole: `${base}-runtime`,
    deployRole: `${app}-deploy-${env}`.replaceAll('_', '-'),
    infraRole: `${app}-infra-${env}`.replaceAll('_', '-'),
    releaseParameter: `/${app}/${env}/release`,
    liveVersionParameter: `/${app}/${env}/live-version`,
    outputsParameter: `/${app}/${env}/stack-outputs`,
    // Under /aws/vendedlogs/, the prefix CloudWatch Logs' own delivery pages use for vended logs.
    applicationLogGroup: `/aws/vendedlogs/bedrock-agentcore/runtime/APPLICATION_LOGS/${app}_${env}`,
    usageLogGroup: `/aws/vendedlogs/bedrock-agentcore/runtime/USAGE_LOGS/${app}_${env}`,
  };
}

export function sharedResourceNames(app: string): SharedResourceNames {
  const base = app.replaceAll('_', '-');
  return {
    repository: base,
    sharedStack: `${base}-shared`,
    buildRole: `${base}-build`,
    previewRole: `${base}-preview`,
    previewRepository: `${base}-preview`,
    sweepRole: `${base}-sweep`,
    diffRole: `${base}-infra-diff`,
    cdkExecutionPolicy: `${base}-cdk-execution`,
    previewRuntimePrefix: `${app}_pr_`,
    transactionSearchPolicy: `${base}-transaction-search`,
  };
}

/**
 * The log group AgentCore writes a runtime endpoint's container output (stdout/stderr, the agent's JSON
 * logs) to: `/aws/bedrock-agentcore/runtimes/<runtime id>-<endpoint name>`.
 */
export function runtimeLogGroup(runtimeId: string, endpoint: string): string {
  return `/aws/bedrock-agentcore/runtimes/${runtimeId}-${endpoint}`;
}

/** Export name of an environment stack output (CloudFormation export names are unique per account/region). */
export function exportName(names: ResourceNames, key: StackOutputKey): string {
  return `${names.stack}:${key}`;
}

/** The runtime a pull request's preview runs in (AgentCore names allow no hyphens). */
export function previewRuntimeName(app: string, pr: number): string {
  if (!Number.isInteger(pr) || pr <= 0)
    throw new EnvironmentConfigError(`pull request number must be a positive integer, got ${pr}`);
  return `${sharedResourceNames(app).previewRuntimePrefix}${pr}`;
}

function readYaml<S extends z.ZodType>(file: string, schema: S): z.infer<S> {
  return readYamlFile(file, schema, (message) => new EnvironmentConfigError(message));
}

export function loadApp(dir = environmentsDir): AppConfig {
  const app = readYaml(path.join(dir, 'app.yaml'), appSchema);
  if (app.github.subjectFormat === 'id' && (!app.github.ownerId || !app.github.repositoryId)) {
    throw new EnvironmentConfigError(
      `${path.join(dir, 'app.yaml')}: github.ownerId and github.repositoryId are required when github.subjectFormat is "id"`,
    );
  }
  return app;
}

/** Load and validate one environment; errors name the file, the path in it and what is wrong. */
export function loadEnvironment(name: string, dir = environmentsDir): Environment {
  const file = path.join(dir, `${name}.yaml`);
  if (!/^[a-z][a-z0-9]*$/.test(name) || !fs.existsSync(file)) {
    throw new EnvironmentConfigError(
      `unknown environment "${name}"; known: ${listEnvironments(dir).join(', ')}`,
    );
  }
  const fail = (message: string) => new EnvironmentConfigError(message);
  const own = parseYamlFile(file, fail);
  const env = validateYaml(file, withReusedSettings(own, dir, fail), environmentSchema, fail);
  if (env.name !== name)
    throw new EnvironmentConfigError(`${file}: name: must be "${name}" (the file name), got "${env.name}"`);
  const app = loadApp(dir);
  return { ...env, app, names: resourceNames(app.app, env.name, env.account), file };
}

type Data = Record<string, unknown>;
const isObject = (v: unknown): v is Data => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` on top of `base`, objects merged key by key; lists and scalars from `over` replace. */
function overlay(base: Data, over: Data): Data {
  const out: Data = { ...base };
  for (const [k, v] of Object.entries(over))
    out[k] = isObject(v) && isObject(out[k]) ? overlay(out[k], v) : v;
  return out;
}

/**
 * An environment that names `preview.reuses` (the preview settings) holds only what differs: the
 * rest comes from the reused environment's file (its `name` excepted), so the two cannot drift.
 */
function withReusedSettings(own: unknown, dir: string, fail: (m: string) => Error): unknown {
  const reuses = isObject(own) && isObject(own.preview) ? own.preview.reuses : undefined;
  if (typeof reuses !== 'string') return own;
  const baseFile = path.join(dir, `${reuses}.yaml`);
  if (!/^[a-z][a-z0-9]*$/.test(reuses) || !fs.existsSync(baseFile)) {
    throw fail(`preview.reuses: "${reuses}" is not an environment file in ${dir}`);
  }
  const base = parseYamlFile(baseFile, fail);
  if (!isObject(base) || base.preview !== undefined) {
    throw fail(`${baseFile}: preview.reuses must name a deployed environment, not another preview`);
  }
  const { name: _name, ...inherited } = base;
  return overlay(inherited, own as Data);
}

export function listEnvironments(dir = environmentsDir): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'app.yaml' && f !== 'prices.yaml')
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

export function loadAllEnvironments(dir = environmentsDir): Environment[] {
  return listEnvironments(dir).map((n) => loadEnvironment(n, dir));
}

/** GitHub OIDC `sub` for a context, in the repository's configured format. */
export function githubSubject(
  app: AppConfig,
  context: { environment: string } | { pullRequest: true } | { ref: string },
): string {
  const [owner, repo] = app.github.repository.split('/');
  const prefix =
    app.github.subjectFormat === 'id'
      ? `repo:${owner}@${app.github.ownerId}/${repo}@${app.github.repositoryId}`
      : `repo:${owner}/${repo}`;
  if ('environment' in context) return `${prefix}:environment:${context.environment}`;
  if ('pullRequest' in context) return `${prefix}:pull_request`;
  return `${prefix}:ref:${context.ref}`;
}

/**
 * The workflow files whose jobs assume roles: role trust policies pin them through the OIDC
 * `job_workflow_ref` claim, which STS evaluates (it names the workflow file a job's steps come from:
 * the reusable workflow for a called job, else the workflow itself, with the ref it ran from).
 */
export const githubWorkflows = {
  release: 'release.yml',
  rollback: 'rollback.yml',
  preview: 'preview.yml',
  sweep: 'sweep-previews.yml',
  /** Reusable workflow release.yml calls to `cdk deploy` an environment's stacks (infra GitOps issue). */
  infraDeploy: 'infra-deploy.yml',
  /** Pull-request workflow that runs `cdk diff` (infra GitOps issue). */
  infraDiff: 'infra-diff.yml',
  /** Scheduled workflow on main that reports stacks whose deployed template differs from main's. */
  infraDrift: 'infra-drift.yml',
} as const;

/** The OIDC `job_workflow_ref` of a job in `workflow` run from `ref` (`OWNER/REPO/.github/workflows/<file>@<ref>`). */
export function githubJobWorkflowRef(app: AppConfig, workflow: string, ref: string): string {
  return `${app.github.repository}/.github/workflows/${workflow}@${ref}`;
}

/** Preview image tags (`pr-<n>-<sha>`, in the preview repository) match this; they move and expire. */
export const previewImageTagPattern = 'pr-*';

/**
 * Tags that move between images and mark what runs: `latest` and each deployed environment's name
 * (promote moves it). They are what the release repository's tag immutability excludes; every other
 * tag there (`<sha>`) is immutable.
 */
export function movingImageTags(environments: Pick<Environment, 'name' | 'preview'>[]): string[] {
  return ['latest', ...environments.filter((e) => !e.preview).map((e) => e.name)];
}
