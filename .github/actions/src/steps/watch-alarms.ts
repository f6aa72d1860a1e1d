import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { realClock, type Clock } from '../lib/poll';
import { promote, type PromoteInput, type PromoteResult } from './promote';

export interface WatchAlarmsInput {
  cloudwatch: CloudWatchClient;
  /** Every alarm whose name starts with this belongs to the environment. */
  alarmPrefix: string;
  /** How long to watch (`alarms.watchMinutes`); 0 = look once. */
  watchSeconds: number;
  pollSeconds: number;
  /** On ALARM, point `live` back to this version (the one promote replaced). */
  rollbackTo?: Omit<PromoteInput, 'log'>;
  clock?: Clock;
  log?: (message: string) => void;
}

export interface WatchAlarmsResult {
  outcome: 'ok' | 'alarm';
  /** Alarms that were watched. */
  watched: string[];
  /** Alarms seen in ALARM (with their reason). */
  firing: { name: string; reason?: string }[];
  checks: number;
  rolledBack?: PromoteResult;
}

export async function alarmStates(cloudwatch: CloudWatchClient, prefix: string) {
  const alarms: { name: string; state?: string; reason?: string }[] = [];
  let NextToken: string | undefined;
  do {
    const page = await cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNamePrefix: prefix,
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        NextToken,
      }),
    );
    for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
      alarms.push({ name: a.AlarmName!, state: a.StateValue, reason: a.StateReason });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return alarms;
}

/** Blue/green step 6: watch the environment's alarms for a window; on ALARM, repoint `live` back. */
export async function watchAlarms(input: WatchAlarmsInput): Promise<WatchAlarmsResult> {
  const clock = input.clock ?? realClock;
  const log = input.log ?? (() => {});
  const end = clock.now() + input.watchSeconds * 1000;
  let checks = 0;
  for (;;) {
    const alarms = await alarmStates(input.cloudwatch, input.alarmPrefix);
    checks++;
    if (!alarms.length) {
      throw new Error(
        `no CloudWatch alarms are named "${input.alarmPrefix}*"; the environment's stack creates them — deploy it, or check the prefix`,
      );
    }
    const firing = alarms.filter((a) => a.state === 'ALARM').map(({ name, reason }) => ({ name, reason }));
    const watched = alarms.map((a) => a.name);
    if (firing.length) {
      log(`ALARM: ${firing.map((a) => a.name).join(', ')}`);
      const rolledBack = input.rollbackTo ? await promote({ ...input.rollbackTo, log }) : undefined;
      return { outcome: 'alarm', watched, firing, checks, rolledBack };
    }
    const left = end - clock.now();
    if (left <= 0) return { outcome: 'ok', watched, firing, checks };
    await clock.sleep(Math.min(input.pollSeconds * 1000, left));
  }
}
