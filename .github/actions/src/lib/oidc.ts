import fs from 'node:fs';
import * as core from '@actions/core';

/**
 * The web identity token: a file (input `web-identity-token-file`) or AWS_WEB_IDENTITY_TOKEN for local
 * runs, else the runner's GitHub OIDC token (needs `permissions: id-token: write`).
 */
export async function webIdentityToken(audience: string): Promise<string> {
  const file = core.getInput('web-identity-token-file');
  const fromEnv = process.env.AWS_WEB_IDENTITY_TOKEN;
  if (file || fromEnv) {
    const token = file ? fs.readFileSync(file, 'utf8').trim() : fromEnv!.trim();
    core.setSecret(token);
    return token;
  }
  if (!process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN || !process.env.ACTIONS_ID_TOKEN_REQUEST_URL) {
    throw new Error(
      'no GitHub OIDC token is available (ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set). ' +
        'Did you mean to set the `id-token: write` permission on this job? ' +
        'Local runs can pass web-identity-token-file or AWS_WEB_IDENTITY_TOKEN instead.',
    );
  }
  return core.getIDToken(audience);
}
