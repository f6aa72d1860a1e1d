/**
 * A fast stand-in for what the environment stack creates, for the action tests: a runtime on version 1,
 * its `live` endpoint, a Cognito pool with a machine client, a memory, the stack-outputs parameter, the
 * records of an earlier release and three quiet alarms — made directly through the twin's APIs as the
 * account's admin in well under a second, where the real path (local/src/provision/stacks.ts: `cdk
 * bootstrap` + `cdk deploy` of every stack through the CDK CLI, IAM enforced) takes most of a minute.
 * That real path is what `npm run rehearse`, `npm run twin -- --provision`, `npm start -- --provision`
 * and scripts/test/dev.test.ts (with `cdk diff --all`) run; these tests exercise the actions' logic on top of it.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
  CreateAgentRuntimeEndpointCommand,
  CreateMemoryCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { sharedResourceNames, type Environment, type StackOutputKey } from '../../../../environments';
import { loadPrices } from '../../../../environments/prices';
import { resourcesFromStackOutputs, runtimeSpec } from '../../../../environments/runtime-spec';
import type { GuardrailConfig } from '../../../../local/src/services/guardrail';
import type { Twin, TwinOptions } from '../../../../local/src/twin';
import { pushLocalImage } from '../../../../scripts/push-local-image';
import type { StackOutputs } from '../../src/lib/stack-outputs';
import { pollUntil } from '../../src/lib/poll';
import { getEndpoint } from '../../src/lib/runtime';
import { assemblyStacks, provisionFromTemplates } from '../../../../local/src/provision/templates';
import { sharedAssembly } from '../../../../infra/test/assembly';

/**
 * The id Bedrock would give an environment's guardrail: lowercase letters and digits (the model's
 * GuardrailIdentifier pattern), never the guardrail's name, which has hyphens.
 */
const guardrailId = (env: Environment) => env.names.guardrail.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Twin options with each environment's guardrail (named and worded as its file says). */
export function twinOptions(envs: Environment[]): TwinOptions {
  return {
    // The registry account (dev's, where previews live too): image URIs are built from it.
    accountId: (envs.find((e) => e.name === 'dev') ?? envs[0]).account,
    agentcore: { readyDelayMs: 100 },
    guardrail: {
      guardrails: envs.map((e) => ({
        id: guardrailId(e),
        version: '1',
        blockedInputMessage: e.guardrail.blockedInputMessage,
        blockedOutputMessage: e.guardrail.blockedOutputMessage,
        promptAttack: true,
        // The twin's guardrail knows the PII types the environments use.
        pii: e.guardrail.pii as GuardrailConfig['pii'],
      })),
    },
  };
}

export interface Provisioned {
  env: Environment;
  runtimeId: string;
  runtimeArn: string;
  tokenUrl: string;
  userPoolId: string;
  clientId: string;
  clientSecret: string;
  memoryId: string;
}

/** The commit provision() records as the release the environments start from. */
export const seedSha = '5eed'.padEnd(40, '0');

/**
 * Runtime (version 1 on `image`, by digest), `live` endpoint, Cognito pool + machine client, memory,
 * the stack-outputs parameter, the records of an earlier release of `image`, alarms.
 */
export async function provision(twin: Twin, env: Environment, image: string): Promise<Provisioned> {
  // What the environment's stack creates lives in its account: sign as that account's admin.
  const te = twin.env({ account: env.account });
  const sdk = {
    region: twin.context.region,
    endpoint: twin.url,
    maxAttempts: 1,
    credentials: { accessKeyId: te.AWS_ACCESS_KEY_ID, secretAccessKey: te.AWS_SECRET_ACCESS_KEY },
  };
  const control = new BedrockAgentCoreControlClient(sdk);
  const poolId = twin.cognito.createUserPool(env.names.userPool);
  const [server, scope] = env.names.invokeScope.split('/');
  twin.cognito.createResourceServer(poolId, server, [scope]);
  const user = twin.cognito.createClient(poolId, { name: 'web', generateSecret: false });
  const machine = twin.cognito.createClient(poolId, { name: 'smoke', scopes: [env.names.invokeScope] });
  const memory = await control.send(
    new CreateMemoryCommand({ name: env.names.memory, eventExpiryDuration: env.memory.expiryDays }),
  );
  const outputs: Partial<Record<StackOutputKey, string>> = {
    ExecutionRoleArn: `arn:aws:iam::${env.account}:role/${env.names.executionRole}`,
    MemoryId: memory.memory!.id!,
    GuardrailId: guardrailId(env),
    GuardrailVersion: '1',
    DiscoveryUrl: twin.cognito.discoveryUrl(poolId),
    UserClientId: user.clientId,
    MachineClientId: machine.clientId,
  };
  // The stack's runtime configuration, from the same function the stack and previews use.
  const spec = runtimeSpec(env, resourcesFromStackOutputs(outputs as StackOutputs, loadPrices()));
  const created = await control.send(
    new CreateAgentRuntimeCommand({
      ...spec,
      description: `${env.name} runtime`,
      agentRuntimeName: env.names.runtime,
      agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
    }),
  );
  await endpointReady(control, created.agentRuntimeId!, 'DEFAULT');
  await control.send(
    new CreateAgentRuntimeEndpointCommand({
      agentRuntimeId: created.agentRuntimeId,
      name: env.runtime.liveEndpoint,
      agentRuntimeVersion: created.agentRuntimeVersion,
    }),
  );
  await endpointReady(control, created.agentRuntimeId!, env.runtime.liveEndpoint);
  const ssm = new SSMClient(sdk);
  const put = (Name: string, Value: string) =>
    ssm.send(new PutParameterCommand({ Name, Value, Type: 'String', Overwrite: true }));
  const tokenUrl = `${twin.cognito.issuer(poolId)}/oauth2/token`;
  // What the stack writes: its outputs, where the actions (previews too) read ids (contract §1).
  Object.assign(outputs, {
    RuntimeId: created.agentRuntimeId!,
    RuntimeArn: created.agentRuntimeArn!,
    LiveEndpointName: env.runtime.liveEndpoint,
    UserPoolId: poolId,
    InvokeScope: env.names.invokeScope,
    TokenEndpoint: tokenUrl,
    AlarmTopicArn: `arn:aws:sns:${env.region}:${env.account}:${env.names.alarmTopic}`,
    AlarmNamePrefix: env.names.alarmPrefix,
  });
  await put(env.names.outputsParameter, JSON.stringify(outputs));
  // The environment as an earlier pipeline run left it: version 1 promoted from `seedSha`.
  await put(env.names.imageParameter, image);
  await put(env.names.liveVersionParameter, created.agentRuntimeVersion!);
  await put(
    env.names.releaseParameter,
    JSON.stringify({ sha: seedSha, image, version: created.agentRuntimeVersion }),
  );
  for (const name of ['latency-p95', 'system-errors', 'throttles']) {
    twin.inAccount(env.account, () => {
      twin.cloudwatch.putAlarm({
        AlarmName: `${env.names.alarmPrefix}${name}`,
        Namespace: 'AWS/Bedrock-AgentCore',
        Threshold: 1,
      });
      twin.cloudwatch.setAlarmState(`${env.names.alarmPrefix}${name}`, 'OK');
    });
  }
  return {
    env,
    runtimeId: created.agentRuntimeId!,
    runtimeArn: created.agentRuntimeArn!,
    tokenUrl,
    userPoolId: poolId,
    clientId: machine.clientId,
    clientSecret: machine.clientSecret!,
    memoryId: memory.memory!.id!,
  };
}

/**
 * An environment provisioned on version 1 of a seed image pushed (and its repository created) with
 * `ecr`: what the action tests start from.
 */
export async function provisionSeeded(twin: Twin, env: Environment, dir: string, ecr: ECRClient) {
  const file = path.join(dir, 'seed.mjs');
  fs.writeFileSync(file, '// seed\n');
  const seed = await pushLocalImage({
    repository: sharedResourceNames(env.app.app).repository,
    tags: ['seed'],
    bundlePath: file,
    create: true,
    ecr,
  });
  return { provisioned: await provision(twin, env, seed.imageUri), seedImage: seed.imageUri };
}

function endpointReady(control: BedrockAgentCoreControlClient, runtimeId: string, endpointName: string) {
  return pollUntil(
    async () => ((await getEndpoint(control, runtimeId, endpointName)).status === 'READY' ? true : undefined),
    {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: `endpoint ${endpointName} of ${runtimeId} on the twin to be READY`,
    },
  );
}

/**
 * The roles, OIDC providers, policies and registry the CDK app synthesizes (the run's shared cloud
 * assembly: infra/test/assembly.ts), created in both accounts
 * through the twin's IAM and ECR APIs (local/src/provision). Attributes of resources provision()
 * made in-process (guardrail, memory) are resolved from them.
 */
export async function provisionIdentities(twin: Twin, envs: Provisioned[]) {
  const report = await provisionFromTemplates(twin, assemblyStacks(await sharedAssembly()), {
    attribute: (stack, _id, attribute, resource) => {
      const p = envs.find((e) => e.env.names.stack === stack.name);
      if (!p) return undefined;
      if (resource?.Type === 'AWS::Bedrock::Guardrail' && attribute === 'GuardrailArn')
        return `arn:aws:bedrock:${stack.region}:${stack.account}:guardrail/${guardrailId(p.env)}`;
      if (resource?.Type === 'AWS::BedrockAgentCore::Memory' && attribute === 'MemoryArn')
        return `arn:aws:bedrock-agentcore:${stack.region}:${stack.account}:memory/${p.memoryId}`;
      if (resource?.Type === 'AWS::Cognito::UserPool' && attribute === 'Arn')
        return `arn:aws:cognito-idp:${stack.region}:${stack.account}:userpool/${p.userPoolId}`;
      return undefined;
    },
  });
  const unresolved = report.skipped.filter((s) => s.includes(' statement '));
  if (unresolved.length)
    throw new Error(`policy statements the provisioner could not resolve: ${unresolved.join('; ')}`);
  return report;
}
