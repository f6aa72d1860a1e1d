import type { Router } from '../core/router';
import type { TwinContext } from '../twin';
import { register as registerBedrockRuntime, type BedrockOptions } from './bedrock-runtime';
import { register as registerGuardrails, type GuardrailOptions } from './guardrail';

/**
 * Every AWS API the project calls, one module each. A module registers its routes and returns the
 * in-process API that tests and the CLI use to steer it (fault injection, alarm states, ...).
 */
export interface ServiceOptions {
  bedrock?: BedrockOptions;
  guardrail?: GuardrailOptions;
}

export function registerServices(router: Router, ctx: TwinContext) {
  const guardrails = registerGuardrails(router, ctx);
  return {
    guardrails,
    bedrock: registerBedrockRuntime(router, ctx, guardrails),
  };
}

export type ServiceApis = ReturnType<typeof registerServices>;
