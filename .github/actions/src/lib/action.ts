/**
 * What every step shares: its run() wrapper, inputs, outputs and summary, and the SDK clients and
 * environment files it asks for. Only @actions/core is imported up front: the environments (YAML and
 * zod schemas), the stack outputs and each SDK client are loaded with `await import()` when a step
 * first asks for them, so a step loads only what it runs and a missing input fails before any of it
 * loads (scripts/build-actions.ts bundles each of those imports as a chunk loaded on demand).
 */
import module from 'node:module';
import path from 'node:path';
import * as core from '@actions/core';
import type { Environment } from '../../../../environments';
import type { PricesFile } from '../../../../environments/prices';
import type { ClientCredentials } from './cognito';
import type { WaitOptions } from './runtime';
import type { StackOutputs } from './stack-outputs';

/**
 * An action's `run()`, as in actions/typescript-action: it never rejects; any error fails the step
 * with its message. Each entry exports `export const run = action(...)` and does nothing on import,
 * so GitHub's local runner (`npx @github/local-action`) can import it and call `run()`; the bundle
 * dist/<step>.js is an index that calls it (scripts/build-actions.ts).
 */
export function action(main: () => Promise<void>): () => Promise<void> {
  return () =>
    main().catch((e: unknown) => {
      core.setFailed(e instanceof Error ? e.message : String(e));
    });
}

/**
 * The steps of one job load many of the same chunks (the SDK's core and clients, the environments'
 * YAML reader and schemas), and compiling them is most of a step's time to its first request. With
 * V8's code cache kept in the job's scratch folder (RUNNER_TEMP: one per job, emptied by the runner
 * after it), every step after the first loads them compiled. Only on a runner: tests and local runs
 * change nothing. It never fails a step: Node reports a cache it cannot use as a status (ignored here:
 * the step only runs slower), and Node 20 has no such API. Each bundle's index calls it before run().
 */
export function enableJobCompileCache(runnerTemp = process.env.RUNNER_TEMP): void {
  if (!runnerTemp) return;
  const { enableCompileCache } = module as { enableCompileCache?: (directory: string) => unknown };
  enableCompileCache?.(path.join(runnerTemp, 'agentcore-gitops-compile-cache'));
}

/** A required input: the runner does not enforce `required: true`, so check here. */
export function requiredInput(name: string): string {
  const value = core.getInput(name);
  if (!value) throw new Error(`input "${name}" is required`);
  return value;
}

export function numberInput(name: string, fallback?: number): number | undefined {
  const raw = core.getInput(name);
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`input "${name}" must be a number, got "${raw}"`);
  return n;
}

/** A true/false input; absent is false (the runner fills in action.yml defaults, other callers may not). */
export function booleanInput(name: string): boolean {
  return core.getInput(name) ? core.getBooleanInput(name) : false;
}

/** A comma-separated input as a list, blanks dropped. */
export function listInput(name: string): string[] {
  return core
    .getInput(name)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** This workflow run's page, for links in comments and summaries; undefined outside a runner. */
export function runUrl(repository = process.env.GITHUB_REPOSITORY): string | undefined {
  return process.env.GITHUB_RUN_ID
    ? `${process.env.GITHUB_SERVER_URL}/${repository}/actions/runs/${process.env.GITHUB_RUN_ID}`
    : undefined;
}

/** The repository's environments/ folder (the bundles do not carry the YAML files). */
export function environmentsDir(): string {
  return (
    core.getInput('environments-dir') ||
    path.join(process.env.GITHUB_WORKSPACE ?? process.cwd(), 'environments')
  );
}

/** The environment named by the `environment` input, validated. */
export async function environmentInput(name = requiredInput('environment')): Promise<Environment> {
  const { loadEnvironment } = await import('../../../../environments');
  return loadEnvironment(name, environmentsDir());
}

/** The repository's environments/prices.yaml, validated. */
export async function pricesInput(): Promise<PricesFile> {
  const { loadPrices } = await import('../../../../environments/prices');
  return loadPrices(path.join(environmentsDir(), 'prices.yaml'));
}

export function waitOptions(env: Environment): WaitOptions {
  return { timeoutSeconds: env.runtime.deployTimeoutSeconds, pollSeconds: env.runtime.pollSeconds };
}

/**
 * The outputs of the stack that holds `env`'s resources: its own, or for previews the stack of the
 * environment they reuse (`preview.reuses`).
 */
export async function stackOutputs(env: Environment): Promise<StackOutputs> {
  const owner = env.preview ? await environmentInput(env.preview.reuses) : env;
  const { readStackOutputs } = await import('./stack-outputs');
  return readStackOutputs(await ssmClient(owner), owner);
}

/**
 * Where a promotion (or rollback) of `env` lands: its runtime (id from the stack outputs) and `live`
 * endpoint, the SSM parameters CDK and rollbacks read, and the environment's ECR tag — with the
 * clients it needs.
 */
export async function promotionTarget(env: Environment) {
  const outputs = await stackOutputs(env);
  return {
    control: await controlClient(env),
    ssm: await ssmClient(env),
    ecr: await ecrClient(env),
    runtimeId: outputs.RuntimeId,
    runtimeName: env.names.runtime,
    endpointName: env.runtime.liveEndpoint,
    imageParameter: env.names.imageParameter,
    releaseParameter: env.names.releaseParameter,
    liveVersionParameter: env.names.liveVersionParameter,
    environmentTag: env.name,
    wait: waitOptions(env),
  };
}

/**
 * SDK clients for the environment's region, each package loaded on first use; endpoints and
 * credentials come from the standard AWS variables.
 */
const sdkConfig = (env: Environment) => ({ region: env.region, maxAttempts: 5 });
export const controlClient = async (env: Environment) =>
  new (await import('@aws-sdk/client-bedrock-agentcore-control')).BedrockAgentCoreControlClient(
    sdkConfig(env),
  );
export const ecrClient = async (env: Environment) =>
  new (await import('@aws-sdk/client-ecr')).ECRClient(sdkConfig(env));
export const ssmClient = async (env: Environment) =>
  new (await import('@aws-sdk/client-ssm')).SSMClient(sdkConfig(env));
export const cloudwatchClient = async (env: Environment) =>
  new (await import('@aws-sdk/client-cloudwatch')).CloudWatchClient(sdkConfig(env));
export const cognitoClient = async (env: Environment) =>
  new (await import('@aws-sdk/client-cognito-identity-provider')).CognitoIdentityProviderClient(
    sdkConfig(env),
  );
export const xrayClient = async (env: Environment) =>
  new (await import('@aws-sdk/client-xray')).XRayClient(sdkConfig(env));
export const bedrockClient = async (env: Environment) =>
  new (await import('@aws-sdk/client-bedrock-runtime')).BedrockRuntimeClient(sdkConfig(env));

/**
 * How the gates get a token as clients do: pool, machine client and token endpoint from the stack that
 * made them (for previews, the stack of the environment they reuse); the client's secret is read from
 * the pool and masked. Also returns the stack outputs.
 */
export async function invokeCredentials(env: Environment, scope = core.getInput('scope')) {
  const outputs = await stackOutputs(env);
  const source = { clientId: outputs.MachineClientId, userPoolId: outputs.UserPoolId };
  const { clientSecret } = await import('./cognito');
  const credentials: ClientCredentials = {
    tokenUrl: outputs.TokenEndpoint,
    clientId: outputs.MachineClientId,
    clientSecret: await clientSecret(source, await cognitoClient(env), (s) => core.setSecret(s)),
    scope: scope || outputs.InvokeScope,
  };
  return { credentials, outputs };
}

/** The data-plane base URL: the standard endpoint variables, else the public regional endpoint. */
export function dataPlaneUrl(env: Environment): string {
  return (
    core.getInput('data-plane-url') ||
    process.env.AWS_ENDPOINT_URL_BEDROCK_AGENTCORE ||
    process.env.AWS_ENDPOINT_URL ||
    `https://bedrock-agentcore.${env.region}.amazonaws.com`
  );
}

export function setOutputs(outputs: Record<string, string | number | boolean | undefined>): void {
  for (const [k, v] of Object.entries(outputs)) core.setOutput(k, v === undefined ? '' : String(v));
}

type Summary = typeof core.summary;

/** Write the job summary when running under a runner (GITHUB_STEP_SUMMARY set). */
export async function writeSummary(build: (s: Summary) => Summary | Promise<Summary>): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await (await build(core.summary)).write();
}

/** A job-summary heading and a one-row table: each key a column header, each value its cell. */
export function writeSummaryRow(heading: string, row: Record<string, string>): Promise<void> {
  return writeSummary((s) =>
    s
      .addHeading(heading, 3)
      .addTable([Object.keys(row).map((data) => ({ data, header: true })), Object.values(row)]),
  );
}
