import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../../local/src/twin';
import { clientSecret } from '../src/lib/cognito';

let twin: Twin;
let cognito: CognitoIdentityProviderClient;
let poolId: string;
let machine: { clientId: string; clientSecret?: string };
let web: { clientId: string };

beforeAll(async () => {
  twin = await startTwin();
  cognito = new CognitoIdentityProviderClient({
    region: twin.context.region,
    endpoint: twin.url,
    maxAttempts: 1,
    credentials: twin.credentials(),
  });
  poolId = twin.cognito.createUserPool('users');
  twin.cognito.createResourceServer(poolId, 'agent', ['invoke']);
  machine = twin.cognito.createClient(poolId, { name: 'smoke', scopes: ['agent/invoke'] });
  web = twin.cognito.createClient(poolId, { name: 'web', generateSecret: false });
});
afterAll(async () => {
  cognito.destroy();
  await twin.close();
});

/** Resolve the secret, recording what was handed to the masker and whether that came first. */
async function resolve(source: Parameters<typeof clientSecret>[0]) {
  const masked: string[] = [];
  const secret = await clientSecret(source, cognito, (s) => masked.push(s));
  return { secret, masked };
}

describe('smoke client secret', () => {
  it('reads it from the user pool (DescribeUserPoolClient) and masks it', async () => {
    const r = await resolve({ clientId: machine.clientId, userPoolId: poolId });
    expect(r.secret).toBe(machine.clientSecret);
    expect(r.masked).toEqual([machine.clientSecret]);
  });

  it('uses a given secret as is, masked too', async () => {
    expect(await resolve({ clientId: machine.clientId, clientSecret: 's3cret' })).toEqual({
      secret: 's3cret',
      masked: ['s3cret'],
    });
  });

  it.each([
    [
      'both sources',
      () => ({ clientId: machine.clientId, clientSecret: 's', userPoolId: poolId }),
      /either client-secret or user-pool-id, not both/,
    ],
    ['no source', () => ({ clientId: machine.clientId }), /client-secret or user-pool-id is required/],
    [
      'an unknown pool',
      () => ({ clientId: machine.clientId, userPoolId: 'us-east-1_Missing00' }),
      /User pool us-east-1_Missing00 does not exist.*DescribeUserPoolClient/,
    ],
    [
      'an unknown client',
      () => ({ clientId: 'nope', userPoolId: poolId }),
      /User pool client nope does not exist.*check user-pool-id and client-id/,
    ],
    [
      'a public client',
      () => ({ clientId: web.clientId, userPoolId: poolId }),
      /has no secret; the smoke test needs a confidential client/,
    ],
  ])('refuses %s with a clear error and masks nothing', async (_case, source, message) => {
    const masked: string[] = [];
    await expect(clientSecret(source(), cognito, (s) => masked.push(s))).rejects.toThrow(message);
    expect(masked).toEqual([]);
  });
});
