import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchAlarmWatcher } from '../../../lib/adapters/cloudwatch-alarm-watcher.ts';

const cloudwatch = mockClient(CloudWatchClient);

describe('Class: CloudWatchAlarmWatcher', () => {
  let watcher: CloudWatchAlarmWatcher;

  beforeEach(() => {
    cloudwatch.reset();
    watcher = new CloudWatchAlarmWatcher(new CloudWatchClient({ region: 'us-east-1' }));
  });

  describe('Method: describe', () => {
    it('asks for metric and composite alarms by name', async () => {
      cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });

      await watcher.describe(['checkout-latency-p99', 'checkout-green-5xx']);

      const calls = cloudwatch.commandCalls(DescribeAlarmsCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({
        AlarmNames: ['checkout-latency-p99', 'checkout-green-5xx'],
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      });
    });

    it('reports found alarms with their state and the missing ones by name', async () => {
      cloudwatch.on(DescribeAlarmsCommand).resolves({
        MetricAlarms: [
          {
            AlarmName: 'checkout-green-5xx',
            StateValue: 'ALARM',
            StateReason: 'Threshold Crossed',
            StateUpdatedTimestamp: new Date('2025-03-04T10:07:00Z'),
          },
        ],
        CompositeAlarms: [
          {
            AlarmName: 'checkout-health',
            StateValue: 'OK',
            StateReason: 'all children OK',
            StateUpdatedTimestamp: new Date('2025-03-04T09:00:00Z'),
          },
        ],
      });

      const result = await watcher.describe(['checkout-green-5xx', 'checkout-health', 'checkout-gone']);

      expect(result).toEqual({
        found: [
          {
            name: 'checkout-green-5xx',
            state: 'ALARM',
            updatedAt: new Date('2025-03-04T10:07:00Z'),
            reason: 'Threshold Crossed',
          },
          {
            name: 'checkout-health',
            state: 'OK',
            updatedAt: new Date('2025-03-04T09:00:00Z'),
            reason: 'all children OK',
          },
        ],
        missing: ['checkout-gone'],
      });
    });

    it('takes the state transition time over the last update time when present', async () => {
      // StateUpdatedTimestamp moves when only the reason changes; the transition is what the rule needs.
      cloudwatch.on(DescribeAlarmsCommand).resolves({
        MetricAlarms: [
          {
            AlarmName: 'checkout-latency-p99',
            StateValue: 'ALARM',
            StateReason: 'Threshold Crossed',
            StateUpdatedTimestamp: new Date('2025-03-04T10:05:00Z'),
            StateTransitionedTimestamp: new Date('2025-03-04T09:00:00Z'),
          },
        ],
        CompositeAlarms: [
          {
            AlarmName: 'checkout-health',
            StateValue: 'ALARM',
            StateUpdatedTimestamp: new Date('2025-03-04T10:06:00Z'),
            StateTransitionedTimestamp: new Date('2025-03-04T08:00:00Z'),
          },
        ],
      });

      const { found } = await watcher.describe(['checkout-latency-p99', 'checkout-health']);

      expect(found.map((alarm) => [alarm.name, alarm.updatedAt.toISOString()])).toEqual([
        ['checkout-latency-p99', '2025-03-04T09:00:00.000Z'],
        ['checkout-health', '2025-03-04T08:00:00.000Z'],
      ]);
    });

    it('reports every alarm missing when none exists', async () => {
      cloudwatch.on(DescribeAlarmsCommand).resolves({});

      await expect(watcher.describe(['a', 'b'])).resolves.toEqual({ found: [], missing: ['a', 'b'] });
    });

    it('asks in batches of 100 names', async () => {
      cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
      const names = Array.from({ length: 150 }, (_, index) => `alarm-${index}`);

      await watcher.describe(names);

      expect(
        cloudwatch.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input.AlarmNames),
      ).toEqual([names.slice(0, 100), names.slice(100)]);
    });

    it('sends nothing for no alarms', async () => {
      await expect(watcher.describe([])).resolves.toEqual({ found: [], missing: [] });
      expect(cloudwatch.calls()).toHaveLength(0);
    });
  });

  describe('Method: transitionsToAlarm', () => {
    const since = new Date('2025-03-04T10:00:05Z');
    const until = new Date('2025-03-04T10:20:00Z');
    const stateUpdate = (alarm: string, from: string, to: string, at: string) => ({
      AlarmName: alarm,
      AlarmType: 'MetricAlarm' as const,
      Timestamp: new Date(at),
      HistoryItemType: 'StateUpdate' as const,
      HistorySummary: `Alarm updated from ${from} to ${to}`,
      HistoryData: JSON.stringify({
        version: '1.0',
        oldState: { stateValue: from, stateReason: 'before' },
        newState: { stateValue: to, stateReason: 'Threshold Crossed' },
      }),
    });

    it("reads each alarm's state updates over the window, every page, and keeps the ALARM ones", async () => {
      cloudwatch
        .on(DescribeAlarmHistoryCommand, { AlarmName: 'checkout-green-5xx' })
        .resolves({
          AlarmHistoryItems: [stateUpdate('checkout-green-5xx', 'ALARM', 'OK', '2025-03-04T10:17:00Z')],
          NextToken: 'page-2',
        })
        .on(DescribeAlarmHistoryCommand, { AlarmName: 'checkout-green-5xx', NextToken: 'page-2' })
        .resolves({
          AlarmHistoryItems: [stateUpdate('checkout-green-5xx', 'OK', 'ALARM', '2025-03-04T10:14:00Z')],
        })
        .on(DescribeAlarmHistoryCommand, { AlarmName: 'checkout-latency-p99' })
        .resolves({ AlarmHistoryItems: [] });

      const transitions = await watcher.transitionsToAlarm(
        ['checkout-green-5xx', 'checkout-latency-p99'],
        since,
        until,
      );

      expect(transitions).toEqual([{ name: 'checkout-green-5xx', at: new Date('2025-03-04T10:14:00Z') }]);
      expect(cloudwatch.commandCalls(DescribeAlarmHistoryCommand).map((call) => call.args[0].input)).toEqual([
        {
          AlarmName: 'checkout-green-5xx',
          HistoryItemType: 'StateUpdate',
          StartDate: since,
          EndDate: until,
          MaxRecords: 100,
        },
        {
          AlarmName: 'checkout-green-5xx',
          HistoryItemType: 'StateUpdate',
          StartDate: since,
          EndDate: until,
          MaxRecords: 100,
          NextToken: 'page-2',
        },
        {
          AlarmName: 'checkout-latency-p99',
          HistoryItemType: 'StateUpdate',
          StartDate: since,
          EndDate: until,
          MaxRecords: 100,
        },
      ]);
    });

    it('orders transitions oldest first and skips items it cannot read', async () => {
      cloudwatch.on(DescribeAlarmHistoryCommand).resolves({
        AlarmHistoryItems: [
          stateUpdate('a', 'OK', 'ALARM', '2025-03-04T10:18:00Z'),
          { ...stateUpdate('a', 'OK', 'ALARM', '2025-03-04T10:16:00Z'), HistoryData: 'not json' },
          stateUpdate('a', 'OK', 'INSUFFICIENT_DATA', '2025-03-04T10:12:00Z'),
          stateUpdate('a', 'OK', 'ALARM', '2025-03-04T10:10:00Z'),
        ],
      });

      await expect(watcher.transitionsToAlarm(['a'], since, until)).resolves.toEqual([
        { name: 'a', at: new Date('2025-03-04T10:10:00Z') },
        { name: 'a', at: new Date('2025-03-04T10:18:00Z') },
      ]);
    });
  });
});
