import * as core from '@actions/core';
import {
  cloudwatchClient,
  environmentInput,
  numberInput,
  promotionTarget,
  run,
  setOutputs,
  writeSummary,
} from '../lib/action';
import { watchAlarms } from '../steps/watch-alarms';

run(async () => {
  const env = environmentInput();
  const rollbackVersion = core.getInput('rollback-to-version');
  const cloudwatch = cloudwatchClient(env);
  const watchMinutes = numberInput('watch-minutes', env.alarms.watchMinutes)!;
  const result = await watchAlarms({
    cloudwatch,
    alarmPrefix: env.names.alarmPrefix,
    watchSeconds: watchMinutes * 60,
    pollSeconds: numberInput('poll-seconds', 30)!,
    rollbackTo: rollbackVersion ? { ...promotionTarget(env), version: rollbackVersion } : undefined,
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
