import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { AlarmStateValue, AlarmStatus, AlarmWatcher } from '../ports/alarm-watcher.ts';

const MAX_NAMES_PER_CALL = 100;

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
}
