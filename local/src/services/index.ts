import type { Router } from '../core/router';
import type { TwinContext } from '../twin';
import { register as registerBedrockRuntime, type BedrockOptions } from './bedrock-runtime';
import { register as registerGuardrails, type GuardrailOptions } from './guardrail';
import { register as registerMemory, type MemoryOptions } from './memory';
import { register as registerCognito } from './cognito';
import type { AgentCoreOptions } from '../runtime/options';
import { registerAgentCoreControl } from './agentcore-control';
import { registerCloudFormationAndS3 } from './cloudformation-and-s3';
import { registerCloudWatch } from './cloudwatch';
import { registerEcr } from './ecr';
import { registerGithubOidc } from './github-oidc';
import { registerRuntimeInvoke } from './runtime-invoke';
import { registerSsm } from './ssm';
import { registerSts } from './sts';
import { registerLogs } from './logs';
import { registerXray } from './xray';

/**
 * Every AWS API the project calls, one module each. A module registers its routes and returns the
 * in-process API that tests and the CLI use to steer it (fault injection, alarm states, ...).
 */
export interface ServiceOptions {
  bedrock?: BedrockOptions;
  guardrail?: GuardrailOptions;
  memory?: MemoryOptions;
  agentcore?: AgentCoreOptions;
}

export function registerServices(router: Router, ctx: TwinContext) {
  const guardrails = registerGuardrails(router, ctx);
  const ecr = registerEcr(router, ctx);
  const github = registerGithubOidc(router, ctx);
  const control = registerAgentCoreControl(router, ctx, { ecr });
  const cloudwatch = registerCloudWatch(router, ctx);
  const logs = registerLogs(ctx);
  const apis = {
    ecr,
    github,
    sts: registerSts(router, ctx, { github }),
    cloudwatch,
    ssm: registerSsm(router, ctx),
    agentcore: { ...control, ...registerRuntimeInvoke(router, ctx, { control, ecr, cloudwatch }) },
    guardrails,
    bedrock: registerBedrockRuntime(router, ctx, guardrails, cloudwatch),
    memory: registerMemory(router, ctx),
    cognito: registerCognito(router, ctx),
    logs,
    xray: registerXray(router, ctx, { logs }),
  };
  return { ...apis, ...registerCloudFormationAndS3(router, ctx, apis) };
}

export type ServiceApis = ReturnType<typeof registerServices>;
