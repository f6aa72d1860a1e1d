import * as core from '@actions/core';
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig } from './image-fixture';
import { githubProvider, putRole } from './helpers/iam';

const REPO = 'acme/agentcore-gitops';
const DEPLOY_PROD = 'arn:aws:iam::123456789012:role/acme-deploy-prod';

describe('GitHub OIDC issuer and STS on the twin', () => {
  let twin: Twin;
  let sts: STSClient;
  beforeAll(async () => {
    twin = await startTwin();
    sts = new STSClient(clientConfig(twin));
    await githubProvider(twin, '123456789012');
    await putRole(twin, DEPLOY_PROD, {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: {
            Federated: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com',
          },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
              'token.actions.githubusercontent.com:sub': `repo:${REPO}:environment:prod`,
            },
            StringLike: { 'token.actions.githubusercontent.com:ref': 'refs/heads/main' },
          },
        },
      ],
    });
  });
  afterAll(() => twin.close());

  /** AssumeRoleWithWebIdentity as session `gha-1`. */
  const assume = (token: string, roleArn = DEPLOY_PROD) =>
    sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: roleArn,
        RoleSessionName: 'gha-1',
        WebIdentityToken: token,
      }),
    );

  it('publishes discovery and keys that verify its tokens, with GitHub subjects', async () => {
    const discovery = await (await fetch(`${twin.url}/github/.well-known/openid-configuration`)).json();
    expect(discovery.issuer).toBe(`${twin.url}/github`);
    const token = await twin.github.mintToken(
      { repository: REPO, environment: 'prod' },
      { audience: 'sts.amazonaws.com' },
    );
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: discovery.issuer,
      audience: 'sts.amazonaws.com',
    });
    expect(payload).toMatchObject({
      sub: `repo:${REPO}:environment:prod`,
      repository: REPO,
      repository_owner: 'acme',
      environment: 'prod',
      ref: 'refs/heads/main',
      ref_type: 'branch',
    });
    expect(
      decodeJwt(
        await twin.github.mintToken({
          repository: REPO,
          eventName: 'pull_request',
          ref: 'refs/pull/7/merge',
        }),
      ).sub,
    ).toBe(`repo:${REPO}:pull_request`);
    expect(decodeJwt(await twin.github.mintToken({ repository: REPO, ref: 'refs/heads/main' })).sub).toBe(
      `repo:${REPO}:ref:refs/heads/main`,
    );
    const immutable = decodeJwt(
      await twin.github.mintToken({
        repository: REPO,
        repositoryId: '42',
        repositoryOwnerId: '7',
        immutableSubject: true,
        environment: 'dev',
      }),
    );
    expect(immutable.sub).toBe('repo:acme@7/agentcore-gitops@42:environment:dev');
  });

  it('answers the Actions token-request protocol so @actions/core.getIDToken works unchanged', async () => {
    const { env } = twin.github.tokenRequest({ repository: REPO, environment: 'prod' });
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const token = await core.getIDToken('sts.amazonaws.com');
      expect(decodeJwt(token)).toMatchObject({
        aud: 'sts.amazonaws.com',
        sub: `repo:${REPO}:environment:prod`,
      });
    } finally {
      // Keys only, not `process.env = saved`: that would leave a plain object in its place for the
      // files that share this worker (vitest.config.ts).
      for (const name of Object.keys(env)) {
        if (name in saved) process.env[name] = saved[name];
        else delete process.env[name];
      }
    }
    const bad = await fetch(`${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=x`, {
      headers: { authorization: 'Bearer not-issued' },
    });
    expect(bad.status).toBe(401);
  });

  it('exchanges a trusted token for temporary credentials whose caller identity is the assumed role', async () => {
    const token = await twin.github.mintToken(
      { repository: REPO, environment: 'prod' },
      { audience: 'sts.amazonaws.com' },
    );
    const out = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: DEPLOY_PROD,
        RoleSessionName: 'gha-123',
        WebIdentityToken: token,
      }),
    );
    expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.Credentials?.Expiration!.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect(out).toMatchObject({
      SubjectFromWebIdentityToken: `repo:${REPO}:environment:prod`,
      Audience: 'sts.amazonaws.com',
      AssumedRoleUser: { Arn: 'arn:aws:sts::123456789012:assumed-role/acme-deploy-prod/gha-123' },
    });
    const assumed = new STSClient({
      endpoint: twin.url,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: {
        accessKeyId: out.Credentials!.AccessKeyId!,
        secretAccessKey: out.Credentials!.SecretAccessKey!,
        sessionToken: out.Credentials!.SessionToken,
      },
    });
    expect((await assumed.send(new GetCallerIdentityCommand({}))).Arn).toBe(
      'arn:aws:sts::123456789012:assumed-role/acme-deploy-prod/gha-123',
    );
    expect(await sts.send(new GetCallerIdentityCommand({}))).toMatchObject({
      Account: '123456789012',
      Arn: 'arn:aws:iam::123456789012:user/twin-admin',
    });
  });

  it('denies a subject the trust policy does not name, like the service', async () => {
    const token = await twin.github.mintToken(
      { repository: REPO, eventName: 'pull_request' },
      { audience: 'sts.amazonaws.com' },
    );
    const err = await assume(token).catch((e) => e);
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toBe('Not authorized to perform sts:AssumeRoleWithWebIdentity');
    // A role that does not exist answers the same (STS does not reveal which roles exist).
    const missing = await assume(token, 'arn:aws:iam::123456789012:role/no-such-role').catch((e) => e);
    expect(missing.name).toBe('AccessDenied');
  });

  it('rejects a wrong audience, an expired token and a bad signature', async () => {
    const send = (token: string) => assume(token).catch((e) => e);
    const wrongAud = await send(await twin.github.mintToken({ repository: REPO, environment: 'prod' }));
    expect(wrongAud.name).toBe('InvalidIdentityTokenException');
    expect(wrongAud.message).toMatch(/audience/);
    const expired = await send(
      await twin.github.mintToken(
        { repository: REPO, environment: 'prod' },
        { audience: 'sts.amazonaws.com', expiresIn: -60 },
      ),
    );
    expect(expired.name).toBe('ExpiredTokenException');
    const good = await twin.github.mintToken(
      { repository: REPO, environment: 'prod' },
      { audience: 'sts.amazonaws.com' },
    );
    const [h, p, s] = good.split('.');
    const tampered = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const badSig = await send(tampered);
    expect(badSig.name).toBe('InvalidIdentityTokenException');
    const forged = Buffer.from(
      JSON.stringify({ ...decodeJwt(good), iss: 'https://elsewhere.example' }),
    ).toString('base64url');
    expect((await send(`${h}.${forged}.${s}`)).message).toMatch(/No OpenIDConnect provider found/);
  });
});
