import type { AlarmStatus } from '../ports/alarm-watcher.ts';
import type { StepShift } from './types.ts';

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

/**
 * The step an alarm transition at `at` belongs to: the last shift at or before it (`before` when the
 * transition came before any traffic moved). Without shifts (an input from before they were recorded),
 * the step now running (`current`).
 */
export const stepOfTransition = (
  shifts: readonly StepShift[] | undefined,
  at: Date,
  current: number,
): number | 'before' => {
  if (!shifts || shifts.length === 0) return current;
  let percent: number | 'before' = 'before';
  for (const shift of shifts) {
    if (new Date(shift.shiftedAt).getTime() <= at.getTime()) percent = shift.percent;
  }
  return percent;
};

/** The reason a person reads, naming the step during which the alarm transitioned. */
export const alarmReasonAt = (
  alarmName: string,
  shifts: readonly StepShift[] | undefined,
  at: Date,
  current: number,
): string => {
  const step = stepOfTransition(shifts, at, current);
  return step === 'before'
    ? `alarm ${alarmName} went to ALARM before any traffic moved`
    : alarmReason(alarmName, step);
};
