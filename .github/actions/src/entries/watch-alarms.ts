import * as core from '@actions/core';
import {
  cloudwatchClient,
  controlClient,
  ssmClient,
  environmentInput,
  numberInput,
  run,
  setOutputs,
  waitOptions,
  writeSummary,
} from '../lib/action';
import { watchAlarms } from '../steps/watch-alarms';

run(async () => {
  const env = environmentInput();
  const rollbackVersion = core.getInput('rollback-to-version');
  const control = controlClient(env);
  const ssm = ssmClient(env);
  const cloudwatch = cloudwatchClient(env);
  const watchMinutes = numberInput('watch-minutes', env.alarms.watchMinutes)!;
  const result = await watchAlarms({
    cloudwatch,
    alarmPrefix: env.names.alarmPrefix,
    watchSeconds: watchMinutes * 60,
    pollSeconds: numberInput('poll-seconds', 30)!,
    rollbackTo: rollbackVersion
      ? {
          control,
          ssm,
          runtimeName: env.names.runtime,
          endpointName: env.runtime.liveEndpoint,
          version: rollbackVersion,
          imageParameter: env.names.imageParameter,
          wait: waitOptions(env),
        }
      : undefined,
    log: core.info,
  });
  setOutputs({ outcome: result.outcome, 'rolled-back-to': result.rolledBack?.version });
  await writeSummary((s) =>
    s
      .addHeading(`Alarms ${env.name}: ${result.outcome === 'ok' ? 'quiet' : 'ALARM'}`, 3)
      .addRaw(
        `Watched ${result.watched.length} alarm(s) named \`${env.names.alarmPrefix}*\` for ${watchMinutes} min (${result.checks} checks).`,
        true,
      )
      .addList(result.firing.map((a) => `${a.name}: ${a.reason ?? 'ALARM'}`)),
  );
  if (result.outcome === 'alarm') {
    const names = result.firing.map((a) => a.name).join(', ');
    throw new Error(
      result.rolledBack
        ? `alarm(s) ${names} fired; ${env.runtime.liveEndpoint} was pointed back to version ${result.rolledBack.version}`
        : `alarm(s) ${names} fired and no rollback-to-version was given; roll back with the rollback workflow`,
    );
  }
});
