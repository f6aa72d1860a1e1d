import * as core from '@actions/core';
import { environmentInput, listInput, numberInput, requiredInput, action, setOutputs } from '../lib/action';

export const run = action(async () => {
  const roleArn = requiredInput('role-to-assume');
  const region =
    core.getInput('aws-region') || (core.getInput('environment') ? (await environmentInput()).region : '');
  if (!region) throw new Error('set input "aws-region" or "environment" (whose file names the region)');
  const audience = core.getInput('audience') || 'sts.amazonaws.com';
  // STS loads while the token is fetched.
  const modules = Promise.all([import('@aws-sdk/client-sts'), import('../steps/aws-credentials')]);
  const { webIdentityToken } = await import('../lib/oidc');
  const token = await webIdentityToken(audience);
  const [{ STSClient }, { assumeRole, sessionName }] = await modules;
  const result = await assumeRole({
    sts: new STSClient({ region, maxAttempts: 1 }),
    roleArn,
    sessionName: sessionName(
      core.getInput('role-session-name') ||
        `GitHubActions-${process.env.GITHUB_RUN_ID ?? 'local'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`,
    ),
    durationSeconds: numberInput('role-duration-seconds', 3600)!,
    webIdentityToken: token,
    allowedAccountIds: listInput('allowed-account-ids'),
    retryTotalMs: numberInput('retry-max-seconds', 60)! * 1000,
    log: core.info,
  });
  const { accessKeyId, secretAccessKey, sessionToken } = result.credentials;
  for (const secret of [accessKeyId, secretAccessKey, sessionToken]) core.setSecret(secret);
  core.exportVariable('AWS_ACCESS_KEY_ID', accessKeyId);
  core.exportVariable('AWS_SECRET_ACCESS_KEY', secretAccessKey);
  core.exportVariable('AWS_SESSION_TOKEN', sessionToken);
  core.exportVariable('AWS_REGION', region);
  core.exportVariable('AWS_DEFAULT_REGION', region);
  setOutputs({ 'aws-account-id': result.accountId, 'authenticated-arn': result.arn });
  core.info(`assumed ${result.arn}`);
});
