import type { Router } from '../core/router';
import type { TwinContext } from '../twin';

/**
 * Every AWS API the project calls, one module each. A module registers its routes and returns the
 * in-process API that tests and the CLI use to steer it (fault injection, alarm states, ...).
 */
export interface ServiceOptions {}

export function registerServices(router: Router, ctx: TwinContext) {
  void router;
  void ctx;
  return {};
}

export type ServiceApis = ReturnType<typeof registerServices>;
