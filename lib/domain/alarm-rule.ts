import type { AlarmStatus } from '../ports/alarm-watcher.ts';

/**
 * The pre-existing alarm rule: an alarm fails a release only if it went to ALARM at or after the
 * release started. An alarm already in ALARM when the release began is reported but does not block it,
 * because that release may be the fix. A later OK -> ALARM transition does fail it.
 */
export const alarmFailsRelease = (state: string, changedAt: Date, watchFrom: Date): boolean =>
  state === 'ALARM' && changedAt.getTime() >= watchFrom.getTime();

/** Splits alarm statuses into those failing the release and those firing since before it started. */
export const classifyAlarms = (
  statuses: readonly AlarmStatus[],
  watchFrom: Date,
): { failing: AlarmStatus[]; preExisting: AlarmStatus[] } => ({
  failing: statuses.filter((alarm) => alarmFailsRelease(alarm.state, alarm.updatedAt, watchFrom)),
  preExisting: statuses.filter(
    (alarm) => alarm.state === 'ALARM' && !alarmFailsRelease(alarm.state, alarm.updatedAt, watchFrom),
  ),
});

/** The reason a person reads: "alarm checkout-5xx went to ALARM at 25%". */
export const alarmReason = (alarmName: string, percent: number): string =>
  `alarm ${alarmName} went to ALARM at ${percent}%`;
