import * as core from '@actions/core';
import {
  environmentInput,
  promotionTarget,
  requiredInput,
  run,
  setOutputs,
  writeSummary,
} from '../lib/action';
import { promote } from '../steps/promote';

run(async () => {
  const env = environmentInput();
  const version = requiredInput('version');
  const result = await promote({
    ...promotionTarget(env),
    version,
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
