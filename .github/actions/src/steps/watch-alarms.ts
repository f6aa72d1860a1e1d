import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { realClock, type Clock } from '../lib/poll';
import { containerUri, getEndpoint, getRuntime } from '../lib/runtime';
import { promote, type PromoteInput, type PromoteResult } from './promote';

/** One alarm as DescribeAlarms shows it; `transitionedAt` (epoch ms) is when its state last changed. */
export interface AlarmSnapshot {
  name: string;
  state?: string;
  reason?: string;
  transitionedAt?: number;
}

export interface WatchAlarmsInput {
  cloudwatch: CloudWatchClient;
  /** Every alarm whose name starts with this belongs to the environment. */
  alarmPrefix: string;
  /** The alarms as they were before the promotion (promote's `alarm-baseline` output). */
  baseline: AlarmSnapshot[];
  /** How long to watch (`alarms.watchMinutes`); 0 = look once. */
  watchSeconds: number;
  pollSeconds: number;
  /** On ALARM, point `live` back to this version (the one promote replaced). */
  rollbackTo?: Omit<PromoteInput, 'log'>;
  clock?: Clock;
  log?: (message: string) => void;
}

export interface WatchAlarmsResult {
  /** `unchanged`: the release did not change what live serves, so there was nothing to judge. */
  outcome: 'ok' | 'alarm' | 'unchanged';
  /** Alarms that were watched. */
  watched: string[];
  /** Alarms that went into ALARM after the promotion (with their reason). */
  firing: { name: string; reason?: string }[];
  /** Alarms already in ALARM before the promotion and still in it: not this release's doing. */
  preexisting: string[];
  checks: number;
  rolledBack?: PromoteResult;
}

export async function alarmStates(cloudwatch: CloudWatchClient, prefix: string): Promise<AlarmSnapshot[]> {
  const alarms: AlarmSnapshot[] = [];
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
      alarms.push({
        name: a.AlarmName!,
        state: a.StateValue,
        reason: a.StateReason,
        // When StateValue last changed; StateUpdatedTimestamp also moves on evaluation-state changes,
        // so it is only the fallback (it can count an old alarm as new, never miss a new one).
        transitionedAt: (a.StateTransitionedTimestamp ?? a.StateUpdatedTimestamp)?.getTime(),
      });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return alarms;
}

/** Why the release changed nothing to undo (the rollback target is live's version or runs its image), else undefined. */
async function releaseChangedNothing(target: Omit<PromoteInput, 'log'>): Promise<string | undefined> {
  const live = (await getEndpoint(target.control, target.runtimeId, target.endpointName)).liveVersion;
  if (!live) return undefined;
  if (live === target.version) return `${target.endpointName} already served version ${live} before it`;
  const [a, b] = await Promise.all(
    [live, target.version].map(async (v) =>
      containerUri(await getRuntime(target.control, target.runtimeId, v)),
    ),
  );
  return a === b ? `version ${target.version} runs the same image as version ${live} (${a})` : undefined;
}

/**
 * Blue/green step 6: watch the environment's alarms for a window and judge this release only — an
 * alarm counts when it went into ALARM after the baseline taken before the promotion; on one, point
 * `live` back. A release that changed nothing live serves has nothing to roll back.
 */
export async function watchAlarms(input: WatchAlarmsInput): Promise<WatchAlarmsResult> {
  const clock = input.clock ?? realClock;
  const log = input.log ?? (() => {});
  if (input.rollbackTo) {
    const unchanged = await releaseChangedNothing(input.rollbackTo);
    if (unchanged) {
      log(`this release changed nothing live serves (${unchanged}); nothing to watch or roll back`);
      return { outcome: 'unchanged', watched: [], firing: [], preexisting: [], checks: 0 };
    }
  }
  const before = new Map(input.baseline.map((a) => [a.name, a]));
  const firedBefore = (a: AlarmSnapshot) =>
    before.get(a.name)?.state === 'ALARM' && before.get(a.name)?.transitionedAt === a.transitionedAt;
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
    const inAlarm = alarms.filter((a) => a.state === 'ALARM');
    const firing = inAlarm.filter((a) => !firedBefore(a)).map(({ name, reason }) => ({ name, reason }));
    const preexisting = inAlarm.filter(firedBefore).map((a) => a.name);
    const watched = alarms.map((a) => a.name);
    if (firing.length) {
      log(`ALARM since the promotion: ${firing.map((a) => a.name).join(', ')}`);
      const rolledBack = input.rollbackTo ? await promote({ ...input.rollbackTo, log }) : undefined;
      return { outcome: 'alarm', watched, firing, preexisting, checks, rolledBack };
    }
    const left = end - clock.now();
    if (left <= 0) return { outcome: 'ok', watched, firing, preexisting, checks };
    await clock.sleep(Math.min(input.pollSeconds * 1000, left));
  }
}
