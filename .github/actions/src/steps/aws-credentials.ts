import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
  type Credentials,
} from '@aws-sdk/client-sts';
import { decodeJwt } from 'jose';
import type { Clock } from '../lib/poll';
import { isRetryable, withRetries } from '../lib/retry';

export interface AssumeRoleInput {
  sts: STSClient;
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  webIdentityToken: string;
  /** Only these accounts are acceptable (empty = any). */
  allowedAccountIds?: string[];
  /** Total time budget for retries of throttling/5xx/network errors. */
  retryTotalMs: number;
  retryBaseMs?: number;
  clock?: Clock;
  /** A client signed with the new credentials, for GetCallerIdentity (default: same config as `sts`). */
  identityClient?: (credentials: AwsCredentials) => STSClient;
  log?: (message: string) => void;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration?: Date;
}

export interface AssumeRoleResult {
  credentials: AwsCredentials;
  accountId: string;
  arn: string;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** STS session names: 2–64 of `[\w+=,.@-]`. */
export function sessionName(raw: string): string {
  const clean = raw.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return clean.length >= 2 ? clean : 'GitHubActions';
}

/** Errors that mean "this token may not assume this role": retrying cannot help. */
const DENIALS = new Set(['AccessDenied', 'InvalidIdentityToken', 'IDPRejectedClaim']);
const errorCode = (e: unknown) => String((e as Error)?.name ?? '').replace(/Exception$/, '');
/** STS asks for a retry when it could not reach the identity provider. */
const retryable = (e: unknown) => isRetryable(e) || errorCode(e) === 'IDPCommunicationError';

/** What a trust policy must say to accept this token: the exact `sub` and `aud` conditions. */
export function trustHint(token: string): string {
  let claims: { iss?: string; sub?: string; aud?: string | string[] };
  try {
    claims = decodeJwt(token);
  } catch {
    return 'The web identity token is not a JWT; check where it comes from.';
  }
  const provider = (claims.iss ?? 'https://token.actions.githubusercontent.com').replace(/^https?:\/\//, '');
  const aud = Array.isArray(claims.aud) ? claims.aud.join(',') : claims.aud;
  return (
    `The token's sub is "${claims.sub}" and aud is "${aud}". The role's trust policy must allow ` +
    `sts:AssumeRoleWithWebIdentity for this OIDC provider with: ` +
    `StringEquals ${provider}:sub = ${claims.sub}` +
    ` and StringEquals ${provider}:aud = ${aud}.`
  );
}

/** GitHub OIDC token → role credentials, with permanent errors reported at once and transient ones retried. */
export async function assumeRole(input: AssumeRoleInput): Promise<AssumeRoleResult> {
  if (!ROLE_ARN.test(input.roleArn)) {
    throw new Error(
      `role-to-assume must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got "${input.roleArn}"`,
    );
  }
  let creds: Credentials | undefined;
  try {
    const out = await withRetries(
      () =>
        input.sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: input.roleArn,
            RoleSessionName: input.sessionName,
            DurationSeconds: input.durationSeconds,
            WebIdentityToken: input.webIdentityToken,
          }),
        ),
      {
        totalMs: input.retryTotalMs,
        baseMs: input.retryBaseMs,
        clock: input.clock,
        retryable,
        onRetry: (n, e, ms) =>
          input.log?.(
            `Retry AssumeRoleWithWebIdentity: attempt ${n} failed (${(e as Error).name}); next in ${ms} ms`,
          ),
      },
    );
    creds = out.Credentials;
  } catch (e) {
    const code = errorCode(e);
    const message = `Could not assume role ${input.roleArn} with OIDC: ${code}: ${(e as Error).message}`;
    if (DENIALS.has(code)) throw new Error(`${message}\n${trustHint(input.webIdentityToken)}`, { cause: e });
    throw new Error(message, { cause: e });
  }
  if (!creds?.AccessKeyId || !creds.SecretAccessKey || !creds.SessionToken) {
    throw new Error('STS returned no credentials');
  }
  const credentials: AwsCredentials = {
    accessKeyId: creds.AccessKeyId,
    secretAccessKey: creds.SecretAccessKey,
    sessionToken: creds.SessionToken,
    expiration: creds.Expiration,
  };
  const identity = await (input.identityClient ?? defaultIdentityClient(input.sts))(credentials).send(
    new GetCallerIdentityCommand({}),
  );
  const accountId = identity.Account!;
  if (input.allowedAccountIds?.length && !input.allowedAccountIds.includes(accountId)) {
    throw new Error(
      `the role's account ${accountId} is not in allowed-account-ids (${input.allowedAccountIds.join(', ')}); check role-to-assume`,
    );
  }
  return { credentials, accountId, arn: identity.Arn! };
}

function defaultIdentityClient(sts: STSClient) {
  return (credentials: AwsCredentials) =>
    new STSClient({ region: sts.config.region, maxAttempts: 3, credentials });
}
