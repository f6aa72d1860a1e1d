import * as core from '@actions/core';
import {
  controlClient,
  environmentInput,
  requiredInput,
  run,
  setOutputs,
  waitOptions,
  writeSummaryRow,
} from '../lib/action';
import { deployRuntime } from '../steps/deploy-runtime';

run(async () => {
  const env = environmentInput();
  const imageUri = requiredInput('image-uri');
  const control = controlClient(env);
  const result = await deployRuntime({
    control,
    runtimeName: env.names.runtime,
    imageUri,
    wait: waitOptions(env),
    log: core.info,
  });
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
