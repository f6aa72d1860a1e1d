import {
  DescribeUserPoolClientCommand,
  type CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';

/** OAuth2 client-credentials grant (Cognito's token endpoint, or any RFC 6749 server). */
export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes; omit for the client's defaults. */
  scope?: string;
}

/**
 * Where the grant goes. A Cognito domain's token endpoint (`https://<prefix>.auth.<region>.amazoncognito.com/oauth2/token`,
 * the stack's TokenEndpoint) follows AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, else AWS_ENDPOINT_URL,
 * as the SDK clients do: an emulator answers `/oauth2/token` on its own endpoint and finds the pool by
 * the client id (LocalStack does the same). Other URLs, and every URL without an override, are used as given.
 */
export function tokenEndpoint(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const override = env.AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER || env.AWS_ENDPOINT_URL;
  const parsed = new URL(url);
  if (!override || !/\.auth(-fips)?\.[a-z0-9-]+\.amazoncognito\.com$/.test(parsed.hostname)) return url;
  return new URL(`${parsed.pathname}${parsed.search}`, override).href;
}

export async function clientCredentialsToken(c: ClientCredentials): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (c.scope) body.set('scope', c.scope);
  const basic = Buffer.from(
    `${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`,
  ).toString('base64');
  const url = tokenEndpoint(c.tokenUrl);
  const response = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(
      `token endpoint ${url} answered HTTP ${response.status}: ${text.slice(0, 300)}` +
        ' (check the client id/secret and that the client allows the client_credentials grant and scope)',
    );
  }
  const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
  if (typeof token !== 'string' || !token) throw new Error(`token endpoint ${url} returned no access_token`);
  return token;
}

export interface SecretSource {
  clientId: string;
  /** The client's user pool: the secret is read with the job's AWS credentials, never passed through step outputs. */
  userPoolId: string;
}

/**
 * The machine client's secret, read from its user pool (cognito-idp:DescribeUserPoolClient).
 * `onSecret` sees it before anything else does, so the caller can mask it.
 */
export async function clientSecret(
  source: SecretSource,
  cognito: CognitoIdentityProviderClient,
  onSecret: (secret: string) => void,
): Promise<string> {
  const { clientId, userPoolId } = source;
  const described = await cognito
    .send(new DescribeUserPoolClientCommand({ UserPoolId: userPoolId, ClientId: clientId }))
    .catch((e: unknown) => {
      throw new Error(
        `could not read client ${clientId} of user pool ${userPoolId}: ${(e as Error).message}` +
          ' (check UserPoolId and MachineClientId in the stack outputs, and that the role allows cognito-idp:DescribeUserPoolClient on that pool)',
      );
    });
  const secret = described.UserPoolClient?.ClientSecret;
  if (!secret)
    throw new Error(
      `client ${clientId} of user pool ${userPoolId} has no secret; the smoke test needs a confidential client (client_credentials grant)`,
    );
  onSecret(secret);
  return secret;
}
