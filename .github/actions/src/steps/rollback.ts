import type { BedrockAgentCoreControlClient } from '@aws-sdk/client-bedrock-agentcore-control';
import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { GetParameterHistoryCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { containerUri, getEndpoint, getRuntime, listVersions, requireRuntime } from '../lib/runtime';
import { parseImageUri, repositoryName } from '../lib/tags';
import { deployRuntime } from './deploy-runtime';
import { promote, type PromoteInput, type PromoteResult } from './promote';

export type RollbackTarget =
  { kind: 'previous' } | { kind: 'version'; version: string } | { kind: 'sha'; sha: string };

/** `previous`, a runtime version number, or a 40-hex git sha — validated before any AWS call. */
export function parseRollbackTarget(raw: string): RollbackTarget {
  const s = raw.trim();
  if (s === 'previous') return { kind: 'previous' };
  if (/^[1-9]\d{0,5}$/.test(s)) return { kind: 'version', version: s };
  if (/^[0-9a-f]{40}$/.test(s)) return { kind: 'sha', sha: s };
  throw new Error(
    `rollback target "${raw}" is not valid: use "previous", a runtime version number (e.g. 7), or a full 40-hex git commit sha`,
  );
}

export interface RollbackInput extends Omit<PromoteInput, 'version'> {
  target: RollbackTarget;
}

export interface RollbackResult extends PromoteResult {
  /** True when the target's version was gone and its image was deployed as a new version. */
  redeployed: boolean;
}

/** Repoint `live` to an earlier version (seconds, nothing rebuilt); redeploy the sha's image if its version is gone. */
export async function rollback(input: RollbackInput): Promise<RollbackResult> {
  const { control, runtimeName, endpointName, target } = input;
  const log = input.log ?? (() => {});
  const runtime = await requireRuntime(control, runtimeName);
  const id = runtime.agentRuntimeId!;
  const live = await getEndpoint(control, id, endpointName);
  const liveVersion = Number(live.liveVersion);
  let version: string | undefined;
  let redeployed = false;

  if (target.kind === 'previous') {
    // Only promoted images are written to the parameter, so a candidate that failed its gates
    // (a version between two releases) is never picked.
    const liveImage = containerUri(await getRuntime(control, id, String(liveVersion)));
    const promoted = await parameterHistory(input.ssm, input.imageParameter);
    const before = promoted.slice(0, Math.max(0, promoted.lastIndexOf(liveImage ?? '')));
    const previousImage = before.filter((uri) => uri !== liveImage).at(-1);
    if (!previousImage) {
      throw new Error(
        `${input.imageParameter} records no image promoted before the one ${endpointName} serves (version ${liveVersion}); pick a version or a sha`,
      );
    }
    version = await versionRunning(control, id, (uri) => uri === previousImage);
    if (!version) {
      log(`no version runs ${previousImage}; redeploying it`);
      version = (
        await deployRuntime({ control, runtimeName, imageUri: previousImage, wait: input.wait, log })
      ).version;
      redeployed = true;
    }
  } else if (target.kind === 'version') {
    version = target.version;
  } else {
    const liveImage = containerUri(await getRuntime(control, id, String(liveVersion)));
    if (!liveImage)
      throw new Error(`version ${liveVersion} has no container image to find the repository from`);
    const repo = parseImageUri(liveImage).repository;
    const digest = await digestOfTag(input.ecr, repositoryName(liveImage), target.sha);
    version = await versionRunning(control, id, (uri) => {
      const ref = parseImageUri(uri);
      return ref.tag === target.sha || (!!digest && ref.digest === digest);
    });
    if (!version) {
      if (!digest) {
        throw new Error(
          `no runtime version runs ${target.sha} and ECR ${repositoryName(liveImage)} has no image tagged ${target.sha} ` +
            '(it may have expired); build that commit again or pick a version',
        );
      }
      log(`no version runs ${target.sha}; redeploying its image ${repo}@${digest}`);
      const deployed = await deployRuntime({
        control,
        runtimeName,
        imageUri: `${repo}@${digest}`,
        wait: input.wait,
        log,
      });
      version = deployed.version;
      redeployed = true;
    }
  }
  log(`rolling ${runtimeName}/${endpointName} back from version ${liveVersion} to ${version}`);
  const promoted = await promote({ ...input, version, log });
  return { ...promoted, redeployed };
}

/** Every value the parameter has held, oldest first. */
async function parameterHistory(ssm: SSMClient, name: string): Promise<string[]> {
  const values: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ssm.send(new GetParameterHistoryCommand({ Name: name, MaxResults: 50, NextToken }));
    values.push(...(page.Parameters ?? []).map((p) => p.Value!));
    NextToken = page.NextToken;
  } while (NextToken);
  return values;
}

async function digestOfTag(ecr: ECRClient, repositoryName: string, tag: string): Promise<string | undefined> {
  try {
    const out = await ecr.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: tag }] }));
    return out.imageDetails?.[0]?.imageDigest;
  } catch (e) {
    if ((e as Error).name === 'ImageNotFoundException') return undefined;
    throw e;
  }
}

/** The newest version whose image matches. */
async function versionRunning(
  control: BedrockAgentCoreControlClient,
  id: string,
  matches: (uri: string) => boolean,
): Promise<string | undefined> {
  const versions = await listVersions(control, id);
  for (const v of versions.reverse()) {
    const uri = containerUri(await getRuntime(control, id, String(v)));
    if (uri && matches(uri)) return String(v);
  }
  return undefined;
}
