import * as core from '@actions/core';
import {
  booleanInput,
  controlClient,
  environmentInput,
  action,
  setOutputs,
  stackOutputs,
  waitOptions,
  writeSummaryRow,
} from '../lib/action';

export const run = action(async () => {
  const env = await environmentInput();
  const restore = booleanInput('restore-default');
  const imageUri = core.getInput('image-uri');
  if (restore === !!imageUri)
    throw new Error(
      'give image-uri (deploy a candidate) or restore-default: true (after a failed gate), not both',
    );
  const [control, outputs, { deployRuntime, restoreDefault }] = await Promise.all([
    controlClient(env),
    stackOutputs(env),
    import('../steps/deploy-runtime'),
  ]);
  const runtime = {
    control,
    runtimeName: env.names.runtime,
    runtimeId: outputs.RuntimeId,
    wait: waitOptions(env),
    log: core.info,
  };
  if (restore) {
    const result = await restoreDefault({ ...runtime, endpointName: env.runtime.liveEndpoint });
    setOutputs({
      'runtime-id': result.runtimeId,
      'runtime-arn': result.runtimeArn,
      version: result.version,
      'previous-version': result.rejectedVersion,
      action: result.action,
    });
    await writeSummaryRow(`Restore DEFAULT ${env.name}`, {
      Runtime: result.runtimeName,
      Action: result.action,
      'DEFAULT now': result.version,
      Rejected: result.rejectedVersion,
      [`${env.runtime.liveEndpoint} (copied)`]: result.liveVersion,
      Image: result.imageUri,
    });
    return;
  }
  const result = await deployRuntime({ ...runtime, imageUri });
  setOutputs({
    'runtime-id': result.runtimeId,
    'runtime-arn': result.runtimeArn,
    version: result.version,
    'previous-version': result.previousVersion,
    action: result.action,
  });
  await writeSummaryRow(`Deploy ${env.name}`, {
    Runtime: result.runtimeName,
    Action: result.action,
    Version: result.version,
    Previous: result.previousVersion ?? '—',
    Image: result.imageUri,
  });
});
