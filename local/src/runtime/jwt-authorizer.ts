import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { AwsError } from '../core/respond';

export interface CustomJwtAuthorizer {
  discoveryUrl: string;
  allowedAudience?: string[];
  allowedClients?: string[];
  allowedScopes?: string[];
}

const unauthorized = (message: string) => new AwsError('UnauthorizedException', message, 401);
const denied = (message: string) => new AwsError('AccessDeniedException', message, 403);

/**
 * The runtime's inbound JWT check: keys and issuer from the OIDC discovery document, then the
 * allow-lists. A bad token is 401; a good token from a client, audience or scope not allowed is 403.
 */
export class JwtAuthorizer {
  private readonly issuers = new Map<
    string,
    Promise<{ issuer: string; jwks: ReturnType<typeof createRemoteJWKSet> }>
  >();

  /** `reach`: where the service fetches a discovery URL from (the twin's own Cognito for AWS's). */
  constructor(private readonly reach: (url: string) => string = (url) => url) {}

  async verify(token: string, config: CustomJwtAuthorizer): Promise<JWTPayload> {
    const { issuer, jwks } = await this.discover(config.discoveryUrl);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw unauthorized('Invalid Bearer token: the token has expired');
      if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JWKSNoMatchingKey) {
        throw unauthorized(
          'Invalid Bearer token: the signature does not verify with the keys of the configured issuer',
        );
      }
      if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'iss') {
        throw unauthorized(`Invalid Bearer token: the issuer is not ${issuer}`);
      }
      throw unauthorized(`Invalid Bearer token: ${(e as Error).message}`);
    }
    const { allowedClients, allowedAudience, allowedScopes } = config;
    if (allowedClients?.length && !allowedClients.includes(String(payload.client_id ?? ''))) {
      throw denied(
        `The token's client_id '${payload.client_id ?? ''}' is not in the runtime's allowedClients`,
      );
    }
    const aud = payload.aud === undefined ? [] : ([] as string[]).concat(payload.aud);
    if (allowedAudience?.length && !aud.some((a) => allowedAudience.includes(a))) {
      throw denied(`The token's audience '${aud.join(' ')}' is not in the runtime's allowedAudience`);
    }
    const scopes = String(payload.scope ?? '')
      .split(' ')
      .filter(Boolean);
    if (allowedScopes?.length && !scopes.some((s) => allowedScopes.includes(s))) {
      throw denied(`The token has none of the runtime's allowedScopes (${allowedScopes.join(', ')})`);
    }
    return payload;
  }

  private discover(discoveryUrl: string) {
    let found = this.issuers.get(discoveryUrl);
    if (!found) {
      found = (async () => {
        const res = await fetch(this.reach(discoveryUrl), { signal: AbortSignal.timeout(5_000) });
        if (!res.ok) throw new Error(`GET ${discoveryUrl} answered ${res.status}`);
        const doc = (await res.json()) as { issuer?: string; jwks_uri?: string };
        if (!doc.issuer || !doc.jwks_uri) throw new Error(`${discoveryUrl} has no issuer or jwks_uri`);
        return { issuer: doc.issuer, jwks: createRemoteJWKSet(new URL(this.reach(doc.jwks_uri))) };
      })();
      this.issuers.set(discoveryUrl, found);
      // A failed discovery is retried on the next request rather than remembered.
      found.catch(() => this.issuers.delete(discoveryUrl));
    }
    return found.catch((e: Error) => {
      throw new AwsError(
        'InternalServerException',
        `Could not load the JWT authorizer's discovery document: ${e.message}`,
        500,
      );
    });
  }
}

/**
 * Cognito's regional OIDC endpoints (`https://cognito-idp.<region>.amazonaws.com/<poolId>/...`, the
 * discoveryUrl the stack gives the runtime) served by the twin's own Cognito under `<twin>/cognito/`,
 * as AgentCore reaches Cognito inside AWS. Every other URL is fetched as given.
 */
export function cognitoOnTwin(twinUrl: () => string): (url: string) => string {
  return (url) => {
    const m = /^https:\/\/cognito-idp\.[a-z0-9-]+\.amazonaws\.com\/([^/]+)(\/.*)?$/.exec(url);
    return m ? `${twinUrl()}/cognito/${m[1]}${m[2] ?? ''}` : url;
  };
}
