import * as core from '@actions/core';
import {
  cloudwatchClient,
  environmentInput,
  promotionTarget,
  requiredInput,
  action,
  setOutputs,
  writeSummary,
} from '../lib/action';

export const run = action(async () => {
  const version = requiredInput('version');
  const sha = requiredInput('sha');
  const env = await environmentInput();
  const { alarmStates } = await import('../steps/watch-alarms');
  // Before live moves: watch-alarms judges only alarms that go into ALARM after this.
  const baseline = await alarmStates(await cloudwatchClient(env), env.names.alarmPrefix);
  const { promote } = await import('../steps/promote');
  const result = await promote({
    ...(await promotionTarget(env)),
    version,
    sha,
    log: core.info,
  });
  setOutputs({
    version: result.version,
    'previous-live-version': result.previousLiveVersion,
    'image-uri': result.imageUri,
    changed: result.changed,
    'alarm-baseline': JSON.stringify(baseline),
  });
  await writeSummary((s) =>
    s
      .addHeading(`Promote ${env.name}`, 3)
      .addRaw(
        `\`${result.endpointName}\` ${result.changed ? `moved from version ${result.previousLiveVersion} to` : 'already served'} version ${result.version} (${result.imageUri}, commit ${sha}); recorded in \`${env.names.releaseParameter}\`.`,
        true,
      ),
  );
});
