import { randomBytes, randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { randomId } from '../core/ids';
import { AwsError, xmlEscape } from '../core/respond';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import type { TwinContext } from '../twin';
import type { GithubOidcApi } from './github-oidc';

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** Trust policies name GitHub's claims under its real issuer host; the twin's issuer stands in for it. */
const GITHUB_KEY_PREFIX = 'token.actions.githubusercontent.com';
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

interface Statement {
  Effect: 'Allow' | 'Deny';
  Principal?: { Federated?: string | string[] } | string;
  Action?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface TrustPolicy {
  Version?: string;
  Statement: Statement | Statement[];
}

interface Session {
  roleArn: string;
  assumedRoleArn: string;
  assumedRoleId: string;
  account: string;
  expiration: number;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const like = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(value);
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Does a statement's condition block hold for these claims (operators AND, keys AND, values OR)? */
function conditionsHold(condition: Statement['Condition'], claims: JWTPayload): boolean {
  for (const [operator, entries] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(entries)) {
      const claim = key.startsWith(`${GITHUB_KEY_PREFIX}:`)
        ? claims[key.slice(GITHUB_KEY_PREFIX.length + 1)]
        : undefined;
      const actual = list(claim as string | string[] | undefined).map(String);
      const values = list(expected).map(String);
      const test =
        operator === 'StringEquals'
          ? (a: string) => values.includes(a)
          : operator === 'StringLike'
            ? (a: string) => values.some((v) => like(v, a))
            : operator === 'StringNotEquals'
              ? (a: string) => !values.includes(a)
              : undefined;
      if (!test) throw new Error(`the local twin does not evaluate the condition operator ${operator}`);
      if (!actual.length || !actual.every(test)) return false;
    }
  }
  return true;
}

function statementApplies(s: Statement, claims: JWTPayload): boolean {
  const actions = list(s.Action);
  if (!actions.some((a) => a === 'sts:AssumeRoleWithWebIdentity' || a === 'sts:*' || a === '*')) return false;
  const federated = typeof s.Principal === 'object' ? list(s.Principal.Federated) : [];
  if (s.Principal !== '*' && !federated.some((f) => f.endsWith(`oidc-provider/${GITHUB_KEY_PREFIX}`)))
    return false;
  return conditionsHold(s.Condition, claims);
}

/** STS (awsQuery, XML): web-identity federation from the twin's GitHub issuer, and GetCallerIdentity. */
export function registerSts(router: Router, ctx: TwinContext, deps: { github: GithubOidcApi }) {
  const state = ctx.state.get('sts', () => ({
    trust: {} as Record<string, TrustPolicy>,
    sessions: {} as Record<string, Session>,
  }));

  const reply = (res: TwinResponse, action: string, result: string) => {
    const text = `<${action}Response xmlns="${NS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
    res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const form = (req: TwinRequest) => new URLSearchParams(req.body.toString('utf8'));
  const invalidToken = (message: string) => new AwsError('InvalidIdentityToken', message, 400);

  async function verify(token: string): Promise<JWTPayload> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw invalidToken(
        'The web identity token that was passed is not a JWT: expected header.payload.signature',
      );
    }
    if (unverified.iss !== deps.github.issuer) {
      throw invalidToken(
        `No OpenIDConnect provider found in your account for ${unverified.iss ?? '(no iss claim)'}`,
      );
    }
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(await deps.github.jwks()), {
        issuer: deps.github.issuer,
      });
      return payload;
    } catch (e) {
      if (e instanceof errors.JWTExpired) {
        throw new AwsError(
          'ExpiredTokenException',
          `Token expired: current date/time ${new Date().toISOString()} must be before the expiration date/time ${new Date((unverified.exp ?? 0) * 1000).toISOString()}`,
          400,
        );
      }
      throw invalidToken(
        'The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.',
      );
    }
  }

  router.action('AssumeRoleWithWebIdentity', async (req: TwinRequest, res: TwinResponse) => {
    const p = form(req);
    const roleArn = p.get('RoleArn') ?? '';
    const sessionName = p.get('RoleSessionName') ?? '';
    const duration = Number(p.get('DurationSeconds') ?? 3600);
    const role = ROLE_ARN.exec(roleArn);
    if (!role)
      throw new AwsError(
        'ValidationError',
        `RoleArn must be arn:aws:iam::<account>:role/<name>, got '${roleArn}'`,
      );
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must have length 2-64 and match [\\w+=,.@-]*`,
      );
    }
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      throw new AwsError(
        'ValidationError',
        `DurationSeconds must be 900-43200, got ${p.get('DurationSeconds')}`,
      );
    }
    const claims = await verify(p.get('WebIdentityToken') ?? '');
    const aud = list(claims.aud);
    if (!aud.includes('sts.amazonaws.com'))
      throw invalidToken(
        `Incorrect token audience: ${aud.join(', ') || '(none)'}; request the token for sts.amazonaws.com`,
      );

    const policy = state.trust[roleArn];
    if (policy) {
      let allowed: boolean;
      try {
        const statements = list(policy.Statement);
        allowed =
          statements.some((s) => s.Effect === 'Allow' && statementApplies(s, claims)) &&
          !statements.some((s) => s.Effect === 'Deny' && statementApplies(s, claims));
      } catch (e) {
        throw new AwsError(
          'AccessDenied',
          `Not authorized to perform sts:AssumeRoleWithWebIdentity (${(e as Error).message})`,
          403,
        );
      }
      if (!allowed)
        throw new AwsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403);
    }

    const accessKeyId = `ASIA${randomId(16, UPPER)}`;
    const roleId = `AROA${randomId(17, UPPER)}`;
    const account = role[1];
    const assumedRoleArn = `arn:aws:sts::${account}:assumed-role/${role[2]}/${sessionName}`;
    const expiration = Date.now() + duration * 1000;
    state.sessions[accessKeyId] = {
      roleArn,
      assumedRoleArn,
      assumedRoleId: `${roleId}:${sessionName}`,
      account,
      expiration,
    };
    reply(
      res,
      'AssumeRoleWithWebIdentity',
      `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${randomBytes(30).toString('base64')}</SecretAccessKey>` +
        `<SessionToken>${randomBytes(96).toString('base64')}</SessionToken><Expiration>${new Date(expiration).toISOString()}</Expiration></Credentials>` +
        `<SubjectFromWebIdentityToken>${xmlEscape(String(claims.sub ?? ''))}</SubjectFromWebIdentityToken>` +
        `<AssumedRoleUser><AssumedRoleId>${roleId}:${xmlEscape(sessionName)}</AssumedRoleId><Arn>${xmlEscape(assumedRoleArn)}</Arn></AssumedRoleUser>` +
        `<Provider>arn:aws:iam::${account}:oidc-provider/${GITHUB_KEY_PREFIX}</Provider><Audience>sts.amazonaws.com</Audience>`,
    );
  });

  router.action('GetCallerIdentity', (req: TwinRequest, res: TwinResponse) => {
    const session = req.accessKeyId ? state.sessions[req.accessKeyId] : undefined;
    const identity = session
      ? { arn: session.assumedRoleArn, userId: session.assumedRoleId, account: session.account }
      : {
          arn: `arn:aws:iam::${ctx.accountId}:user/local-developer`,
          userId: 'AIDALOCALTWINDEVELOPER',
          account: ctx.accountId,
        };
    reply(
      res,
      'GetCallerIdentity',
      `<Arn>${xmlEscape(identity.arn)}</Arn><UserId>${xmlEscape(identity.userId)}</UserId><Account>${identity.account}</Account>`,
    );
  });

  return {
    /** Register a role's trust policy (object or JSON); roles without one accept any valid GitHub token. */
    putRoleTrust(roleArn: string, policy: TrustPolicy | string) {
      if (!ROLE_ARN.test(roleArn)) throw new Error(`not a role ARN: ${roleArn}`);
      const parsed = typeof policy === 'string' ? (JSON.parse(policy) as TrustPolicy) : policy;
      if (!parsed?.Statement) throw new Error('a trust policy needs a Statement');
      state.trust[roleArn] = parsed;
      ctx.state.save();
    },
    /** The identity GetCallerIdentity reports for an access key id, if STS issued it. */
    session: (accessKeyId: string): Session | undefined => state.sessions[accessKeyId],
  };
}

export type StsApi = ReturnType<typeof registerSts>;
