import { SimulatedAwsError } from './errors.ts';
import type { CloudWatchContext } from './services.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export type ComparisonOperator =
  | 'GreaterThanThreshold'
  | 'GreaterThanOrEqualToThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';
export type Statistic = 'Sum' | 'Average' | 'Maximum' | 'Minimum' | 'SampleCount';

export interface MetricAlarm {
  AlarmName: string;
  AlarmArn: string;
  AlarmDescription?: string;
  Namespace: string;
  MetricName: string;
  Dimensions: Array<{ Name: string; Value: string }>;
  Statistic: Statistic;
  Period: number;
  EvaluationPeriods: number;
  DatapointsToAlarm: number;
  Threshold: number;
  ComparisonOperator: ComparisonOperator;
  TreatMissingData: 'missing' | 'notBreaching' | 'breaching' | 'ignore';
  StateValue: AlarmState;
  StateReason: string;
  StateReasonData?: string;
  StateUpdatedTimestamp: Date;
  StateTransitionedTimestamp: Date;
}

/** One per-minute datapoint as ALB publishes it (already aggregated over the minute). */
interface Datapoint {
  at: number;
  sum: number;
  count: number;
  min: number;
  max: number;
}

const metricKey = (
  namespace: string,
  name: string,
  dimensions: Array<{ Name: string; Value: string }>,
): string =>
  `${namespace}|${name}|${[...dimensions]
    .sort((a, b) => a.Name.localeCompare(b.Name))
    .map((d) => `${d.Name}=${d.Value}`)
    .join(',')}`;

const compare = (value: number, operator: ComparisonOperator, threshold: number): boolean => {
  switch (operator) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
};

const OPERATOR_WORDS: Record<ComparisonOperator, string> = {
  GreaterThanThreshold: 'greater than',
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/** CloudWatch timestamps in events: `2019-10-02T17:04:40.985+0000`. */
export const eventTimestamp = (date: Date): string => date.toISOString().replace('Z', '+0000');

/**
 * CloudWatch metrics and metric alarms. Alarms evaluate period by period over the last
 * EvaluationPeriods datapoints (DatapointsToAlarm of them breaching -> ALARM), honour TreatMissingData,
 * and emit "CloudWatch Alarm State Change" to EventBridge on every state change.
 */
export class SimulatedCloudWatch {
  public readonly alarms = new Map<string, MetricAlarm>();
  private readonly metrics = new Map<string, Datapoint[]>();
  /** Datapoints the pipeline published with PutMetricData (its own metrics, e.g. Shipline/NotificationsLost). */
  public readonly published: Array<{
    at: number;
    namespace: string;
    metric: string;
    dimensions: Record<string, string>;
    value: number;
  }> = [];

  /** Every state transition of every alarm, oldest first: what DescribeAlarmHistory answers from. */
  private readonly history: Array<{
    AlarmName: string;
    AlarmType: 'MetricAlarm';
    Timestamp: Date;
    HistoryItemType: 'StateUpdate';
    HistorySummary: string;
    HistoryData: string;
  }> = [];

  public constructor(private readonly world: CloudWatchContext) {}

  public putAlarm(alarm: Omit<MetricAlarm, 'AlarmArn'>): void {
    this.alarms.set(alarm.AlarmName, {
      ...alarm,
      AlarmArn: `arn:aws:cloudwatch:${this.world.region}:${this.world.account}:alarm:${alarm.AlarmName}`,
    });
  }

  public putDatapoint(
    namespace: string,
    name: string,
    dimensions: Array<{ Name: string; Value: string }>,
    point: Datapoint,
  ): void {
    const key = metricKey(namespace, name, dimensions);
    const points = this.metrics.get(key) ?? [];
    points.push(point);
    this.metrics.set(key, points);
  }

  private statisticOver(alarm: MetricAlarm, from: number, to: number): number | undefined {
    const points = (
      this.metrics.get(metricKey(alarm.Namespace, alarm.MetricName, alarm.Dimensions)) ?? []
    ).filter((p) => p.at >= from && p.at < to);
    if (points.length === 0) return undefined;
    const sum = points.reduce((s, p) => s + p.sum, 0);
    const count = points.reduce((s, p) => s + p.count, 0);
    switch (alarm.Statistic) {
      case 'Sum':
        return sum;
      case 'SampleCount':
        return count;
      case 'Average':
        return count === 0 ? 0 : sum / count;
      case 'Maximum':
        return Math.max(...points.map((p) => p.max));
      case 'Minimum':
        return Math.min(...points.map((p) => p.min));
    }
  }

  /** Evaluates every alarm at the period boundary `at` (ms). */
  public evaluate(at: number): void {
    for (const alarm of this.alarms.values()) {
      const periodMs = alarm.Period * 1000;
      if (at % periodMs !== 0) continue;
      const values: Array<{ at: number; value: number | undefined }> = [];
      for (let i = alarm.EvaluationPeriods; i >= 1; i -= 1) {
        const from = at - i * periodMs;
        values.push({ at: from, value: this.statisticOver(alarm, from, from + periodMs) });
      }
      const present = values.filter((v) => v.value !== undefined);
      let breaching = present.filter((v) =>
        compare(v.value as number, alarm.ComparisonOperator, alarm.Threshold),
      ).length;
      const missing = values.length - present.length;
      if (alarm.TreatMissingData === 'breaching') breaching += missing;
      let next: AlarmState;
      if (
        present.length === 0 &&
        (alarm.TreatMissingData === 'missing' || alarm.TreatMissingData === 'ignore')
      ) {
        if (alarm.TreatMissingData === 'ignore') continue;
        next = 'INSUFFICIENT_DATA';
      } else {
        next = breaching >= alarm.DatapointsToAlarm ? 'ALARM' : 'OK';
      }
      if (next === alarm.StateValue) continue;
      const shown = values
        .filter((v) => v.value !== undefined)
        .map((v) => `${(v.value as number).toFixed(1)} (${new Date(v.at).toISOString().slice(11, 16)})`)
        .join(', ');
      const reason =
        next === 'INSUFFICIENT_DATA'
          ? 'Insufficient Data: no datapoints were received for the evaluation range.'
          : `Threshold Crossed: ${breaching} out of the last ${alarm.EvaluationPeriods} datapoints [${shown}] ${next === 'ALARM' ? 'were' : 'were not'} ${OPERATOR_WORDS[alarm.ComparisonOperator]} the threshold (${alarm.Threshold.toFixed(1)}) (minimum ${alarm.DatapointsToAlarm} datapoints for ${alarm.StateValue} -> ${next} transition).`;
      this.changeState(alarm, next, reason, {
        version: '1.0',
        queryDate: eventTimestamp(new Date(at)),
        statistic: alarm.Statistic,
        period: alarm.Period,
        recentDatapoints: values.filter((v) => v.value !== undefined).map((v) => v.value),
        threshold: alarm.Threshold,
      });
    }
  }

  /** Changes an alarm's state (evaluation or SetAlarmState) and emits the EventBridge event. */
  public changeState(
    alarm: MetricAlarm,
    next: AlarmState,
    reason: string,
    reasonData: Record<string, unknown> = {},
  ): void {
    const previous = {
      value: alarm.StateValue,
      reason: alarm.StateReason,
      timestamp: eventTimestamp(alarm.StateUpdatedTimestamp),
    };
    const now = this.world.clock.now();
    alarm.StateValue = next;
    alarm.StateReason = reason;
    alarm.StateReasonData = JSON.stringify(reasonData);
    alarm.StateUpdatedTimestamp = now;
    alarm.StateTransitionedTimestamp = now;
    this.world.record('alarm', `${alarm.AlarmName} ${previous.value} -> ${next}`);
    this.world.alarmTransitions.push({ at: now.getTime(), alarm: alarm.AlarmName, state: next });
    this.history.push({
      AlarmName: alarm.AlarmName,
      AlarmType: 'MetricAlarm',
      Timestamp: now,
      HistoryItemType: 'StateUpdate',
      HistorySummary: `Alarm updated from ${previous.value} to ${next}`,
      HistoryData: JSON.stringify({
        version: '1.0',
        oldState: { stateValue: previous.value, stateReason: previous.reason },
        newState: { stateValue: next, stateReason: reason, stateReasonData: reasonData },
      }),
    });
    this.world.emitEvent('aws.cloudwatch', 'CloudWatch Alarm State Change', [alarm.AlarmArn], {
      alarmName: alarm.AlarmName,
      state: { value: next, reason, reasonData: alarm.StateReasonData, timestamp: eventTimestamp(now) },
      previousState: previous,
      configuration: {
        ...(alarm.AlarmDescription ? { description: alarm.AlarmDescription } : {}),
        metrics: [
          {
            id: `${alarm.AlarmName}-m1`,
            metricStat: {
              metric: {
                namespace: alarm.Namespace,
                name: alarm.MetricName,
                dimensions: Object.fromEntries(alarm.Dimensions.map((d) => [d.Name, d.Value])),
              },
              period: alarm.Period,
              stat: alarm.Statistic,
            },
            returnData: true,
          },
        ],
      },
    });
  }

  /**
   * PutMetricData with AWS's input rules: a namespace of 1-255 characters not starting with `AWS/`
   * (reserved for AWS services), 1-1000 datums, each with a metric name, at most 30 dimensions and a
   * finite value (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html).
   */
  private putMetricData(input: Record<string, unknown>): void {
    const namespace = input.Namespace;
    if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 255)
      throw new SimulatedAwsError(
        'InvalidParameterValue',
        'The parameter Namespace must be 1 to 255 characters.',
      );
    if (namespace.startsWith('AWS/'))
      throw new SimulatedAwsError(
        'InvalidParameterValue',
        `The value AWS/ for parameter Namespace is invalid: namespaces starting with AWS/ are reserved (${namespace}).`,
      );
    const data = input.MetricData as Array<Record<string, unknown>> | undefined;
    if (!Array.isArray(data) || data.length === 0 || data.length > 1000)
      throw new SimulatedAwsError(
        'InvalidParameterValue',
        'The parameter MetricData must hold 1 to 1000 datums.',
      );
    const at = this.world.clock.nowMillis;
    for (const [i, datum] of data.entries()) {
      if (typeof datum.MetricName !== 'string' || datum.MetricName.length === 0)
        throw new SimulatedAwsError(
          'MissingParameter',
          `The parameter MetricData.member.${i + 1}.MetricName is required.`,
        );
      const dimensions = (datum.Dimensions as Array<{ Name: string; Value: string }> | undefined) ?? [];
      if (dimensions.length > 30)
        throw new SimulatedAwsError(
          'InvalidParameterValue',
          `MetricData.member.${i + 1}.Dimensions: at most 30 dimensions.`,
        );
      const value = datum.Value === undefined ? 0 : Number(datum.Value);
      if (!Number.isFinite(value))
        throw new SimulatedAwsError(
          'InvalidParameterValue',
          `The value for parameter MetricData.member.${i + 1}.Value must be a finite number.`,
        );
      this.putDatapoint(namespace, datum.MetricName, dimensions, {
        at,
        sum: value,
        count: 1,
        min: value,
        max: value,
      });
      const named = Object.fromEntries(dimensions.map((d) => [d.Name, d.Value]));
      this.published.push({ at, namespace, metric: datum.MetricName, dimensions: named, value });
      this.world.record(
        'metric',
        `${namespace}/${datum.MetricName} ${dimensions.map((d) => `${d.Name}=${d.Value}`).join(',')} +${value}`,
      );
    }
  }

  /**
   * DescribeAlarmHistory as AWS answers it: filtered by AlarmName, AlarmTypes (metric alarms when
   * omitted), HistoryItemType and StartDate/EndDate; newest first unless ScanBy is TimestampAscending;
   * MaxRecords 1-100 a page with a NextToken for the rest
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html).
   */
  private describeAlarmHistory(input: Record<string, unknown>): unknown {
    const maxRecords = input.MaxRecords === undefined ? 100 : Number(input.MaxRecords);
    if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > 100)
      throw new SimulatedAwsError(
        'InvalidParameterValue',
        `The value ${String(input.MaxRecords)} for parameter MaxRecords is not valid: it must be 1 to 100.`,
      );
    const date = (field: 'StartDate' | 'EndDate'): number | undefined => {
      const value = input[field];
      if (value === undefined) return undefined;
      const at = new Date(value as string | Date).getTime();
      if (Number.isNaN(at))
        throw new SimulatedAwsError('InvalidParameterValue', `The parameter ${field} is not a timestamp.`);
      return at;
    };
    const start = date('StartDate');
    const end = date('EndDate');
    const types = (input.AlarmTypes as string[] | undefined) ?? ['MetricAlarm'];
    const matching = this.history.filter(
      (item) =>
        (input.AlarmName === undefined || item.AlarmName === input.AlarmName) &&
        types.includes(item.AlarmType) &&
        (input.HistoryItemType === undefined || item.HistoryItemType === input.HistoryItemType) &&
        (start === undefined || item.Timestamp.getTime() >= start) &&
        (end === undefined || item.Timestamp.getTime() <= end),
    );
    const ordered = input.ScanBy === 'TimestampAscending' ? matching : [...matching].reverse();
    let offset = 0;
    if (input.NextToken !== undefined) {
      const match = /^history-(\d+)$/.exec(String(input.NextToken));
      if (!match)
        throw new SimulatedAwsError('InvalidNextToken', `The service couldn't process the NextToken.`);
      offset = Number(match[1]);
    }
    const page = ordered.slice(offset, offset + maxRecords);
    const rest = offset + maxRecords < ordered.length;
    return {
      AlarmHistoryItems: page.map((item) => ({ ...item, Timestamp: new Date(item.Timestamp) })),
      ...(rest ? { NextToken: `history-${offset + maxRecords}` } : {}),
    };
  }

  public handle(command: string, input: Record<string, unknown>): unknown {
    switch (command) {
      case 'DescribeAlarmHistory':
        return this.describeAlarmHistory(input);
      case 'DescribeAlarms': {
        const names = input.AlarmNames as string[] | undefined;
        const types = (input.AlarmTypes as string[] | undefined) ?? ['MetricAlarm'];
        if (names && names.length > 100)
          throw new SimulatedAwsError('InvalidParameterValue', 'AlarmNames: at most 100 names');
        const selected = [...this.alarms.values()].filter((a) => !names || names.includes(a.AlarmName));
        return {
          MetricAlarms: types.includes('MetricAlarm')
            ? selected.map((a) => ({ ...a, Dimensions: a.Dimensions.map((d) => ({ ...d })) }))
            : [],
          CompositeAlarms: [],
        };
      }
      case 'PutMetricData':
        this.putMetricData(input);
        return {};
      case 'SetAlarmState': {
        const alarm = this.alarms.get(String(input.AlarmName));
        if (!alarm)
          throw new SimulatedAwsError('ResourceNotFound', `Alarm ${String(input.AlarmName)} not found`);
        this.changeState(alarm, input.StateValue as AlarmState, String(input.StateReason ?? 'SetAlarmState'));
        return {};
      }
      default:
        return undefined;
    }
  }
}
