import {
  UpdateAgentRuntimeEndpointCommand,
  type BedrockAgentCoreControlClient,
} from '@aws-sdk/client-bedrock-agentcore-control';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { pollUntil } from '../lib/poll';
import { releaseHistory, writeRelease } from '../lib/release-record';
import { containerUri, getEndpoint, getRuntime, pollOptions, type WaitOptions } from '../lib/runtime';
import { parseImageUri, retagImage } from '../lib/tags';

export interface PromoteInput {
  control: BedrockAgentCoreControlClient;
  ssm: SSMClient;
  ecr: ECRClient;
  /** The environment's moving image tag (its name): ECR lifecycle rules keep what it points at. */
  environmentTag: string;
  /** The environment's runtime (`RuntimeId` of its stack outputs). */
  runtimeId: string;
  /** Its name, for messages. */
  runtimeName: string;
  /** The endpoint clients call (`runtime.liveEndpoint`). */
  endpointName: string;
  version: string;
  /**
   * The commit the version's image was built from (a release passes it). Without it (rollbacks) the
   * promotion record's history supplies it; an image no record names gets no new record.
   */
  sha?: string;
  /** SSM parameter holding the environment's image (`names.imageParameter`); CDK reads it. */
  imageParameter: string;
  /** SSM parameter holding the promotion record (`names.releaseParameter`); rollback-by-sha reads its history. */
  releaseParameter: string;
  /** SSM parameter holding the version `live` serves (`names.liveVersionParameter`); CDK reads it. */
  liveVersionParameter: string;
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
  /** The commit recorded for this promotion; undefined when no record names the image. */
  sha?: string;
  changed: boolean;
}

const endpointSettling = new Set(['CREATING', 'UPDATING']);

/**
 * Blue/green steps 4–5: point the named endpoint at `version`, wait until it serves it, then record
 * it: the image and the version in the parameters CDK reads (so a later `cdk deploy` keeps both), the
 * promotion record (sha, image by digest, version), and the environment's tag in ECR so lifecycle
 * rules never expire what an environment runs.
 */
export async function promote(input: PromoteInput): Promise<PromoteResult> {
  const { control, runtimeId: id, runtimeName, endpointName, version, wait } = input;
  const log = input.log ?? (() => {});
  if (!/^[1-9]\d*$/.test(version)) throw new Error(`version must be a positive integer, got "${version}"`);
  if (input.sha !== undefined && !/^[0-9a-f]{40}$/.test(input.sha))
    throw new Error(`sha must be a full 40-hex commit sha, got "${input.sha}"`);
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
  const sha =
    input.sha ??
    (await releaseHistory(input.ssm, input.releaseParameter)).findLast((r) => r.image === imageUri)?.sha;

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

  const put = (Name: string, Value: string) =>
    input.ssm.send(new PutParameterCommand({ Name, Value, Type: 'String', Overwrite: true }));
  await put(input.imageParameter, imageUri);
  await put(input.liveVersionParameter, version);
  log(
    `recorded ${imageUri} in ${input.imageParameter} and version ${version} in ${input.liveVersionParameter}`,
  );
  // The retag's failure is reported after the promotion record is written: `live` moved either way.
  let digest = parseImageUri(imageUri).digest;
  const retagged = await retagImage(input.ecr, imageUri, input.environmentTag).then(
    (d) => ((digest ??= d), undefined),
    (e: Error) => e,
  );
  if (sha && digest) {
    const image = `${parseImageUri(imageUri).repository}@${digest}`;
    await writeRelease(input.ssm, input.releaseParameter, { sha, image, version });
    log(`recorded the promotion of ${sha} (${image}, version ${version}) in ${input.releaseParameter}`);
  } else {
    log(
      `no promotion record names ${imageUri}, so ${input.releaseParameter} is left as it is (a rollback by sha cannot reach this image)`,
    );
  }
  if (retagged) {
    throw new Error(
      `${endpointName} serves version ${version}, but tagging its image ${input.environmentTag} failed: ${retagged.message}`,
    );
  }
  log(`tagged ${imageUri} as ${input.environmentTag}`);
  return {
    runtimeId: id,
    runtimeArn: target.agentRuntimeArn!,
    endpointName,
    version,
    previousLiveVersion: before.liveVersion,
    imageUri,
    sha,
    changed,
  };
}
