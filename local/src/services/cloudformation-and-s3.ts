import type { Router } from '../core/router';
import type { TwinContext } from '../twin';
import { registerCloudFormation } from './cloudformation';
import type { ProviderDeps } from './cloudformation-resources';
import { registerS3 } from './s3';

/**
 * CloudFormation and the S3 its toolkit stages templates in. Registered after every other service:
 * S3's path-style routes (`/{bucket}/{key+}`) match any path the others have not claimed.
 */
export function registerCloudFormationAndS3(
  router: Router,
  ctx: TwinContext,
  apis: Omit<ProviderDeps, 's3'>,
) {
  const s3 = registerS3(router, ctx);
  return { s3, cloudformation: registerCloudFormation(router, ctx, { ...apis, s3 }) };
}
