import { randomUUID } from 'node:crypto';
import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { AwsError, xmlEscape } from '../core/respond';
import type { PolicyDocument, RoleRecord } from '../iam/iam';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import type { TwinContext } from '../twin';
import type { GithubOidcApi } from './github-oidc';

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** Trust policies name GitHub's claims under its real issuer host; the twin's issuer stands in for it. */
const GITHUB_KEY_PREFIX = 'token.actions.githubusercontent.com';
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

/**
 * The GitHub claims STS exposes as condition keys in a trust policy (`aud`, `sub`, and since
 * February 2026 these); any other claim is absent from the request, so a condition on it never matches.
 */
const GITHUB_CONDITION_CLAIMS = [
  'aud',
  'sub',
  'actor',
  'actor_id',
  'job_workflow_ref',
  'repository',
  'repository_id',
  'workflow',
  'ref',
  'environment',
  'enterprise_id',
];
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Evaluate a trust policy for a request with iam-simulate (resource policy = the trust policy). */
function trusts(
  role: RoleRecord,
  principal: string,
  action: string,
  context: Record<string, string | string[]>,
  identityPolicies: { name: string; policy: PolicyDocument }[] = [],
): boolean {
  const account = role.arn.split(':')[4];
  // The unvalidated engine: the web-identity keys above are not in iam-data's list for the action
  // (aud and sub are missing), and the validated one would drop them from the request.
  const result = runUnsafeSimulation(
    {
      request: {
        principal,
        action,
        resource: { resource: role.arn, accountId: account },
        contextVariables: context,
      },
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: createValidatedPolicy(role.trust, validateTrustPolicy, { name: 'trust-policy' }),
    },
    {},
  );
  return result === 'Allowed';
}

/** STS (awsQuery, XML): web-identity federation from the twin's GitHub issuer, and GetCallerIdentity. */
export function registerSts(router: Router, ctx: TwinContext, deps: { github: GithubOidcApi }) {
  const iam = ctx.iam;

  const reply = (res: TwinResponse, action: string, result: string) => {
    const text = `<${action}Response xmlns="${NS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
    res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const form = (req: TwinRequest) => new URLSearchParams(req.body.toString('utf8'));
  const invalidToken = (message: string) => new AwsError('InvalidIdentityToken', message, 400);
  const credentialsXml = (
    c: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
    expiration: number,
  ) =>
    `<Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${xmlEscape(c.secretAccessKey)}</SecretAccessKey>` +
    `<SessionToken>${xmlEscape(c.sessionToken ?? '')}</SessionToken><Expiration>${new Date(expiration).toISOString()}</Expiration></Credentials>`;
  const assumedRoleXml = (s: { assumedRoleId: string; assumedRoleArn: string }) =>
    `<AssumedRoleUser><AssumedRoleId>${xmlEscape(s.assumedRoleId)}</AssumedRoleId><Arn>${xmlEscape(s.assumedRoleArn)}</Arn></AssumedRoleUser>`;

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
    const account = role[1];
    // The twin's issuer stands in for GitHub's: the role's account needs IAM's provider for it.
    const providerArn = `arn:aws:iam::${account}:oidc-provider/${GITHUB_KEY_PREFIX}`;
    const provider = iam.account(account).oidcProviders[providerArn];
    if (!provider)
      throw invalidToken(`No OpenIDConnect provider found in your account for https://${GITHUB_KEY_PREFIX}`);
    const claims = await verify(p.get('WebIdentityToken') ?? '');
    const aud = list(claims.aud);
    if (!aud.some((a) => provider.clientIds.includes(a)))
      throw invalidToken(
        `Incorrect token audience: ${aud.join(', ') || '(none)'}; the provider accepts ${provider.clientIds.join(', ')}`,
      );

    const target = iam.role(roleArn);
    const context = Object.fromEntries(
      GITHUB_CONDITION_CLAIMS.filter((c) => claims[c] !== undefined).map((c) => [
        `${GITHUB_KEY_PREFIX}:${c}`,
        Array.isArray(claims[c]) ? (claims[c] as unknown[]).map(String) : String(claims[c]),
      ]),
    );
    if (!target || !trusts(target, providerArn, 'sts:AssumeRoleWithWebIdentity', context))
      throw new AwsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403);

    const { session, credentials } = iam.openSession(target, sessionName, duration);
    reply(
      res,
      'AssumeRoleWithWebIdentity',
      credentialsXml(credentials, session.expiration) +
        `<SubjectFromWebIdentityToken>${xmlEscape(String(claims.sub ?? ''))}</SubjectFromWebIdentityToken>` +
        assumedRoleXml(session) +
        `<Provider>${xmlEscape(providerArn)}</Provider><Audience>${xmlEscape(aud[0])}</Audience>`,
    );
  });

  // Role chaining (the CDK toolkit assuming bootstrap roles): the caller's identity policy must allow
  // sts:AssumeRole on the role and the role's trust policy must allow the caller.
  router.action('AssumeRole', async (req: TwinRequest, res: TwinResponse) => {
    const identity = req.accessKeyId ? iam.identity(req.accessKeyId) : undefined;
    if (!identity)
      throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    const p = form(req);
    const roleArn = p.get('RoleArn') ?? '';
    const sessionName = p.get('RoleSessionName') ?? '';
    const duration = Number(p.get('DurationSeconds') ?? 3600);
    if (!ROLE_ARN.test(roleArn))
      throw new AwsError(
        'ValidationError',
        `RoleArn must be arn:aws:iam::<account>:role/<name>, got '${roleArn}'`,
      );
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must have length 2-64 and match [\\w+=,.@-]*`,
      );
    const target = iam.role(roleArn);
    const denied = new AwsError(
      'AccessDenied',
      `User: ${identity.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      403,
    );
    if (!target) throw denied;
    // The trust policy is the role's resource policy. iam-simulate applies STS's rule: a trust policy
    // naming the caller itself suffices; naming its account (root) needs the caller's identity policy too.
    const decision = await iam.authorize({
      identity,
      action: 'sts:AssumeRole',
      resource: roleArn,
      resourceAccount: roleArn.split(':')[4],
      resourcePolicy: target.trust,
    });
    if (!decision.allowed) throw denied;
    const { session, credentials } = iam.openSession(target, sessionName, duration);
    reply(res, 'AssumeRole', credentialsXml(credentials, session.expiration) + assumedRoleXml(session));
  });

  router.action('GetCallerIdentity', (req: TwinRequest, res: TwinResponse) => {
    const identity = req.accessKeyId ? iam.identity(req.accessKeyId) : undefined;
    if (!identity)
      throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    reply(
      res,
      'GetCallerIdentity',
      `<Arn>${xmlEscape(identity.arn)}</Arn><UserId>${xmlEscape(identity.userId)}</UserId><Account>${identity.account}</Account>`,
    );
  });

  return {
    /** The STS session an access key id belongs to, if STS issued it. */
    session: (accessKeyId: string) => iam.identity(accessKeyId),
  };
}

export type StsApi = ReturnType<typeof registerSts>;
