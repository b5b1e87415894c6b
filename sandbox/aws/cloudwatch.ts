import { SimulatedAwsError } from './errors.ts';
import { addValue, emptyHistogram, type Histogram, mergeHistograms, percentileOf } from './histogram.ts';
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
  /** A simple statistic; absent when the alarm uses ExtendedStatistic (PutMetricAlarm takes one of the two). */
  Statistic?: Statistic;
  /** A percentile such as `p99` or `p99.9` (ExtendedStatistic); absent when the alarm uses Statistic. */
  ExtendedStatistic?: string;
  Period: number;
  EvaluationPeriods: number;
  DatapointsToAlarm: number;
  Threshold: number;
  ComparisonOperator: ComparisonOperator;
  TreatMissingData: TreatMissingData;
  StateValue: AlarmState;
  StateReason: string;
  StateReasonData?: string;
  StateUpdatedTimestamp: Date;
  StateTransitionedTimestamp: Date;
}

export type TreatMissingData = 'missing' | 'notBreaching' | 'breaching' | 'ignore';

/** `p99`, `p99.9`, `p50`, `p0.0` to `p100`: the percentile ExtendedStatistics an alarm can use. */
export const PERCENTILE_PATTERN = /^p(100(\.0+)?|\d{1,2}(\.\d+)?)$/;

/** The stat an alarm evaluates, as CloudWatch shows it (`Sum`, `p99`). */
export const statOf = (alarm: Pick<MetricAlarm, 'Statistic' | 'ExtendedStatistic'>): string =>
  alarm.ExtendedStatistic ?? alarm.Statistic ?? 'Sum';

/**
 * One datapoint as a service publishes it: ALB publishes one per minute per series, already aggregated
 * (sum, count, min, max, and for TargetResponseTime the distribution of response times); PutMetricData one
 * value. `visibleAt` is when CloudWatch can first return it to an alarm evaluation (default: `at`).
 */
export interface Datapoint {
  at: number;
  sum: number;
  count: number;
  min: number;
  max: number;
  histogram?: Histogram;
  visibleAt?: number;
}

/** A series' data for one minute, every datapoint of the minute merged. */
interface MinuteBucket {
  sum: number;
  count: number;
  min: number;
  max: number;
  histogram?: Histogram;
  visibleAt: number;
  /**
   * Percentiles already read from `histogram` (by ExtendedStatistic): a one-minute alarm reads the same
   * minute once per evaluation of its range. Dropped when another datapoint merges into the minute.
   */
  percentiles?: Map<string, number | undefined>;
}

const MINUTE = 60_000;

const singleValue = (value: number): Histogram => {
  const histogram = emptyHistogram();
  addValue(histogram, value);
  return histogram;
};

/**
 * CloudWatch's timing as modeled, each figure a default a scenario can override (`world.cloudwatch`):
 *
 * - `metricDelaySeconds` (60): how long after the end of its minute an ALB datapoint becomes visible to
 *   alarm evaluation. ALB "measures and sends its metrics in 60-second intervals", only while requests
 *   flow (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html);
 *   AWS documents no ingestion figure, and alarms observed on ALB metrics change state about a minute after
 *   the minute they react to ends (e.g. a 14:34 datapoint alarmed at 14:35:52,
 *   https://serverfault.com/questions/968465/cloudwatch-metrics-data-doesnt-match-alerts).
 * - `evaluationRangeExtraPeriods` (2): CloudWatch "attempts to retrieve a higher number of data points than
 *   the number specified as Evaluation Periods" (the evaluation range), and evaluates on the most recent real
 *   datapoints in it; its documented example retrieves 5 datapoints for an alarm of 3 evaluation periods
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html). This is
 *   also why a late datapoint still counts: it is in the range at the next evaluation.
 *
 * Metric alarms are evaluated every minute, also when their period is longer, over periods that end at
 * the evaluation (a 5-minute alarm at 12:16 reads 12:01-12:06, 12:06-12:11, 12:11-12:16;
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html).
 */
export interface CloudWatchTiming {
  metricDelaySeconds: number;
  evaluationRangeExtraPeriods: number;
}

export const CLOUDWATCH_TIMING_DEFAULTS: CloudWatchTiming = {
  metricDelaySeconds: 60,
  evaluationRangeExtraPeriods: 2,
};

/**
 * Decides an alarm's next state from the datapoints of its evaluation range, oldest first (`true` breaching,
 * `false` not, `undefined` missing), as the CloudWatch user guide's "How alarm state is evaluated when data
 * is missing" describes (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):
 *
 * - At least EvaluationPeriods (N) real datapoints in the range: the most recent N real ones decide, M
 *   (DatapointsToAlarm) breaching -> ALARM, else OK; TreatMissingData plays no part.
 * - None at all: `missing` -> INSUFFICIENT_DATA, `ignore` -> the state stays, `breaching` -> ALARM,
 *   `notBreaching` -> OK.
 * - Some but fewer than N: every real datapoint counts, and missing ones fill in as few times as possible
 *   (N minus the real ones): as breaching or not breaching per TreatMissingData. With `missing` and `ignore`
 *   nothing fills in: ALARM when M real ones breach, OK when so many real ones do not breach that M breaching
 *   can no longer be reached (more than N - M), and otherwise the state stays (the guide's table: `- - X - -`
 *   for 3 of 3 retains the state, `- - - - 0` is OK; CloudWatch avoids premature transitions to ALARM).
 *
 * Returns the next state (undefined: the state stays) and the indexes of the real datapoints that decided.
 */
/** How many of the datapoints at `indexes` breach. */
const countBreaching = (datapoints: ReadonlyArray<boolean | undefined>, indexes: number[]): number => {
  let breaching = 0;
  for (const i of indexes) if (datapoints[i] === true) breaching += 1;
  return breaching;
};

export const decideAlarmState = (input: {
  datapoints: ReadonlyArray<boolean | undefined>;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: TreatMissingData;
}): { state: AlarmState | undefined; used: number[]; breaching: number } => {
  const n = input.evaluationPeriods;
  const m = input.datapointsToAlarm;
  // Plain loops: this runs for every alarm every simulated minute.
  const real: number[] = [];
  for (let i = 0; i < input.datapoints.length; i += 1) if (input.datapoints[i] !== undefined) real.push(i);
  if (real.length >= n) {
    const used = real.slice(-n);
    const breaching = countBreaching(input.datapoints, used);
    return { state: breaching >= m ? 'ALARM' : 'OK', used, breaching };
  }
  const breachingReal = countBreaching(input.datapoints, real);
  const fill = n - real.length;
  switch (input.treatMissingData) {
    case 'breaching':
      return {
        state: breachingReal + fill >= m ? 'ALARM' : 'OK',
        used: real,
        breaching: breachingReal + fill,
      };
    case 'notBreaching':
      return { state: breachingReal >= m ? 'ALARM' : 'OK', used: real, breaching: breachingReal };
    case 'missing':
    case 'ignore': {
      if (real.length === 0)
        return {
          state: input.treatMissingData === 'missing' ? 'INSUFFICIENT_DATA' : undefined,
          used: [],
          breaching: 0,
        };
      if (breachingReal >= m) return { state: 'ALARM', used: real, breaching: breachingReal };
      if (real.length - breachingReal > n - m) return { state: 'OK', used: real, breaching: breachingReal };
      return { state: undefined, used: real, breaching: breachingReal };
    }
  }
};

/** The key of a metric series: namespace, name and dimensions in name order. */
export const metricKey = (
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
 * CloudWatch's units (MetricDatum `Unit`, the StandardUnit list): an EMF metric definition's `Unit` must be
 * one of them (EMF specification, MetricDefinition), else the line is not extracted.
 */
const STANDARD_UNITS: ReadonlySet<string> = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

/**
 * CloudWatch metrics and metric alarms. Datapoints are kept per series in minute buckets (a Map keyed by
 * minute, in time order), so an evaluation reads only the minutes of its range and costs the same at hour
 * 72 as at minute 10; minutes older than any alarm's range are dropped. Alarms evaluate every minute over
 * their evaluation range (decideAlarmState), see only datapoints already visible (CloudWatchTiming), and
 * emit "CloudWatch Alarm State Change" to EventBridge on every state change.
 */
export class SimulatedCloudWatch {
  public readonly alarms = new Map<string, MetricAlarm>();
  public timing: CloudWatchTiming = { ...CLOUDWATCH_TIMING_DEFAULTS };
  private readonly metrics = new Map<string, Map<number, MinuteBucket>>();
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

  /** Each alarm's history items, oldest first (the same objects as `history`): a fleet reads one alarm's. */
  private readonly historyByAlarm = new Map<string, Array<(typeof this.history)[number]>>();

  private pushHistory(item: (typeof this.history)[number]): void {
    this.history.push(item);
    const own = this.historyByAlarm.get(item.AlarmName) ?? [];
    own.push(item);
    this.historyByAlarm.set(item.AlarmName, own);
  }

  /** Creation order of each alarm name (the order DescribeAlarms lists them in). */
  private readonly created = new Map<string, number>();

  /** Each alarm's metric series key, computed once (evaluation looks it up every minute). */
  private readonly seriesKeys = new WeakMap<MetricAlarm, string>();

  private seriesKeyOf(alarm: MetricAlarm): string {
    let key = this.seriesKeys.get(alarm);
    if (key === undefined) {
      key = metricKey(alarm.Namespace, alarm.MetricName, alarm.Dimensions);
      this.seriesKeys.set(alarm, key);
    }
    return key;
  }

  public putAlarm(alarm: Omit<MetricAlarm, 'AlarmArn'>): void {
    if ((alarm.Statistic === undefined) === (alarm.ExtendedStatistic === undefined))
      throw new SimulatedAwsError(
        'InvalidParameterCombination',
        `Alarm ${alarm.AlarmName}: exactly one of Statistic and ExtendedStatistic must be specified.`,
      );
    if (alarm.ExtendedStatistic !== undefined && !PERCENTILE_PATTERN.test(alarm.ExtendedStatistic))
      throw new SimulatedAwsError(
        'InvalidParameterValue',
        `Alarm ${alarm.AlarmName}: ExtendedStatistic ${alarm.ExtendedStatistic} is not a percentile p0.0 to p100.`,
      );
    // DescribeAlarms lists only the stat the alarm has: no `Statistic` key on a percentile alarm.
    const { Statistic, ExtendedStatistic, ...rest } = alarm;
    if (!this.created.has(alarm.AlarmName)) this.created.set(alarm.AlarmName, this.created.size);
    this.alarms.set(alarm.AlarmName, {
      ...rest,
      ...(Statistic !== undefined ? { Statistic } : { ExtendedStatistic }),
      AlarmArn: `arn:aws:cloudwatch:${this.world.region}:${this.world.account}:alarm:${alarm.AlarmName}`,
    });
  }

  /**
   * DeleteAlarms: the alarm is gone at once; DescribeAlarms no longer lists it and it is no longer
   * evaluated. Its history stays readable, as CloudWatch keeps alarm history for 30 days.
   */
  public deleteAlarm(name: string): void {
    if (!this.alarms.delete(name))
      throw new SimulatedAwsError('ResourceNotFound', `Alarm ${name} does not exist.`);
    this.world.record('alarm', `${name} deleted`);
  }

  /**
   * Adds a datapoint to its series. `key` is the series' metricKey, for a publisher that computed it once.
   * The point's histogram is kept as given, not copied: a published histogram is never changed afterwards
   * (merging makes a new one).
   */
  public putDatapoint(
    namespace: string,
    name: string,
    dimensions: Array<{ Name: string; Value: string }>,
    point: Datapoint,
    key: string = metricKey(namespace, name, dimensions),
  ): void {
    let series = this.metrics.get(key);
    if (!series) {
      series = new Map();
      this.metrics.set(key, series);
    }
    const minute = Math.floor(point.at / MINUTE);
    const visibleAt = point.visibleAt ?? point.at;
    const bucket = series.get(minute);
    if (!bucket) {
      series.set(minute, {
        sum: point.sum,
        count: point.count,
        min: point.min,
        max: point.max,
        histogram: point.histogram,
        visibleAt,
      });
      return;
    }
    bucket.sum += point.sum;
    bucket.count += point.count;
    bucket.min = Math.min(bucket.min, point.min);
    bucket.max = Math.max(bucket.max, point.max);
    const histogram = this.merged(bucket.histogram, point.histogram);
    if (histogram) bucket.histogram = histogram;
    bucket.percentiles = undefined;
    bucket.visibleAt = Math.max(bucket.visibleAt, visibleAt);
  }

  /**
   * The alarm's statistic over [from, to) from the datapoints visible at `now`, or undefined when there is
   * none. A percentile needs the distribution of the values: a series published only as sums (ALB counts)
   * has no percentile, as CloudWatch needs raw values or single-value statistic sets for one
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html).
   */
  private statisticOver(
    series: Map<number, MinuteBucket> | undefined,
    alarm: MetricAlarm,
    from: number,
    to: number,
    now: number,
  ): number | undefined {
    if (!series) return undefined;
    let first: MinuteBucket | undefined;
    let buckets: MinuteBucket[] | undefined;
    for (let minute = Math.ceil(from / MINUTE); minute * MINUTE < to; minute += 1) {
      const bucket = series.get(minute);
      if (bucket === undefined || bucket.visibleAt > now) continue;
      if (first === undefined) first = bucket;
      else if (buckets === undefined) buckets = [first, bucket];
      else buckets.push(bucket);
    }
    if (first === undefined) return undefined;
    // One minute (a one-minute period, the usual case) is read without merging or copying anything.
    if (buckets === undefined) return this.minuteStatistic(first, alarm);
    if (alarm.ExtendedStatistic !== undefined) {
      let merged: Histogram | undefined;
      for (const b of buckets) merged = mergeHistograms(merged, b.histogram);
      return merged ? percentileOf(merged, Number(alarm.ExtendedStatistic.slice(1))) : undefined;
    }
    const sum = buckets.reduce((s, b) => s + b.sum, 0);
    const count = buckets.reduce((s, b) => s + b.count, 0);
    switch (alarm.Statistic ?? 'Sum') {
      case 'Sum':
        return sum;
      case 'SampleCount':
        return count;
      case 'Average':
        return count === 0 ? 0 : sum / count;
      case 'Maximum':
        return Math.max(...buckets.map((b) => b.max));
      case 'Minimum':
        return Math.min(...buckets.map((b) => b.min));
    }
  }

  /**
   * The last merge of each histogram with another, by identity: histograms here are never changed, and a
   * steady minute merges the same two (e.g. both slots' response times into the load balancer's series).
   */
  private readonly merges = new WeakMap<Histogram, { other: Histogram; result: Histogram }>();

  /** The sum of two minute histograms (mergeHistograms), reusing the last identical merge. */
  private merged(a: Histogram | undefined, b: Histogram | undefined): Histogram | undefined {
    if (a === undefined || b === undefined) return mergeHistograms(a, b);
    const last = this.merges.get(a);
    if (last?.other === b) return last.result;
    const result = mergeHistograms(a, b) as Histogram;
    this.merges.set(a, { other: b, result });
    return result;
  }

  /** The alarm's statistic over one minute's data: what statisticOver gives for that minute alone. */
  private minuteStatistic(bucket: MinuteBucket, alarm: MetricAlarm): number | undefined {
    const stat = alarm.ExtendedStatistic;
    if (stat !== undefined) {
      if (bucket.percentiles?.has(stat)) return bucket.percentiles.get(stat);
      const value = bucket.histogram ? percentileOf(bucket.histogram, Number(stat.slice(1))) : undefined;
      bucket.percentiles ??= new Map();
      bucket.percentiles.set(stat, value);
      return value;
    }
    // `0 +`: the same number a sum over the minutes gives (a lone -0 sums to 0).
    const sum = 0 + bucket.sum;
    const count = 0 + bucket.count;
    switch (alarm.Statistic ?? 'Sum') {
      case 'Sum':
        return sum;
      case 'SampleCount':
        return count;
      case 'Average':
        return count === 0 ? 0 : sum / count;
      case 'Maximum':
        return bucket.max;
      case 'Minimum':
        return bucket.min;
    }
  }

  /** How many minutes of a series are kept (what pruning leaves). */
  public storedMinutes(
    namespace: string,
    name: string,
    dimensions: Array<{ Name: string; Value: string }>,
  ): number {
    return this.metrics.get(metricKey(namespace, name, dimensions))?.size ?? 0;
  }

  /** Minutes of data the alarms can still read: their evaluation ranges, the longest of them. */
  private lookbackMs(): number {
    let longest = 0;
    for (const alarm of this.alarms.values()) {
      const periods = alarm.EvaluationPeriods + this.timing.evaluationRangeExtraPeriods;
      longest = Math.max(longest, periods * alarm.Period * 1000);
    }
    return longest;
  }

  /** Drops every minute older than any alarm can read (series are in time order: stop at the first kept). */
  private prune(now: number): void {
    const oldest = Math.floor((now - this.lookbackMs()) / MINUTE) - 1;
    for (const series of this.metrics.values()) {
      for (const minute of series.keys()) {
        if (minute >= oldest) break;
        series.delete(minute);
      }
    }
  }

  /** Evaluates every alarm at the minute `at` (ms), as CloudWatch does each minute. */
  public evaluate(at: number): void {
    if (at % MINUTE === 0) this.prune(at);
    for (const alarm of this.alarms.values()) {
      const periodMs = alarm.Period * 1000;
      const series = this.metrics.get(this.seriesKeyOf(alarm));
      const range = alarm.EvaluationPeriods + this.timing.evaluationRangeExtraPeriods;
      const values: Array<{ at: number; value: number | undefined }> = [];
      const datapoints: Array<boolean | undefined> = [];
      for (let i = range; i >= 1; i -= 1) {
        const from = at - i * periodMs;
        const value = this.statisticOver(series, alarm, from, from + periodMs, at);
        values.push({ at: from, value });
        datapoints.push(
          value === undefined ? undefined : compare(value, alarm.ComparisonOperator, alarm.Threshold),
        );
      }
      const decision = decideAlarmState({
        datapoints,
        evaluationPeriods: alarm.EvaluationPeriods,
        datapointsToAlarm: alarm.DatapointsToAlarm,
        treatMissingData: alarm.TreatMissingData,
      });
      const next = decision.state;
      if (next === undefined || next === alarm.StateValue) continue;
      const used = decision.used.map((i) => values[i] as { at: number; value: number });
      const shown = used
        .map((v) => `${v.value.toFixed(1)} (${new Date(v.at).toISOString().slice(11, 16)})`)
        .join(', ');
      const reason =
        next === 'INSUFFICIENT_DATA'
          ? 'Insufficient Data: no datapoints were received for the evaluation range.'
          : `Threshold Crossed: ${decision.breaching} out of the last ${alarm.EvaluationPeriods} datapoints [${shown}] ${next === 'ALARM' ? 'were' : 'were not'} ${OPERATOR_WORDS[alarm.ComparisonOperator]} the threshold (${alarm.Threshold.toFixed(1)}) (minimum ${alarm.DatapointsToAlarm} datapoints for ${alarm.StateValue} -> ${next} transition).`;
      this.changeState(alarm, next, reason, {
        version: '1.0',
        queryDate: eventTimestamp(new Date(at)),
        ...(alarm.ExtendedStatistic !== undefined
          ? { statistic: alarm.ExtendedStatistic }
          : { statistic: alarm.Statistic }),
        period: alarm.Period,
        recentDatapoints: used.map((v) => v.value),
        threshold: alarm.Threshold,
      });
    }
  }

  /**
   * Changes an alarm's state (evaluation or SetAlarmState) and emits the EventBridge event. A state it is
   * already in is no change: no transition, no history item, no event ("When the updated state differs from
   * the previous value, the action configured for the appropriate state is invoked", CloudWatch API
   * Reference, SetAlarmState; EventBridge receives an event "whenever alarms change state", CloudWatch User
   * Guide, Acting on alarm changes).
   */
  public changeState(
    alarm: MetricAlarm,
    next: AlarmState,
    reason: string,
    reasonData: Record<string, unknown> = {},
  ): void {
    if (next === alarm.StateValue) {
      this.world.record('event', `${alarm.AlarmName} is already ${next}: no state change, no event`);
      return;
    }
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
    this.world.alarmTransitions.push({
      at: now.getTime(),
      alarm: alarm.AlarmName,
      from: previous.value,
      state: next,
    });
    this.pushHistory({
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
              stat: statOf(alarm),
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
        // Raw values answer percentiles (negative ones never do, as CloudWatch says).
        ...(value >= 0 ? { histogram: singleValue(value) } : {}),
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
   * What CloudWatch Logs does with a function's log line in the embedded metric format: the root `_aws`
   * object's `Timestamp` (epoch ms) and `CloudWatchMetrics` directives (`Namespace`, `Dimensions` as arrays
   * of root keys, `Metrics` as `{ Name, Unit }`) turn root values into datapoints, one per value (a member may
   * hold an array of values) and per dimension set. A document that breaks the specification is not
   * extracted (CloudWatch Logs keeps it as a plain log line): recorded on the timeline, with the reason.
   * Returns how many datapoints were extracted.
   */
  public extractEmf(line: string, source: string): number {
    const skip = (why: string): number => {
      this.world.record('metric', `${source}: EMF log line not extracted (${why})`);
      return 0;
    };
    let document: Record<string, unknown>;
    try {
      document = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return skip('not JSON');
    }
    const aws = document._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
    if (!aws || typeof aws !== 'object') return skip('no _aws metadata');
    if (typeof aws.Timestamp !== 'number' || !Number.isFinite(aws.Timestamp))
      return skip('_aws.Timestamp is not a number of milliseconds');
    if (!Array.isArray(aws.CloudWatchMetrics)) return skip('_aws.CloudWatchMetrics is not an array');
    const points: Array<{
      namespace: string;
      metric: string;
      dimensions: Record<string, string>;
      value: number;
    }> = [];
    for (const directive of aws.CloudWatchMetrics as Array<Record<string, unknown>>) {
      const namespace = directive.Namespace;
      if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 255)
        return skip('a directive has no Namespace');
      const sets = directive.Dimensions;
      if (!Array.isArray(sets)) return skip(`${namespace}: Dimensions is not an array of dimension sets`);
      const metrics = directive.Metrics;
      if (!Array.isArray(metrics)) return skip(`${namespace}: Metrics is not an array`);
      for (const set of sets.length > 0 ? (sets as unknown[]) : [[]]) {
        if (!Array.isArray(set) || set.length > 30)
          return skip(`${namespace}: a dimension set is not 0-30 keys`);
        const dimensions: Record<string, string> = {};
        for (const key of set) {
          const value = document[String(key)];
          if (typeof value !== 'string')
            return skip(`${namespace}: dimension ${String(key)} has no string value`);
          dimensions[String(key)] = value;
        }
        if (metrics.length > 100) return skip(`${namespace}: more than 100 metrics in one directive`);
        for (const metric of metrics as Array<{ Name?: unknown; Unit?: unknown }>) {
          const name = metric.Name;
          if (typeof name !== 'string' || name.length === 0)
            return skip(`${namespace}: a metric has no Name`);
          if (metric.Unit !== undefined && !STANDARD_UNITS.has(String(metric.Unit)))
            return skip(`${namespace}/${name}: Unit ${JSON.stringify(metric.Unit)} is not a CloudWatch unit`);
          const raw = document[name];
          const values = Array.isArray(raw) ? raw : [raw];
          for (const value of values) {
            if (typeof value !== 'number' || !Number.isFinite(value))
              return skip(`${namespace}/${name}: the value is not a number`);
            points.push({ namespace, metric: name, dimensions, value });
          }
        }
      }
    }
    const at = aws.Timestamp;
    for (const point of points) {
      const dimensions = Object.entries(point.dimensions).map(([Name, Value]) => ({ Name, Value }));
      this.putDatapoint(point.namespace, point.metric, dimensions, {
        at,
        sum: point.value,
        count: 1,
        min: point.value,
        max: point.value,
        ...(point.value >= 0 ? { histogram: singleValue(point.value) } : {}),
      });
      this.published.push({ at, ...point });
      this.world.record(
        'metric',
        `${point.namespace}/${point.metric} ${dimensions.map((d) => `${d.Name}=${d.Value}`).join(',')} ${point.value} (EMF from ${source})`,
        undefined,
        point.dimensions.service,
      );
    }
    return points.length;
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
    const scope =
      input.AlarmName === undefined ? this.history : (this.historyByAlarm.get(String(input.AlarmName)) ?? []);
    const matching = scope.filter(
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
        // Named alarms are looked up, not scanned for (a fleet has thousands), and listed in creation order.
        const selected = names
          ? this.alarms.size <= names.length
            ? [...this.alarms.values()].filter((a) => names.includes(a.AlarmName))
            : [...new Set(names)]
                .map((name) => this.alarms.get(name))
                .filter((a): a is MetricAlarm => a !== undefined)
                .sort((a, b) => (this.created.get(a.AlarmName) ?? 0) - (this.created.get(b.AlarmName) ?? 0))
          : [...this.alarms.values()];
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
