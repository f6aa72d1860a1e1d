import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ECRClient } from '@aws-sdk/client-ecr';
import { CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { loadAllEnvironments } from '../../../environments';
import { planTopology } from '../../../infra/src/topology';
import { pushImage } from '../image/push';
import type { Twin } from '../twin';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CDK = path.join(ROOT, 'node_modules/aws-cdk/bin/cdk');
const EXECUTION_POLICY = path.join(ROOT, 'infra/bootstrap/execution-policy.json');

export interface ProvisionStacksOptions {
  /** Progress, one line per step. */
  log?: (line: string) => void;
  /** The agent bundle the first image holds; default: build agent/ (scripts/build-agent.ts). */
  bundle?: Buffer;
  /**
   * A cloud assembly of this app already synthesized by the CLI from cdk.json (tests share one per
   * run: infra/test/assembly.ts); only read, never removed. Default: `cdk synth` into a scratch folder.
   */
  assembly?: string | Promise<string>;
}

export interface ProvisionedStacks {
  /** Every stack deployed, in deploy order. */
  stacks: string[];
  /** The image the environment stacks run (URI by digest, in the registry account). */
  imageUri: string;
  /** The cloud assembly the stacks were deployed from (removed by `cleanup` unless given as an option). */
  assembly: string;
  cleanup(): void;
}

/**
 * What docs/infra.md's "zero to first deploy" does, against the twin and through the real CDK CLI:
 * the scoped execution policy in each account, `cdk bootstrap` with it, the shared stacks, a first
 * image and the two parameters the environment stacks resolve, then every environment stack. Each
 * account's CLI runs signed as that account's admin (the bootstrap roles trust only their account).
 */
export async function provisionStacks(
  twin: Twin,
  options: ProvisionStacksOptions = {},
): Promise<ProvisionedStacks> {
  const log = options.log ?? (() => {});
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'twin-provision-'));
  const cleanup = () => fs.rmSync(work, { recursive: true, force: true });
  try {
    const timed = async <T>(what: string, fn: () => Promise<T>) => {
      const started = performance.now();
      const out = await fn();
      log(`${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      return out;
    };

    const cdk = cdkRunner(twin, work);
    // Synthesized once by the CLI from cdk.json, as `npx cdk diff` will (same context, path metadata),
    // then every deploy reads that assembly. Bootstrapping needs no assembly: both run at once.
    const synthesized = options.assembly
      ? Promise.resolve(options.assembly)
      : timed('synthesized the CDK app (cdk synth)', async () => {
          const out = path.join(work, 'cdk.out');
          await cdk(twin.context.defaultAccount, ['synth', '--quiet', '--output', out], ROOT);
          return out;
        });
    // Awaited below; this only keeps a failure while a bootstrap still runs from going unhandled.
    synthesized.catch(() => {});
    const topology = planTopology(loadAllEnvironments());
    const policy = fs.readFileSync(EXECUTION_POLICY, 'utf8');

    // Accounts are independent until the registry holds an image: bootstrap and shared stacks in parallel.
    await Promise.all(
      topology.accounts.map(async (plan) => {
        const config = clientConfig(twin, plan.account);
        const created = await new IAMClient(config).send(
          new CreatePolicyCommand({
            PolicyName: topology.shared.cdkExecutionPolicy,
            PolicyDocument: policy,
          }),
        );
        // Only on the twin: the default account may look up (read-only) the others' stacks, so
        // `cdk diff --all` runs with one account's credentials. docs/infra.md bootstraps without it.
        const lookup =
          plan.account === twin.context.defaultAccount
            ? []
            : ['--trust-for-lookup', twin.context.defaultAccount];
        await timed(`bootstrapped ${plan.account} with ${created.Policy!.Arn}`, () =>
          cdk(plan.account, [
            'bootstrap',
            `aws://${plan.account}/${plan.region}`,
            '--cloudformation-execution-policies',
            created.Policy!.Arn!,
            ...lookup,
          ]),
        );
        const assembly = await synthesized;
        await timed(`deployed ${plan.stackName}`, () =>
          cdk(plan.account, deploy(assembly, [plan.stackName])),
        );
      }),
    );

    const assembly = await synthesized;
    const registry = topology.registry.account;
    const bundle = options.bundle ?? (await buildAgentBundle());
    const image = await timed(`pushed the first image to ${topology.shared.repository}`, () =>
      pushImage({
        bundle,
        repository: topology.shared.repository,
        tags: ['first-deploy'],
        ecr: new ECRClient(clientConfig(twin, registry)),
      }),
    );

    await Promise.all(
      topology.accounts.map(async (plan) => {
        const ssm = new SSMClient(clientConfig(twin, plan.account));
        for (const env of plan.deployed) {
          await ssm.send(
            new PutParameterCommand({
              Name: env.names.imageParameter,
              Value: image.imageUri,
              Type: 'String',
              Overwrite: true,
            }),
          );
          // Version 1 is what the first deploy creates; promote writes it from then on (docs/infra.md step 6).
          if (!(await parameterExists(ssm, env.names.liveVersionParameter))) {
            await ssm.send(
              new PutParameterCommand({ Name: env.names.liveVersionParameter, Value: '1', Type: 'String' }),
            );
          }
        }
        const stacks = plan.deployed.map((e) => e.names.stack);
        if (stacks.length === 0) return;
        await timed(`deployed ${stacks.join(', ')}`, () => cdk(plan.account, deploy(assembly, stacks)));
      }),
    );

    return {
      stacks: [...topology.accounts.map((p) => p.stackName), ...topology.deployed.map((e) => e.names.stack)],
      imageUri: image.imageUri,
      assembly,
      cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

const deploy = (assembly: string, stacks: string[]) => [
  'deploy',
  '--app',
  assembly,
  '--exclusively',
  '--require-approval',
  'never',
  '--progress',
  'events',
  ...stacks,
];

async function parameterExists(ssm: SSMClient, name: string) {
  try {
    await ssm.send(new GetParameterCommand({ Name: name }));
    return true;
  } catch (e) {
    if ((e as Error).name === 'ParameterNotFound') return false;
    throw e;
  }
}

async function buildAgentBundle() {
  const { buildAgent } = await import('../../../scripts/build-agent');
  return fs.readFileSync((await buildAgent()).outfile);
}

function clientConfig(twin: Twin, account: string) {
  const credentials = twin.credentials(account);
  return { endpoint: twin.url, region: twin.context.region, credentials, maxAttempts: 1 };
}

/**
 * The environment the real `cdk` CLI runs in with no AWS at all (e.g. a synth): a scratch HOME and
 * nothing from the user's AWS config files or an instance's metadata.
 */
export function offlineCdkEnvironment(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH!,
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_DISABLE_VERSION_CHECK: 'true',
    CI: 'true',
    // The caller's choice for aws-cdk-lib's built-in template check (the tests turn it off: vitest.config.ts).
    ...(process.env.CDK_VALIDATION && { CDK_VALIDATION: process.env.CDK_VALIDATION }),
  };
}

/** The same against the twin: an account admin's credentials and the twin's endpoint. */
export function cdkEnvironment(twin: Twin, home: string, account?: string): NodeJS.ProcessEnv {
  return { ...offlineCdkEnvironment(home), ...twin.env({ account }) };
}

/** The real `cdk` CLI, signed as an account's admin, with nothing from the user's AWS config. */
function cdkRunner(twin: Twin, work: string) {
  return async (account: string, args: string[], cwd = work) => {
    const env = cdkEnvironment(twin, work, account);
    try {
      const { stdout, stderr } = await promisify(execFile)(
        process.execPath,
        [CDK, '--no-notices', '--no-color', ...args],
        { cwd, env, maxBuffer: 64 << 20 },
      );
      return stdout + stderr;
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(
        `cdk ${args.join(' ')} (account ${account}) failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`,
        { cause: e },
      );
    }
  };
}
