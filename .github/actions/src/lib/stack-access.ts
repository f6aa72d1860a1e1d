import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import * as exec from '@actions/exec';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { loadAllEnvironments } from '../../../../environments';
import { planTopology, type Topology } from '../../../../infra/src/topology';
import { assumeRole, sessionName } from '../steps/aws-credentials';
import { diffStacks, type AccountAccess, type AccountStacks } from '../steps/infra-diff';
import { booleanInput, environmentsDir, numberInput } from './action';
import { webIdentityToken } from './oidc';

/** Every account's stacks of the app (its shared stack first), from the topology of environments/. */
export function accountStacks(topology: Topology): AccountStacks[] {
  return topology.accounts.map((plan) => ({
    account: plan.account,
    region: plan.region,
    stacks: [plan.stackName, ...plan.deployed.map((e) => e.names.stack)],
  }));
}

/** The job's OIDC token → a session of the account's read-only diff role, as variables for the CLI. */
async function diffRoleSession(account: AccountStacks, roleName: string): Promise<AccountAccess> {
  const result = await assumeRole({
    sts: new STSClient({ region: account.region, maxAttempts: 1 }),
    roleArn: `arn:aws:iam::${account.account}:role/${roleName}`,
    sessionName: sessionName(
      `stack-lookup-${process.env.GITHUB_RUN_ID ?? 'local'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`,
    ),
    durationSeconds: 3600,
    // A fresh token per account: GitHub's expire after minutes, and a diff can take that long.
    webIdentityToken: await webIdentityToken(core.getInput('audience') || 'sts.amazonaws.com'),
    allowedAccountIds: [account.account],
    retryTotalMs: numberInput('retry-max-seconds', 60)! * 1000,
    log: core.info,
  });
  const { accessKeyId, secretAccessKey, sessionToken } = result.credentials;
  for (const secret of [accessKeyId, secretAccessKey, sessionToken]) core.setSecret(secret);
  core.info(`account ${account.account}: assumed ${result.arn}`);
  return {
    env: {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_SESSION_TOKEN: sessionToken,
      AWS_REGION: account.region,
      AWS_DEFAULT_REGION: account.region,
    },
  };
}

/**
 * How each account's stacks are reached, from the `assume-diff-roles` input: every account's diff role
 * in turn, or else the credentials already in the job (their account only; the others are skipped).
 */
export async function stackAccess(
  topology: Topology,
  accounts: AccountStacks[],
): Promise<(account: AccountStacks) => Promise<AccountAccess>> {
  if (booleanInput('assume-diff-roles'))
    return (account) => diffRoleSession(account, topology.shared.diffRole);
  const caller = (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Account!;
  if (!accounts.some((a) => a.account === caller))
    throw new Error(
      `No stacks of this app live in account ${caller} (the job's credentials); set assume-diff-roles: true`,
    );
  return async (account) =>
    account.account === caller
      ? { env: {} }
      : {
          skip: `in account ${account.account}; the job's credentials are for ${caller} (assume-diff-roles: true looks up every account)`,
        };
}

/** The repository's CDK CLI (`npx cdk`, installed by npm ci), with `env` added to the job's environment. */
export async function cdkCli(args: string[], env: Record<string, string> = {}) {
  let output = '';
  const append = (b: Buffer) => (output += b.toString('utf8'));
  // A profile would take precedence over the session the variables carry.
  const { AWS_PROFILE: _profile, ...inherited } = process.env;
  const exitCode = await exec.exec('npx', ['cdk', ...args], {
    ignoreReturnCode: true,
    env: { ...(inherited as Record<string, string>), ...env },
    listeners: { stdout: append, stderr: append },
  });
  return { output, exitCode };
}

/**
 * `cdk diff` of every stack of every account of the checked-out environments/, each account under the
 * access `stackAccess` gives, synthesized once into a scratch folder under RUNNER_TEMP (removed after).
 * Also returns the topology the stacks came from.
 */
export async function diffEveryStack() {
  const topology = planTopology(loadAllEnvironments(environmentsDir()));
  const accounts = accountStacks(topology);
  const work = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), 'cdk-diff-'));
  try {
    const result = await diffStacks({
      accounts,
      access: await stackAccess(topology, accounts),
      assembly: path.join(work, 'cdk.out'),
      cdk: cdkCli,
    });
    return { ...result, topology };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
