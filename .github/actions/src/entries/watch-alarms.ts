import * as core from '@actions/core';
import {
  cloudwatchClient,
  environmentInput,
  numberInput,
  promotionTarget,
  requiredInput,
  action,
  setOutputs,
  writeSummary,
} from '../lib/action';
import type { AlarmSnapshot } from '../steps/watch-alarms';

async function baselineInput(): Promise<AlarmSnapshot[]> {
  const { z } = await import('zod');
  const baselineSchema = z.array(
    z.object({
      name: z.string(),
      state: z.string().optional(),
      reason: z.string().optional(),
      transitionedAt: z.number().optional(),
    }),
  );
  let json: unknown;
  try {
    json = JSON.parse(requiredInput('alarm-baseline'));
  } catch {
    json = undefined;
  }
  const parsed = baselineSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      'input "alarm-baseline" must be promote\'s alarm-baseline output (a JSON list of alarms)',
    );
  return parsed.data;
}

export const run = action(async () => {
  const env = await environmentInput();
  const baseline = await baselineInput();
  const { watchAlarms } = await import('../steps/watch-alarms');
  const rollbackVersion = core.getInput('rollback-to-version');
  const watchMinutes = numberInput('watch-minutes', env.alarms.watchMinutes)!;
  const result = await watchAlarms({
    cloudwatch: await cloudwatchClient(env),
    alarmPrefix: env.names.alarmPrefix,
    baseline,
    watchSeconds: watchMinutes * 60,
    pollSeconds: numberInput('poll-seconds', 30)!,
    rollbackTo: rollbackVersion ? { ...(await promotionTarget(env)), version: rollbackVersion } : undefined,
    log: core.info,
  });
  setOutputs({ outcome: result.outcome, 'rolled-back-to': result.rolledBack?.version });
  const heading = { ok: 'quiet', alarm: 'ALARM', unchanged: 'nothing to judge' }[result.outcome];
  await writeSummary((s) =>
    s
      .addHeading(`Alarms ${env.name}: ${heading}`, 3)
      .addRaw(
        result.outcome === 'unchanged'
          ? `This release changed nothing \`${env.runtime.liveEndpoint}\` serves; there is nothing to roll back.`
          : `Watched ${result.watched.length} alarm(s) named \`${env.names.alarmPrefix}*\` for ${watchMinutes} min (${result.checks} checks); only alarms that went into ALARM after the promotion count.` +
              (result.preexisting.length
                ? ` Already in ALARM before it (not judged): ${result.preexisting.join(', ')}.`
                : ''),
        true,
      )
      .addList(result.firing.map((a) => `${a.name}: ${a.reason ?? 'ALARM'}`)),
  );
  if (result.outcome === 'alarm') {
    const names = result.firing.map((a) => a.name).join(', ');
    throw new Error(
      result.rolledBack
        ? `alarm(s) ${names} fired after the promotion; ${env.runtime.liveEndpoint} was pointed back to version ${result.rolledBack.version}`
        : `alarm(s) ${names} fired after the promotion and no rollback-to-version was given; roll back with the rollback workflow`,
    );
  }
});
