import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { TwinContext } from '../twin';

/** RSA private-key members a published JWK must not carry. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

/**
 * An issuer's RS256 signing key, generated once and kept in `store` (a twin state) so tokens stay
 * verifiable across restarts of a persisted twin; `publicJwk` is what its JWKS publishes.
 */
export function signingKey(ctx: TwinContext, store: { privateJwk?: JWK }) {
  const keys = loadOrCreate(ctx, store);
  // Closing waits for a key still being made, so it is saved before anyone removes the state folder.
  ctx.onClose(() => keys.then(() => undefined));
  return keys;
}

async function loadOrCreate(ctx: TwinContext, store: { privateJwk?: JWK }) {
  if (!store.privateJwk) {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    store.privateJwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };
    ctx.state.save();
  }
  const publicJwk = Object.fromEntries(
    Object.entries(store.privateJwk).filter(([k]) => !PRIVATE_MEMBERS.includes(k)),
  ) as JWK;
  return { privateKey: await importJWK(store.privateJwk, 'RS256'), publicJwk, kid: store.privateJwk.kid! };
}
