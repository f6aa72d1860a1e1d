import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CognitoIdentityProviderClient,
  DescribeUserPoolClientCommand,
  InvalidParameterException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cognito-identity-provider';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig } from './image-fixture';

let twin: Twin;
let poolId: string;
let client: { clientId: string; clientSecret?: string };
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'twin-cognito-'));

beforeAll(async () => {
  twin = await startTwin({ stateDir });
  poolId = twin.cognito.createUserPool('agent-users');
  twin.cognito.createResourceServer(poolId, 'agent', ['invoke', 'admin']);
  client = twin.cognito.createClient(poolId, { name: 'smoke', scopes: ['agent/invoke'] });
});
afterAll(async () => {
  await twin.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${twin.cognito.issuer(poolId)}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  });
const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
});

describe('Cognito stand-in', () => {
  it('publishes discovery and JWKS under the issuer', async () => {
    expect(poolId).toMatch(/^us-east-1_[A-Za-z0-9]{9}$/);
    const doc = await (await fetch(twin.cognito.discoveryUrl(poolId))).json();
    expect(doc).toMatchObject({
      issuer: `${twin.url}/cognito/${poolId}`,
      jwks_uri: `${twin.url}/cognito/${poolId}/.well-known/jwks.json`,
      token_endpoint: `${twin.url}/cognito/${poolId}/oauth2/token`,
    });
    const jwks = await (await fetch(doc.jwks_uri)).json();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.keys[0].d).toBeUndefined();
  });

  it('issues a client-credentials access token with Cognito claims (HTTP Basic)', async () => {
    const res = await token(
      { grant_type: 'client_credentials' },
      basic(client.clientId, client.clientSecret!),
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const jwks = createRemoteJWKSet(new URL(`${twin.cognito.issuer(poolId)}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
      issuer: twin.cognito.issuer(poolId),
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({
      sub: client.clientId,
      client_id: client.clientId,
      scope: 'agent/invoke',
      token_use: 'access',
      version: 2,
    });
    expect(payload.aud).toBeUndefined();
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(typeof payload.jti).toBe('string');
    expect(typeof payload.auth_time).toBe('number');
  });

  it('accepts form credentials and an explicit scope', async () => {
    const res = await token({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret!,
      scope: 'agent/invoke',
    });
    expect(res.status).toBe(200);
    expect(decodeJwt((await res.json()).access_token).scope).toBe('agent/invoke');
  });

  it.each([
    [
      'wrong secret (Basic)',
      { grant_type: 'client_credentials' },
      () => basic(client.clientId, 'nope'),
      401,
      'invalid_client',
    ],
    [
      'unknown client (form)',
      { grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' },
      () => ({}),
      400,
      'invalid_client',
    ],
    [
      'password grant',
      { grant_type: 'password' },
      () => basic(client.clientId, client.clientSecret!),
      400,
      'unsupported_grant_type',
    ],
    [
      'scope not granted',
      { grant_type: 'client_credentials', scope: 'agent/admin' },
      () => basic(client.clientId, client.clientSecret!),
      400,
      'invalid_scope',
    ],
  ])('rejects %s', async (_name, form, headers, status, error) => {
    const res = await token(form, headers());
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error });
  });

  it('mints user tokens and refuses undefined scopes', async () => {
    const jwt = await twin.cognito.issueUserToken(poolId, client.clientId, 'user-42');
    const jwks = createRemoteJWKSet(new URL(`${twin.cognito.issuer(poolId)}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(jwt, jwks, { issuer: twin.cognito.issuer(poolId) });
    expect(payload).toMatchObject({ sub: 'user-42', client_id: client.clientId, token_use: 'access' });
    expect(() => twin.cognito.createClient(poolId, { name: 'bad', scopes: ['other/thing'] })).toThrow(
      /createResourceServer/,
    );
  });

  describe('DescribeUserPoolClient (real SDK client)', () => {
    const idp = () => new CognitoIdentityProviderClient(clientConfig(twin));

    it('returns a confidential client with its secret, flows and scopes', async () => {
      const { UserPoolClient } = await idp().send(
        new DescribeUserPoolClientCommand({ UserPoolId: poolId, ClientId: client.clientId }),
      );
      expect(UserPoolClient).toMatchObject({
        UserPoolId: poolId,
        ClientName: 'smoke',
        ClientId: client.clientId,
        ClientSecret: client.clientSecret,
        AllowedOAuthFlows: ['client_credentials'],
        AllowedOAuthScopes: ['agent/invoke'],
        AllowedOAuthFlowsUserPoolClient: true,
      });
      expect(UserPoolClient!.CreationDate).toBeInstanceOf(Date);
    });

    it('has no secret for a public client', async () => {
      const web = twin.cognito.createClient(poolId, { name: 'web', generateSecret: false });
      const { UserPoolClient } = await idp().send(
        new DescribeUserPoolClientCommand({ UserPoolId: poolId, ClientId: web.clientId }),
      );
      expect(UserPoolClient).toMatchObject({ ClientName: 'web', AllowedOAuthFlows: [] });
      expect(UserPoolClient!.ClientSecret).toBeUndefined();
    });

    it.each([
      [
        'pool',
        () => ({ UserPoolId: 'us-east-1_Missing00', ClientId: client.clientId }),
        /User pool us-east-1_Missing00 does not exist/,
      ],
      [
        'client',
        () => ({ UserPoolId: poolId, ClientId: 'nosuchclient' }),
        /User pool client nosuchclient does not exist/,
      ],
    ])('answers ResourceNotFoundException for an unknown %s', async (_what, input, message) => {
      const error = await idp()
        .send(new DescribeUserPoolClientCommand(input()))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      expect((error as Error).message).toMatch(message);
    });

    it('answers InvalidParameterException when an id is missing', async () => {
      const error = await idp()
        .send(new DescribeUserPoolClientCommand({ UserPoolId: poolId } as never))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect((error as Error).message).toMatch(/'clientId' failed to satisfy constraint/);
    });
  });

  it('keeps pools, clients and keys across a restart with a stateDir', async () => {
    const kid = decodeProtectedHeader(await twin.cognito.issueUserToken(poolId, client.clientId, 'u')).kid;
    const again = await startTwin({ stateDir });
    try {
      const jwt = await again.cognito.issueUserToken(poolId, client.clientId, 'u');
      expect(decodeProtectedHeader(jwt).kid).toBe(kid);
    } finally {
      await again.close();
    }
  });
});
