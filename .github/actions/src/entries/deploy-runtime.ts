import * as core from '@actions/core';
import {
  controlClient,
  environmentInput,
  requiredInput,
  run,
  setOutputs,
  waitOptions,
  writeSummary,
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
  await writeSummary((s) =>
    s.addHeading(`Deploy ${env.name}`, 3).addTable([
      [
        { data: 'Runtime', header: true },
        { data: 'Action', header: true },
        { data: 'Version', header: true },
        { data: 'Previous', header: true },
        { data: 'Image', header: true },
      ],
      [result.runtimeName, result.action, result.version, result.previousVersion ?? '—', result.imageUri],
    ]),
  );
});
