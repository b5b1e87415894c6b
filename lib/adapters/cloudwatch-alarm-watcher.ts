import {
  type AlarmHistoryItem,
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
} from '@aws-sdk/client-cloudwatch';
import type { AlarmStateValue, AlarmStatus, AlarmTransition, AlarmWatcher } from '../ports/alarm-watcher.ts';
import { clientBase, customize } from './aws-clients.ts';

const MAX_NAMES_PER_CALL = 100;
/** DescribeAlarmHistory returns at most 100 records a page. */
const MAX_HISTORY_RECORDS = 100;

/** The new state a StateUpdate history item records (`HistoryData` is JSON: `{ newState: { stateValue } }`). */
const newStateOf = (item: AlarmHistoryItem): string | undefined => {
  if (!item.HistoryData) return undefined;
  try {
    const data = JSON.parse(item.HistoryData) as { newState?: { stateValue?: unknown } };
    const value = data.newState?.stateValue;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
};

/** Alarm states from CloudWatch DescribeAlarms (metric and composite alarms). */
export class CloudWatchAlarmWatcher implements AlarmWatcher {
  public constructor(private readonly client: CloudWatchClient) {}

  public async describe(alarmNames: readonly string[]): Promise<{ found: AlarmStatus[]; missing: string[] }> {
    const found: AlarmStatus[] = [];
    for (let start = 0; start < alarmNames.length; start += MAX_NAMES_PER_CALL) {
      const names = alarmNames.slice(start, start + MAX_NAMES_PER_CALL);
      const alarms = [];
      let nextToken: string | undefined;
      // DescribeAlarms is paginated: follow NextToken so no alarm on a later page looks missing.
      do {
        const response = await this.client.send(
          new DescribeAlarmsCommand({
            AlarmNames: names,
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
        alarms.push(...(response.MetricAlarms ?? []), ...(response.CompositeAlarms ?? []));
        nextToken = response.NextToken;
      } while (nextToken);
      for (const alarm of alarms) {
        if (!alarm.AlarmName) continue;
        found.push({
          name: alarm.AlarmName,
          state: (alarm.StateValue ?? 'INSUFFICIENT_DATA') as AlarmStateValue,
          updatedAt: new Date(
            ('StateTransitionedTimestamp' in alarm ? alarm.StateTransitionedTimestamp : undefined) ??
              alarm.StateUpdatedTimestamp ??
              0,
          ),
          reason: alarm.StateReason ?? '',
        });
      }
    }
    const seen = new Set(found.map((alarm) => alarm.name));
    return { found, missing: alarmNames.filter((name) => !seen.has(name)) };
  }

  /**
   * DescribeAlarmHistory (StateUpdate items) per alarm over the window, every page. Metric alarms only:
   * AWS returns a composite alarm's history only to a caller allowed DescribeAlarmHistory on `*`, and
   * the role is scoped to alarm ARNs; a composite alarm is still checked by its state (`describe`).
   */
  public async transitionsToAlarm(
    alarmNames: readonly string[],
    since: Date,
    until: Date,
  ): Promise<AlarmTransition[]> {
    const transitions: AlarmTransition[] = [];
    for (const name of new Set(alarmNames)) {
      let nextToken: string | undefined;
      do {
        const response = await this.client.send(
          new DescribeAlarmHistoryCommand({
            AlarmName: name,
            HistoryItemType: 'StateUpdate',
            StartDate: since,
            EndDate: until,
            MaxRecords: MAX_HISTORY_RECORDS,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
        for (const item of response.AlarmHistoryItems ?? []) {
          if (item.Timestamp && newStateOf(item) === 'ALARM')
            transitions.push({ name: item.AlarmName ?? name, at: new Date(item.Timestamp) });
        }
        nextToken = response.NextToken;
      } while (nextToken);
    }
    return transitions.sort((a, b) => a.at.getTime() - b.at.getTime());
  }
}

/** The alarm watcher on a new CloudWatch client. */
export const createCloudWatchAlarmWatcher = (): CloudWatchAlarmWatcher =>
  new CloudWatchAlarmWatcher(customize(new CloudWatchClient(clientBase()), 'CloudWatch'));
