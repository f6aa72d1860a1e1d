/** OAuth2 client-credentials grant (Cognito's token endpoint, or any RFC 6749 server). */
export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes; omit for the client's defaults. */
  scope?: string;
}

export async function clientCredentialsToken(c: ClientCredentials): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (c.scope) body.set('scope', c.scope);
  const basic = Buffer.from(
    `${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`,
  ).toString('base64');
  const response = await fetch(c.tokenUrl, {
    method: 'POST',
    headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(
      `token endpoint ${c.tokenUrl} answered HTTP ${response.status}: ${text.slice(0, 300)}` +
        ' (check the client id/secret and that the client allows the client_credentials grant and scope)',
    );
  }
  const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
  if (typeof token !== 'string' || !token)
    throw new Error(`token endpoint ${c.tokenUrl} returned no access_token`);
  return token;
}
