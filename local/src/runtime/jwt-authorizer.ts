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
        const res = await fetch(discoveryUrl, { signal: AbortSignal.timeout(5_000) });
        if (!res.ok) throw new Error(`GET ${discoveryUrl} answered ${res.status}`);
        const doc = (await res.json()) as { issuer?: string; jwks_uri?: string };
        if (!doc.issuer || !doc.jwks_uri) throw new Error(`${discoveryUrl} has no issuer or jwks_uri`);
        return { issuer: doc.issuer, jwks: createRemoteJWKSet(new URL(doc.jwks_uri)) };
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
