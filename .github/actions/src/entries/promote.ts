import * as core from '@actions/core';
import {
  controlClient,
  ssmClient,
  environmentInput,
  requiredInput,
  run,
  setOutputs,
  waitOptions,
  writeSummary,
} from '../lib/action';
import { promote } from '../steps/promote';

run(async () => {
  const env = environmentInput();
  const version = requiredInput('version');
  const control = controlClient(env);
  const ssm = ssmClient(env);
  const result = await promote({
    control,
    ssm,
    runtimeName: env.names.runtime,
    endpointName: env.runtime.liveEndpoint,
    version,
    imageParameter: env.names.imageParameter,
    wait: waitOptions(env),
    log: core.info,
  });
  setOutputs({
    version: result.version,
    'previous-live-version': result.previousLiveVersion,
    'image-uri': result.imageUri,
  });
  await writeSummary((s) =>
    s
      .addHeading(`Promote ${env.name}`, 3)
      .addRaw(
        `\`${result.endpointName}\` ${result.changed ? `moved from version ${result.previousLiveVersion} to` : 'already served'} version ${result.version} (${result.imageUri}); recorded in \`${env.names.imageParameter}\`.`,
        true,
      ),
  );
});
