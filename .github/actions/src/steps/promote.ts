import {
  UpdateAgentRuntimeEndpointCommand,
  type BedrockAgentCoreControlClient,
} from '@aws-sdk/client-bedrock-agentcore-control';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { pollUntil } from '../lib/poll';
import {
  containerUri,
  getEndpoint,
  getRuntime,
  pollOptions,
  requireRuntime,
  type WaitOptions,
} from '../lib/runtime';
import { retagImage } from '../lib/tags';

export interface PromoteInput {
  control: BedrockAgentCoreControlClient;
  ssm: SSMClient;
  ecr: ECRClient;
  /** The environment's moving image tag (its name): ECR lifecycle rules keep what it points at. */
  environmentTag: string;
  runtimeName: string;
  /** The endpoint clients call (`runtime.liveEndpoint`). */
  endpointName: string;
  version: string;
  /** SSM parameter holding the environment's image (`names.imageParameter`); CDK reads it. */
  imageParameter: string;
  wait: WaitOptions;
  log?: (message: string) => void;
}

export interface PromoteResult {
  runtimeId: string;
  runtimeArn: string;
  endpointName: string;
  version: string;
  /** What the endpoint served before; undefined for a new endpoint. */
  previousLiveVersion?: string;
  imageUri: string;
  changed: boolean;
}

const endpointSettling = new Set(['CREATING', 'UPDATING']);

/**
 * Blue/green steps 4–5: point the named endpoint at `version`, wait until it serves it, and record
 * that version's image in the environment's SSM parameter so a later `cdk deploy` keeps it, and
 * with the environment's tag in ECR so lifecycle rules never expire what an environment runs.
 */
export async function promote(input: PromoteInput): Promise<PromoteResult> {
  const { control, runtimeName, endpointName, version, wait } = input;
  const log = input.log ?? (() => {});
  if (!/^[1-9]\d*$/.test(version)) throw new Error(`version must be a positive integer, got "${version}"`);
  const runtime = await requireRuntime(control, runtimeName);
  const id = runtime.agentRuntimeId!;
  const target = await getRuntime(control, id, version).catch((e: Error) => {
    throw new Error(`runtime ${runtimeName} has no version ${version}: ${e.message}`);
  });
  if (target.status !== 'READY') {
    throw new Error(
      `runtime ${runtimeName} version ${version} is ${target.status}, not READY; refusing to promote it`,
    );
  }
  const imageUri = containerUri(target);
  if (!imageUri) throw new Error(`runtime ${runtimeName} version ${version} has no container image`);

  const before = await pollUntil(
    async () => {
      const ep = await getEndpoint(control, id, endpointName);
      return endpointSettling.has(ep.status ?? '') ? undefined : ep;
    },
    pollOptions(wait, `endpoint ${endpointName} to finish its current change`),
  );

  const changed = before.liveVersion !== version || before.status !== 'READY';
  if (changed) {
    log(`pointing ${runtimeName}/${endpointName} from version ${before.liveVersion} to ${version}`);
    await control.send(
      new UpdateAgentRuntimeEndpointCommand({
        agentRuntimeId: id,
        endpointName,
        agentRuntimeVersion: version,
      }),
    );
    await pollUntil(
      async () => {
        const ep = await getEndpoint(control, id, endpointName);
        if (ep.status?.endsWith('_FAILED')) {
          throw new Error(
            `endpoint ${endpointName} ${ep.status} moving to version ${version}: ${ep.failureReason ?? '(no failureReason given)'}` +
              `; it still serves version ${ep.liveVersion}`,
          );
        }
        return ep.status === 'READY' && ep.liveVersion === version ? ep : undefined;
      },
      pollOptions(wait, `endpoint ${endpointName} to serve version ${version}`),
    );
  } else {
    log(`${runtimeName}/${endpointName} already serves version ${version}`);
  }

  await input.ssm.send(
    new PutParameterCommand({ Name: input.imageParameter, Value: imageUri, Type: 'String', Overwrite: true }),
  );
  log(`recorded ${imageUri} in ${input.imageParameter}`);
  await retagImage(input.ecr, imageUri, input.environmentTag).catch((e: Error) => {
    throw new Error(
      `${endpointName} serves version ${version}, but tagging its image ${input.environmentTag} failed: ${e.message}`,
    );
  });
  log(`tagged ${imageUri} as ${input.environmentTag}`);
  return {
    runtimeId: id,
    runtimeArn: runtime.agentRuntimeArn!,
    endpointName,
    version,
    previousLiveVersion: before.liveVersion,
    imageUri,
    changed,
  };
}
