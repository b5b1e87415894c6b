export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmStatus {
  name: string;
  state: AlarmStateValue;
  /** When the alarm last changed state. */
  updatedAt: Date;
  reason: string;
}

/** One transition of an alarm into ALARM, from the alarm's history. */
export interface AlarmTransition {
  name: string;
  /** When the alarm went to ALARM. */
  at: Date;
}

/** Reads alarm states and history (the end-of-bake checks that guard against a lost state-change event). */
export interface AlarmWatcher {
  /** Status of each named alarm; an alarm that does not exist is reported as missing. */
  describe(alarmNames: readonly string[]): Promise<{ found: AlarmStatus[]; missing: string[] }>;
  /**
   * Every transition of the named alarms into ALARM between `since` and `until` (inclusive), oldest
   * first: an alarm that fired and recovered while its event was lost still shows here.
   */
  transitionsToAlarm(alarmNames: readonly string[], since: Date, until: Date): Promise<AlarmTransition[]>;
}
