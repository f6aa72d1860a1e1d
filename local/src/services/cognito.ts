import { randomUUID } from 'node:crypto';
import { SignJWT, type JWK, type JWTPayload } from 'jose';
import { randomId } from '../core/ids';
import { jsonBody } from '../core/json-body';
import { AwsError, sendJson } from '../core/respond';
import { signingKey } from '../core/signing-key';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import type { TwinContext } from '../twin';
import { z } from 'zod';
import { checkInput, pattern, validationError } from '../core/constraints';

/**
 * DescribeUserPoolClient's input constraints, from AWS's model (aws/api-models-aws
 * cognito-identity-provider/service/2016-04-18/cognito-identity-provider-2016-04-18.json); a
 * violation is Cognito's InvalidParameterException with the "N validation error(s) detected" message.
 */
const describeUserPoolClientInput = z
  .object({
    UserPoolId: pattern('^[\\w-]+_[0-9a-zA-Z]+$')
      .min(1, 'Member must have length greater than or equal to 1')
      .max(55, 'Member must have length less than or equal to 55'),
    ClientId: pattern('^[\\w+]+$')
      .min(1, 'Member must have length greater than or equal to 1')
      .max(128, 'Member must have length less than or equal to 128'),
  })
  .passthrough();

export interface CognitoClientOptions {
  name: string;
  /** Custom scopes the client may request, `<resource server>/<scope>` (e.g. `agent/invoke`). */
  scopes?: string[];
  /** A confidential client (default true); only those may use client_credentials. */
  generateSecret?: boolean;
}

interface Pool {
  id: string;
  name: string;
  /** identifier → scope names */
  resourceServers: Record<string, string[]>;
  clients: Record<string, Client>;
}

interface Client {
  clientId: string;
  name: string;
  secret?: string;
  scopes: string[];
  /** Epoch seconds. */
  created?: number;
}

interface CognitoState {
  privateJwk?: JWK;
  pools: Record<string, Pool>;
}

/** Cognito access tokens live an hour unless the app client says otherwise. */
const TOKEN_SECONDS = 3600;

class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly status: number,
    readonly description: string,
  ) {
    super(description);
  }
}

/**
 * A Cognito user pool's OIDC side: discovery, JWKS and the OAuth2 token endpoint under
 * `${twin.url}/cognito/<poolId>`, issuing RS256 access tokens with Cognito's claim set (no `aud`).
 */
export function register(router: Router, ctx: TwinContext) {
  // Pool ids are unique across accounts and the OIDC endpoints are unsigned: one store for all.
  const state = ctx.state.shared<CognitoState>('cognito', () => ({ pools: {} }));
  const keys = signingKey(ctx, state);

  const issuer = (poolId: string) => `${ctx.url}/cognito/${poolId}`;
  const pool = (poolId: string) => {
    const p = state.pools[poolId];
    if (!p)
      throw new Error(`Unknown user pool '${poolId}'. Create it with twin.cognito.createUserPool(name).`);
    return p;
  };

  async function sign(poolId: string, claims: JWTPayload): Promise<string> {
    const { privateKey, kid } = await keys;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims, token_use: 'access', auth_time: now, version: 2, jti: randomUUID() })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer(poolId))
      .setIssuedAt(now)
      .setExpirationTime(now + TOKEN_SECONDS)
      .sign(privateKey);
  }

  function authenticate(req: TwinRequest, form: URLSearchParams) {
    const basic = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    let id = form.get('client_id') ?? undefined;
    let secret = form.get('client_secret') ?? undefined;
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      [id, secret] = colon < 0 ? [decoded, undefined] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
    }
    // RFC 6749 §5.2: 401 when the client authenticated with the Authorization header, else 400.
    const status = basic ? 401 : 400;
    const p = state.pools[req.params.poolId];
    const client = id ? p?.clients[decodeURIComponent(id)] : undefined;
    if (!client)
      throw new OAuthError('invalid_client', status, 'Client authentication failed: unknown client_id.');
    if (!client.secret)
      throw new OAuthError(
        'unauthorized_client',
        400,
        'This client has no secret; client_credentials needs a confidential client.',
      );
    if (decodeURIComponent(secret ?? '') !== client.secret)
      throw new OAuthError('invalid_client', status, 'Client authentication failed: wrong client_secret.');
    return client;
  }

  // The management API (awsJson1_1, SigV4 service cognito-idp): the pipeline reads the smoke client's secret.
  router.target('AWSCognitoIdentityProviderService.DescribeUserPoolClient', (req, res) => {
    const { UserPoolId, ClientId } = checkInput(
      describeUserPoolClientInput,
      jsonBody(req),
      validationError('InvalidParameterException'),
    );
    const p = state.pools[UserPoolId];
    if (!p) throw new AwsError('ResourceNotFoundException', `User pool ${UserPoolId} does not exist.`);
    const client = p.clients[ClientId];
    if (!client)
      throw new AwsError('ResourceNotFoundException', `User pool client ${ClientId} does not exist.`);
    // The token endpoint grants client_credentials only, so a confidential client is an OAuth client.
    const flows = client.secret ? ['client_credentials'] : [];
    sendJson(
      res,
      200,
      {
        UserPoolClient: {
          UserPoolId: p.id,
          ClientName: client.name,
          ClientId: client.clientId,
          ...(client.secret ? { ClientSecret: client.secret } : {}),
          CreationDate: client.created,
          LastModifiedDate: client.created,
          RefreshTokenValidity: 30,
          TokenValidityUnits: {},
          ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
          SupportedIdentityProviders: ['COGNITO'],
          AllowedOAuthFlows: flows,
          AllowedOAuthScopes: client.scopes,
          AllowedOAuthFlowsUserPoolClient: flows.length > 0,
          EnableTokenRevocation: true,
          AuthSessionValidity: 3,
        },
      },
      'application/x-amz-json-1.1',
    );
  });

  router.route('GET', '/cognito/{poolId}/.well-known/openid-configuration', (req, res) => {
    if (!state.pools[req.params.poolId])
      return sendJson(res, 404, { message: `User pool ${req.params.poolId} does not exist.` });
    const iss = issuer(req.params.poolId);
    sendJson(res, 200, {
      issuer: iss,
      jwks_uri: `${iss}/.well-known/jwks.json`,
      token_endpoint: `${iss}/oauth2/token`,
      authorization_endpoint: `${iss}/oauth2/authorize`,
      userinfo_endpoint: `${iss}/oauth2/userInfo`,
      response_types_supported: ['code', 'token'],
      grant_types_supported: ['client_credentials'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: ['openid', 'email', 'phone', 'profile'],
    });
  });

  router.route('GET', '/cognito/{poolId}/.well-known/jwks.json', async (req, res) => {
    if (!state.pools[req.params.poolId])
      return sendJson(res, 404, { message: `User pool ${req.params.poolId} does not exist.` });
    sendJson(res, 200, { keys: [(await keys).publicJwk] });
  });

  /**
   * The pool whose client made a request to the domain token endpoint: on AWS the domain names the
   * pool; here one endpoint serves every pool's domain and the client id (unique across pools) finds it.
   */
  function poolOfClient(req: TwinRequest): string | undefined {
    const basic = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    const form = new URLSearchParams(req.body.toString('utf8'));
    const decoded = basic ? Buffer.from(basic[1], 'base64').toString('utf8') : undefined;
    const raw = decoded !== undefined ? decoded.split(':')[0] : form.get('client_id');
    const id = raw ? decodeURIComponent(raw) : undefined;
    return id ? Object.keys(state.pools).find((p) => state.pools[p].clients[id]) : undefined;
  }

  // The token endpoint of a user pool domain (https://<prefix>.auth.<region>.amazoncognito.com/oauth2/token,
  // https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html): clients reach it
  // through AWS_ENDPOINT_URL (.github/actions/src/lib/cognito.ts tokenEndpoint).
  router.route('POST', '/oauth2/token', (req: TwinRequest, res: TwinResponse) => {
    req.params.poolId = poolOfClient(req) ?? '';
    return issueToken(req, res);
  });
  router.route('POST', '/cognito/{poolId}/oauth2/token', (req: TwinRequest, res: TwinResponse) =>
    issueToken(req, res),
  );

  async function issueToken(req: TwinRequest, res: TwinResponse) {
    try {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        throw new OAuthError(
          'invalid_request',
          400,
          'The token endpoint takes an application/x-www-form-urlencoded body.',
        );
      }
      const form = new URLSearchParams(req.body.toString('utf8'));
      const grant = form.get('grant_type');
      if (!grant) throw new OAuthError('invalid_request', 400, 'grant_type is required.');
      if (grant !== 'client_credentials') {
        throw new OAuthError(
          'unsupported_grant_type',
          400,
          `grant_type '${grant}' is not supported here; use client_credentials.`,
        );
      }
      const client = authenticate(req, form);
      const asked = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
      const scopes = asked.length ? asked : client.scopes;
      const unknown = scopes.filter((s) => !client.scopes.includes(s));
      if (!scopes.length || unknown.length) {
        throw new OAuthError(
          'invalid_scope',
          400,
          unknown.length
            ? `Scopes not allowed for this client: ${unknown.join(' ')}.`
            : 'The client has no custom scopes to grant.',
        );
      }
      const token = await sign(req.params.poolId, {
        sub: client.clientId,
        client_id: client.clientId,
        scope: scopes.join(' '),
      });
      sendJson(res, 200, { access_token: token, expires_in: TOKEN_SECONDS, token_type: 'Bearer' });
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      const headers = e.status === 401 ? { 'www-authenticate': 'Basic realm="cognito"' } : {};
      const text = JSON.stringify({ error: e.error, error_description: e.description });
      res.writeHead(e.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        ...headers,
      });
      res.end(text);
    }
  }

  return {
    /** The issuer URL of a pool (`discoveryUrl` = issuer + `/.well-known/openid-configuration`). */
    issuer,
    discoveryUrl: (poolId: string) => `${issuer(poolId)}/.well-known/openid-configuration`,
    /** A new user pool; returns its id (`us-east-1_XXXXXXXXX`). */
    createUserPool(name: string): string {
      const id = `${ctx.region}_${randomId(9)}`;
      state.pools[id] = { id, name, resourceServers: {}, clients: {} };
      ctx.state.save();
      return id;
    },
    /** A resource server with custom scopes: `createResourceServer(pool, 'agent', ['invoke'])` defines `agent/invoke`. */
    createResourceServer(poolId: string, identifier: string, scopes: string[]) {
      pool(poolId).resourceServers[identifier] = [...scopes];
      ctx.state.save();
      return scopes.map((s) => `${identifier}/${s}`);
    },
    /** An app client; its scopes must belong to the pool's resource servers. */
    createClient(poolId: string, options: CognitoClientOptions): { clientId: string; clientSecret?: string } {
      const p = pool(poolId);
      const scopes = options.scopes ?? [];
      for (const s of scopes) {
        const [server, name] = s.split('/');
        if (!name || !p.resourceServers[server]?.includes(name)) {
          throw new Error(
            `Scope '${s}' is not defined in pool ${poolId}; add it with createResourceServer(poolId, '${server}', ['${name ?? 'scope'}']).`,
          );
        }
      }
      const clientId = randomId(26, 'abcdefghijklmnopqrstuvwxyz0123456789');
      const secret =
        options.generateSecret === false ? undefined : randomId(51, 'abcdefghijklmnopqrstuvwxyz0123456789');
      p.clients[clientId] = {
        clientId,
        name: options.name,
        scopes,
        created: Math.floor(Date.now() / 1000),
        ...(secret ? { secret } : {}),
      };
      ctx.state.save();
      return { clientId, ...(secret ? { clientSecret: secret } : {}) };
    },
    /** Change an app client's name and scopes (CloudFormation updates; the id and secret stay). */
    updateClient(poolId: string, clientId: string, options: Omit<CognitoClientOptions, 'generateSecret'>) {
      const client = pool(poolId).clients[clientId];
      if (!client) throw new Error(`Unknown app client '${clientId}' in pool ${poolId}.`);
      Object.assign(client, { name: options.name, scopes: options.scopes ?? [] });
      ctx.state.save();
    },
    deleteClient(poolId: string, clientId: string) {
      delete state.pools[poolId]?.clients[clientId];
      ctx.state.save();
    },
    deleteResourceServer(poolId: string, identifier: string) {
      delete state.pools[poolId]?.resourceServers[identifier];
      ctx.state.save();
    },
    deleteUserPool(poolId: string) {
      delete state.pools[poolId];
      ctx.state.save();
    },
    /** An access token as a user signed in through `clientId` would get (local runs: the memory actor is `sub`). */
    issueUserToken(poolId: string, clientId: string, sub: string): Promise<string> {
      const client = pool(poolId).clients[clientId];
      if (!client) throw new Error(`Unknown app client '${clientId}' in pool ${poolId}.`);
      return sign(poolId, {
        sub,
        client_id: clientId,
        username: sub,
        scope: ['openid', ...client.scopes].join(' '),
        origin_jti: randomUUID(),
        event_id: randomUUID(),
      });
    },
  };
}

export type CognitoApi = ReturnType<typeof register>;
