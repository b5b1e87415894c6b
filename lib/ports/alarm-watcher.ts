export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmStatus {
  name: string;
  state: AlarmStateValue;
  /** When the alarm last changed state. */
  updatedAt: Date;
  reason: string;
}

/** Reads alarm states (the end-of-bake check that guards against a lost state-change event). */
export interface AlarmWatcher {
  /** Status of each named alarm; an alarm that does not exist is reported as missing. */
  describe(alarmNames: readonly string[]): Promise<{ found: AlarmStatus[]; missing: string[] }>;
}
