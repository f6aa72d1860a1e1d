/**
 * The OAuth2 token endpoint of an environment's user pool on the twin, for smoke-test's `token-url`:
 *
 *   npx tsx scripts/ci/twin-token-url.ts dev
 *
 * The stack's TokenEndpoint output names the pool's hosted domain, <prefix>.auth.<region>.amazoncognito.com,
 * which the twin cannot answer for offline (no DNS, no TLS for that name); it serves each pool under its
 * own address instead. The pool comes from the stack outputs parameter (read with the job's credentials
 * through AWS_ENDPOINT_URL), the endpoint from the twin's discovery document for that pool.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { loadEnvironment } from '../../environments';
import { readStackOutputs } from '../../.github/actions/src/lib/stack-outputs';

const name = process.argv[2];
const twin = process.env.AWS_ENDPOINT_URL?.replace(/\/$/, '');
if (!name || !twin) {
  console.error('usage: AWS_ENDPOINT_URL=<twin> npx tsx scripts/ci/twin-token-url.ts <environment>');
  process.exit(2);
}
const env = loadEnvironment(name);
const { UserPoolId } = await readStackOutputs(new SSMClient({ region: env.region }), env);
const discovery = `${twin}/cognito/${UserPoolId}/.well-known/openid-configuration`;
const res = await fetch(discovery);
if (!res.ok) {
  console.error(
    `twin-token-url: ${discovery} answered ${res.status}; is the twin at AWS_ENDPOINT_URL provisioned?`,
  );
  process.exit(1);
}
console.log(((await res.json()) as { token_endpoint: string }).token_endpoint);
