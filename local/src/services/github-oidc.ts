import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, type JWK, type JWTPayload } from 'jose';
import { sendJson } from '../core/respond';
import { signingKey } from '../core/signing-key';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import type { TwinContext } from '../twin';

/** The context a GitHub Actions job runs in; everything but `repository` has a default. */
export interface GithubJobContext {
  /** `OWNER/REPO`. */
  repository: string;
  repositoryId?: string;
  repositoryOwnerId?: string;
  /** Emit the immutable `repo:OWNER@ID/REPO@ID:…` subject (repos created on or after 2026-07-15). */
  immutableSubject?: boolean;
  eventName?: string;
  /** `refs/heads/main`, `refs/pull/7/merge`, `refs/tags/v1` ... */
  ref?: string;
  sha?: string;
  environment?: string;
  workflow?: string;
  /** `.github/workflows/release.yml` */
  workflowPath?: string;
  actor?: string;
  actorId?: string;
  runId?: string;
  runNumber?: string;
  runAttempt?: string;
  baseRef?: string;
  headRef?: string;
  /** Any claim to set or override verbatim (e.g. a custom `sub`). */
  claims?: Record<string, unknown>;
}

export interface MintOptions {
  audience?: string | string[];
  /** Seconds until `exp` (default 300, like GitHub); negative gives an expired token. */
  expiresIn?: number;
}

const encode = (v: string) => v.replace(/:/g, '%3A');

/** GitHub's claim set for a job context (docs.github.com "OpenID Connect reference"). */
function githubClaims(job: GithubJobContext, audience?: string | string[]): JWTPayload {
  const [owner, name] = job.repository.split('/');
  if (!owner || !name) throw new Error(`repository must be OWNER/REPO, got '${job.repository}'`);
  const repositoryId = job.repositoryId ?? '100000001';
  const ownerId = job.repositoryOwnerId ?? '200000001';
  const eventName = job.eventName ?? 'push';
  const ref = job.ref ?? 'refs/heads/main';
  const repo = job.immutableSubject ? `${owner}@${ownerId}/${name}@${repositoryId}` : job.repository;
  const context = job.environment
    ? `environment:${encode(job.environment)}`
    : eventName === 'pull_request'
      ? 'pull_request'
      : `ref:${encode(ref)}`;
  const workflowPath = job.workflowPath ?? '.github/workflows/release.yml';
  const workflowRef = `${job.repository}/${workflowPath}@${ref}`;
  const sha = job.sha ?? '0'.repeat(40);
  return {
    sub: `repo:${repo}:${context}`,
    aud: audience ?? `https://github.com/${owner}`,
    ref,
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    ref_protected: ref === 'refs/heads/main' ? 'true' : 'false',
    sha,
    repository: job.repository,
    repository_id: repositoryId,
    repository_owner: owner,
    repository_owner_id: ownerId,
    repository_visibility: 'private',
    run_id: job.runId ?? '1000000001',
    run_number: job.runNumber ?? '1',
    run_attempt: job.runAttempt ?? '1',
    runner_environment: 'github-hosted',
    actor: job.actor ?? 'octocat',
    actor_id: job.actorId ?? '583231',
    workflow: job.workflow ?? 'release',
    workflow_ref: workflowRef,
    workflow_sha: sha,
    job_workflow_ref: workflowRef,
    job_workflow_sha: sha,
    event_name: eventName,
    head_ref: job.headRef ?? '',
    base_ref: job.baseRef ?? '',
    ...(job.environment && { environment: job.environment }),
    ...job.claims,
  };
}

/**
 * GitHub Actions' OIDC issuer on the twin: discovery and JWKS under `${url}/github`, tokens minted
 * in-process, and the runner's token-request protocol so `@actions/core.getIDToken()` works unchanged.
 */
export function registerGithubOidc(router: Router, ctx: TwinContext) {
  const issuer = () => `${ctx.url}/github`;
  const state = ctx.state.shared('github-oidc', () => ({
    privateJwk: undefined as JWK | undefined,
    requests: {} as Record<string, GithubJobContext>,
  }));
  const keys = signingKey(ctx, state);

  async function mintToken(job: GithubJobContext, options: MintOptions = {}): Promise<string> {
    const { privateKey, kid } = await keys;
    const iat = Math.floor(Date.now() / 1000);
    const claims = githubClaims(job, options.audience);
    return new SignJWT({ ...claims, jti: randomUUID(), nbf: iat - 5 })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(issuer())
      .setIssuedAt(iat)
      .setExpirationTime(iat + (options.expiresIn ?? 300))
      .sign(privateKey);
  }

  router.route('GET', '/github/.well-known/openid-configuration', (_req: TwinRequest, res: TwinResponse) =>
    sendJson(res, 200, {
      issuer: issuer(),
      jwks_uri: `${issuer()}/.well-known/jwks`,
      subject_types_supported: ['public', 'pairwise'],
      response_types_supported: ['id_token'],
      claims_supported: [
        'sub',
        'aud',
        'exp',
        'iat',
        'iss',
        'jti',
        'nbf',
        'ref',
        'sha',
        'repository',
        'repository_id',
        'repository_owner',
        'repository_owner_id',
        'run_id',
        'run_number',
        'run_attempt',
        'actor',
        'actor_id',
        'workflow',
        'workflow_ref',
        'job_workflow_ref',
        'event_name',
        'environment',
        'ref_type',
      ],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid'],
    }),
  );

  router.route('GET', '/github/.well-known/jwks', async (_req: TwinRequest, res: TwinResponse) => {
    const { publicJwk } = await keys;
    sendJson(res, 200, { keys: [publicJwk] });
  });

  // The Actions runtime's ACTIONS_ID_TOKEN_REQUEST_URL: `&audience=` appended, the request token as bearer.
  router.route('GET', '/github/token-request', async (req: TwinRequest, res: TwinResponse) => {
    const token = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    const job = token ? state.requests[token] : undefined;
    if (!job) {
      sendJson(res, 401, {
        message:
          'Bad credentials: the bearer token is not an ACTIONS_ID_TOKEN_REQUEST_TOKEN issued by this twin',
      });
      return;
    }
    sendJson(res, 200, { value: await mintToken(job, { audience: req.query.get('audience') ?? undefined }) });
  });

  return {
    /** `${twin.url}/github` */
    get issuer() {
      return issuer();
    },
    /** A signed GitHub OIDC token for a job context (default audience `https://github.com/OWNER`). */
    mintToken,
    /** Public keys as served at `${issuer}/.well-known/jwks`. */
    jwks: async () => ({ keys: [(await keys).publicJwk] }),
    /**
     * A token-request pair bound to a job context, as the runner gives a job with `id-token: write`.
     * Put it in ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN (see `env`).
     */
    tokenRequest(job: GithubJobContext) {
      githubClaims(job); // validate now rather than at request time
      const requestToken = randomBytes(24).toString('base64url');
      state.requests[requestToken] = job;
      ctx.state.save();
      const requestUrl = `${issuer()}/token-request?run=${encodeURIComponent(job.runId ?? '1000000001')}`;
      return {
        requestUrl,
        requestToken,
        env: { ACTIONS_ID_TOKEN_REQUEST_URL: requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken },
      };
    },
  };
}

export type GithubOidcApi = ReturnType<typeof registerGithubOidc>;
