import type { BedrockAgentCoreControlClient } from '@aws-sdk/client-bedrock-agentcore-control';
import { releaseHistory, type ReleaseRecord } from '../lib/release-record';
import { containerUri, getEndpoint, getRuntime, listVersions } from '../lib/runtime';
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

export interface RollbackInput extends Omit<PromoteInput, 'version' | 'sha'> {
  target: RollbackTarget;
}

export interface RollbackResult extends PromoteResult {
  /** True when the target's version was gone and its image was deployed as a new version. */
  redeployed: boolean;
}

/**
 * Repoint `live` to an earlier version (seconds, nothing rebuilt); redeploy a release's image when no
 * version runs it any more. `previous` and a sha are looked up in the promotion record's history
 * (what promote wrote), never in image tags.
 */
export async function rollback(input: RollbackInput): Promise<RollbackResult> {
  const { control, runtimeId: id, runtimeName, endpointName, target } = input;
  const log = input.log ?? (() => {});
  const liveVersion = (await getEndpoint(control, id, endpointName)).liveVersion;
  let version: string;
  let redeployed = false;

  if (target.kind === 'version') {
    version = target.version;
  } else {
    const records = await releaseHistory(input.ssm, input.releaseParameter);
    let record: ReleaseRecord | undefined;
    if (target.kind === 'previous') {
      // The release promoted before the one live serves; a candidate that failed its gates was never
      // promoted, so it is never picked.
      const liveImage = liveVersion && containerUri(await getRuntime(control, id, liveVersion));
      const current = records.findLastIndex((r) => r.image === liveImage);
      record = records.slice(0, Math.max(0, current)).findLast((r) => r.image !== liveImage);
      if (!record) {
        throw new Error(
          `${input.releaseParameter} records no release promoted before the one ${endpointName} serves (version ${liveVersion}); pick a version`,
        );
      }
    } else {
      record = records.findLast((r) => r.sha === target.sha);
      if (!record) {
        throw new Error(
          `no promotion record in ${input.releaseParameter} names commit ${target.sha}: only commits the pipeline promoted here can be rolled back to by sha ` +
            '(image tags are not trusted: a pull request could have pushed one); pick a version',
        );
      }
    }
    const found = await versionRunning(control, id, record);
    if (found) {
      version = found;
    } else {
      log(`no version runs ${record.image} (commit ${record.sha}) any more; redeploying it`);
      const deployed = await deployRuntime({
        control,
        runtimeName,
        runtimeId: id,
        imageUri: record.image,
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

/** The version the record names if it still runs the image, else the newest version that does. */
async function versionRunning(
  control: BedrockAgentCoreControlClient,
  id: string,
  record: ReleaseRecord,
): Promise<string | undefined> {
  const versions = await listVersions(control, id);
  const runs = async (v: string) => containerUri(await getRuntime(control, id, v)) === record.image;
  if (versions.includes(Number(record.version)) && (await runs(record.version))) return record.version;
  for (const v of versions.reverse()) if (await runs(String(v))) return String(v);
  return undefined;
}
