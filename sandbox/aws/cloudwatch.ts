import { SimulatedAwsError } from './errors.ts';
import {
  addValue,
  emptyHistogram,
  type Histogram,
  mergeHistograms,
  samplePercentileOf,
} from './histogram.ts';
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
  /**
   * A percentile alarm's treatment of periods with too few samples (see lowSampleMinimum): `ignore` keeps the
   * state, `evaluate` (the default when absent) evaluates whatever the count.
   */
  EvaluateLowSampleCountPercentile?: 'evaluate' | 'ignore';
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
  /**
   * The SNS topics notified when the alarm goes to ALARM, to OK, and to INSUFFICIENT_DATA (its actions; a
   * state change runs the new state's, "When the updated state differs from the previous value, the action
   * configured for the appropriate state is invoked"). Absent: none.
   */
  AlarmActions?: string[];
  OKActions?: string[];
  InsufficientDataActions?: string[];
}

/**
 * The Region names CloudWatch's alarm notifications carry (`"Region": "US East (N. Virginia)"`, also in the
 * subject); a Region not listed is named by its code.
 */
const REGION_NAMES: Record<string, string> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-1': 'US West (N. California)',
  'us-west-2': 'US West (Oregon)',
  'ca-central-1': 'Canada (Central)',
  'eu-west-1': 'EU (Ireland)',
  'eu-west-2': 'EU (London)',
  'eu-west-3': 'EU (Paris)',
  'eu-central-1': 'EU (Frankfurt)',
  'eu-north-1': 'EU (Stockholm)',
  'ap-northeast-1': 'Asia Pacific (Tokyo)',
  'ap-southeast-1': 'Asia Pacific (Singapore)',
  'ap-southeast-2': 'Asia Pacific (Sydney)',
  'ap-south-1': 'Asia Pacific (Mumbai)',
  'sa-east-1': 'South America (Sao Paulo)',
};

export type TreatMissingData = 'missing' | 'notBreaching' | 'breaching' | 'ignore';

/** `p99`, `p99.9`, `p50`, `p0.0` to `p100`: the percentile ExtendedStatistics an alarm can use. */
export const PERCENTILE_PATTERN = /^p(100(\.0+)?|\d{1,2}(\.\d+)?)$/;

/**
 * The fewest samples a period needs for a percentile to count as statistically significant: 10 / (1 - p)
 * for p from 0.5 (inclusive) to 1 (exclusive), 10 / p from 0 to 0.5 (exclusive): 1000 for p99, 20 for p50
 * (CloudWatch user guide, "Percentile-based alarms and low data samples",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/percentiles-with-low-samples.html). p0 and
 * p100 are outside both ranges: never low.
 */
export const lowSampleMinimum = (extendedStatistic: string): number => {
  const p = Number(extendedStatistic.slice(1)) / 100;
  if (p <= 0 || p >= 1) return 0;
  return p >= 0.5 ? 10 / (1 - p) : 10 / p;
};

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

/** An evaluation range with no datapoint (decideAlarmState counts only the real ones). */
const EMPTY_RANGE: ReadonlyArray<boolean | undefined> = [];

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

/** How many of the datapoints at `indexes` breach. */
const countBreaching = (datapoints: ReadonlyArray<boolean | undefined>, indexes: number[]): number => {
  let breaching = 0;
  for (const i of indexes) if (datapoints[i] === true) breaching += 1;
  return breaching;
};

/**
 * Decides an alarm's next state from the datapoints of its evaluation range, oldest first (`true` breaching,
 * `false` not, `undefined` missing), as the CloudWatch user guide's "How alarm state is evaluated when data
 * is missing" and "Avoiding premature transitions to alarm state" describe, both of its tables (3 of 3 and
 * 2 of 3 over a range of 5) included
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):
 *
 * - At least EvaluationPeriods (N) real datapoints in the range: the most recent N real ones decide, M
 *   (DatapointsToAlarm) breaching -> ALARM, else OK; TreatMissingData plays no part.
 * - None at all: `missing` -> INSUFFICIENT_DATA, `ignore` -> the state stays, `breaching` -> ALARM,
 *   `notBreaching` -> OK.
 * - Some but fewer than N: every real datapoint counts, and missing ones fill in as few times as possible
 *   (N minus the real ones): as breaching or not breaching per TreatMissingData. With `missing` and `ignore`:
 *   ALARM when M real ones breach; OK when fewer breach and a real one does not (the tables: `0 - X - -` and
 *   `- - - - 0` for 2 of 3 are OK with both). When every real one breaches but fewer than M: `missing` goes
 *   to ALARM once the oldest of them is at least M periods old ("alarms are designed to always go into ALARM
 *   state when the oldest available breaching datapoint ... is at least as old as the value of Datapoints to
 *   Alarm, and all other more recent data points are breaching or missing": `- - X - -` for 3 of 3, `- - - X -`
 *   for 2 of 3), `ignore` keeps the state, and a younger one keeps the state with both (`- - - - X` does "not go
 *   immediately into ALARM", as the next datapoint may not breach).
 *
 * Returns the next state (undefined: the state stays) and the indexes of the real datapoints that decided.
 */
export const decideAlarmState = (input: {
  datapoints: ReadonlyArray<boolean | undefined>;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: TreatMissingData;
}): { state: AlarmState | undefined; used: number[]; breaching: number; filled: number } => {
  const n = input.evaluationPeriods;
  const m = input.datapointsToAlarm;
  // Plain loops: this runs for every alarm every simulated minute.
  const real: number[] = [];
  for (let i = 0; i < input.datapoints.length; i += 1) if (input.datapoints[i] !== undefined) real.push(i);
  if (real.length >= n) {
    const used = real.slice(-n);
    const breaching = countBreaching(input.datapoints, used);
    return { state: breaching >= m ? 'ALARM' : 'OK', used, breaching, filled: 0 };
  }
  const breachingReal = countBreaching(input.datapoints, real);
  const fill = n - real.length;
  switch (input.treatMissingData) {
    case 'breaching':
      return {
        state: breachingReal + fill >= m ? 'ALARM' : 'OK',
        used: real,
        breaching: breachingReal + fill,
        filled: fill,
      };
    case 'notBreaching':
      return {
        state: breachingReal >= m ? 'ALARM' : 'OK',
        used: real,
        breaching: breachingReal,
        filled: fill,
      };
    case 'missing':
    case 'ignore': {
      if (real.length === 0)
        return {
          state: input.treatMissingData === 'missing' ? 'INSUFFICIENT_DATA' : undefined,
          used: [],
          breaching: 0,
          filled: 0,
        };
      const decided = { used: real, breaching: breachingReal, filled: 0 };
      if (breachingReal >= m) return { state: 'ALARM', ...decided };
      if (breachingReal < real.length) return { state: 'OK', ...decided };
      // Every real datapoint breaches, fewer than M: ALARM (not premature) once the oldest is M periods old.
      const oldestAge = input.datapoints.length - (real[0] as number);
      const alarms = input.treatMissingData === 'missing' && oldestAge >= m;
      return { state: alarms ? 'ALARM' : undefined, ...decided };
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

/** A number as CloudWatch's reasons print it (Java's Double.toString): `11.0`, `0.25`, `2.0E7`. */
const javaDouble = (value: number): string => {
  const magnitude = Math.abs(value);
  if (value !== 0 && (magnitude >= 1e7 || magnitude < 1e-3)) {
    const [mantissa = '0', exponent = '0'] = value.toExponential().split('e');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
  }
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
};

/** A datapoint's timestamp as CloudWatch's reasons print it: `dd/MM/yy HH:mm:ss` (UTC). */
const reasonTime = (at: number): string => {
  const iso = new Date(at).toISOString();
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(2, 4)} ${iso.slice(11, 19)}`;
};

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * The StateReason of an evaluation that crossed the threshold, worded as CloudWatch words it (AWS's sample
 * events and DescribeAlarms outputs: "Threshold Crossed: 3 out of the last 3 datapoints [38.39 (26/01/22
 * 13:24:00), ...] were not greater than or equal to the threshold (80.0) (minimum 1 datapoint for ALARM ->
 * OK transition).", and "no datapoints were received for 1 period and 1 missing datapoint was treated as
 * [NonBreaching]."): the datapoints newest first, the count of those that breach (to ALARM) or do not (to
 * OK), and the minimum for the transition: M to ALARM, N - M + 1 to OK.
 */
const thresholdCrossedReason = (
  alarm: MetricAlarm,
  next: 'OK' | 'ALARM',
  used: ReadonlyArray<{ at: number; value: number }>,
  filled: number,
): string => {
  const treated = `${plural(filled, 'missing datapoint')} ${filled === 1 ? 'was' : 'were'} treated as [${alarm.TreatMissingData === 'breaching' ? 'Breaching' : 'NonBreaching'}]`;
  if (used.length === 0)
    return `Threshold Crossed: no datapoints were received for ${plural(filled, 'period')} and ${treated}.`;
  const counted = used.filter(
    (v) => compare(v.value, alarm.ComparisonOperator, alarm.Threshold) === (next === 'ALARM'),
  ).length;
  const shown = [...used]
    .reverse()
    .map((v) => `${javaDouble(v.value)} (${reasonTime(v.at)})`)
    .join(', ');
  const minimum =
    next === 'ALARM' ? alarm.DatapointsToAlarm : alarm.EvaluationPeriods - alarm.DatapointsToAlarm + 1;
  return `Threshold Crossed: ${counted} out of the last ${used.length} datapoints [${shown}] ${counted === 1 ? 'was' : 'were'} ${next === 'ALARM' ? '' : 'not '}${OPERATOR_WORDS[alarm.ComparisonOperator]} the threshold (${javaDouble(alarm.Threshold)})${filled > 0 ? ` and ${treated}` : ''} (minimum ${plural(minimum, 'datapoint')} for ${alarm.StateValue} -> ${next} transition).`;
};

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

  /**
   * When each alarm's configuration was last put (its notifications' AlarmConfigurationUpdatedTimestamp).
   * Kept beside the alarm, not in it: the sandbox's DescribeAlarms answers leave it out.
   */
  private readonly configuredAt = new Map<string, Date>();

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

  /** An alarm's ARN from its name, as CloudWatch forms it. */
  public alarmArn(name: string): string {
    return `arn:aws:cloudwatch:${this.world.region}:${this.world.account}:alarm:${name}`;
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
    const lowSamples = alarm.EvaluateLowSampleCountPercentile;
    if (lowSamples !== undefined && lowSamples !== 'evaluate' && lowSamples !== 'ignore')
      throw new SimulatedAwsError(
        'ValidationError',
        `Alarm ${alarm.AlarmName}: EvaluateLowSampleCountPercentile must be evaluate or ignore, got ${String(lowSamples)}.`,
      );
    // DescribeAlarms lists only the stat the alarm has: no `Statistic` key on a percentile alarm.
    const { Statistic, ExtendedStatistic, ...rest } = alarm;
    if (!this.created.has(alarm.AlarmName)) this.created.set(alarm.AlarmName, this.created.size);
    this.configuredAt.set(alarm.AlarmName, this.world.clock.now());
    this.alarms.set(alarm.AlarmName, {
      ...rest,
      ...(Statistic !== undefined ? { Statistic } : { ExtendedStatistic }),
      AlarmArn: this.alarmArn(alarm.AlarmName),
    });
  }

  /**
   * DeleteAlarms: the alarm is gone at once; DescribeAlarms no longer lists it and it is no longer
   * evaluated. Its history stays readable, as CloudWatch keeps alarm history for 30 days.
   */
  public deleteAlarm(name: string): void {
    const alarm = this.alarms.get(name);
    if (!alarm || !this.alarms.delete(name))
      throw new SimulatedAwsError('ResourceNotFound', `Alarm ${name} does not exist.`);
    this.world.record('alarm', `${name} deleted`, undefined, this.world.serviceOf(alarm.AlarmArn));
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
      let samples = 0;
      for (const b of buckets) {
        merged = mergeHistograms(merged, b.histogram);
        samples += b.count;
      }
      return merged
        ? samplePercentileOf(merged, Number(alarm.ExtendedStatistic.slice(1)), samples)
        : undefined;
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
      const value = bucket.histogram
        ? samplePercentileOf(bucket.histogram, Number(stat.slice(1)), bucket.count)
        : undefined;
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

  /**
   * Calls `acted` once every alarm with actions that reads this series has evaluated the datapoint of the
   * minute of `at` into its state and out of its evaluation range again: by then its ALARM action (when the
   * datapoint became visible) and its OK action (when it left the range, unless a newer datapoint keeps the
   * alarm in ALARM) have run. Returns false, and never calls it, when no alarm with actions reads the series.
   * A run is not over until then: an action (an SNS notification, the function it invokes) may still come,
   * and the OK one stands in for an ALARM one that was lost.
   */
  public awaitActions(
    namespace: string,
    name: string,
    dimensions: Array<{ Name: string; Value: string }>,
    at: number,
    acted: () => void,
  ): boolean {
    const key = metricKey(namespace, name, dimensions);
    const minuteStart = Math.floor(at / MINUTE) * MINUTE;
    const visibleAt = minuteStart + MINUTE + this.timing.metricDelaySeconds * 1000;
    let deadline: number | undefined;
    for (const alarm of this.alarms.values()) {
      const acts =
        (alarm.AlarmActions?.length ?? 0) +
        (alarm.OKActions?.length ?? 0) +
        (alarm.InsufficientDataActions?.length ?? 0);
      if (acts === 0 || this.seriesKeyOf(alarm) !== key) continue;
      // The first evaluation whose range (its periods ending at the evaluation) no longer holds the minute,
      // and not before the evaluation that first sees it.
      const range = (alarm.EvaluationPeriods + this.timing.evaluationRangeExtraPeriods) * alarm.Period * 1000;
      const leaves = Math.max(visibleAt, minuteStart + range) + MINUTE;
      deadline = Math.max(deadline ?? 0, leaves);
    }
    if (deadline === undefined) return false;
    // Just after that minute's evaluation (its timer was set first), and its actions' deliveries are queued.
    this.world.clock.schedule(deadline + 1, acted, { synchronous: true });
    return true;
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
      // No datapoint in store: the state the alarm's missing data leads to (an idle alarm, such as the
      // pipeline's on its abnormal execution ends, usually already in it) is decided without reading periods.
      if (series === undefined || series.size === 0) {
        const idle = this.stateWithoutData(alarm);
        if (idle === undefined || idle === alarm.StateValue) continue;
      }
      const range = alarm.EvaluationPeriods + this.timing.evaluationRangeExtraPeriods;
      // The periods' statistics, oldest first (period k starts at at - (range - k) * periodMs); their times
      // and values as objects only once the state changes: this runs for every alarm every minute.
      const stats: Array<number | undefined> = new Array(range);
      const datapoints: Array<boolean | undefined> = new Array(range);
      for (let k = 0; k < range; k += 1) {
        const from = at - (range - k) * periodMs;
        const value = this.statisticOver(series, alarm, from, from + periodMs, at);
        stats[k] = value;
        datapoints[k] =
          value === undefined ? undefined : compare(value, alarm.ComparisonOperator, alarm.Threshold);
      }
      const decision = decideAlarmState({
        datapoints,
        evaluationPeriods: alarm.EvaluationPeriods,
        datapointsToAlarm: alarm.DatapointsToAlarm,
        // "Alarms that evaluate metrics in the AWS/DynamoDB namespace always ignore missing data even if you
        // choose a different option for TreatMissingData" (CloudWatch API Reference, PutMetricAlarm).
        treatMissingData: alarm.Namespace === 'AWS/DynamoDB' ? 'ignore' : alarm.TreatMissingData,
      });
      const next = decision.state;
      if (next === undefined || next === alarm.StateValue) continue;
      const values = stats.map((value, k) => ({ at: at - (range - k) * periodMs, value }));
      const used = decision.used.map((i) => values[i] as { at: number; value: number });
      const newest = used.at(-1);
      // A percentile alarm that ignores low sample counts does not change state while the newest period it
      // reads holds too few samples (periods with none are missing data, left to TreatMissingData).
      if (
        alarm.ExtendedStatistic !== undefined &&
        alarm.EvaluateLowSampleCountPercentile === 'ignore' &&
        newest !== undefined &&
        this.sampleCountOver(series, newest.at, newest.at + periodMs, at) <
          lowSampleMinimum(alarm.ExtendedStatistic)
      )
        continue;
      const statistic = alarm.ExtendedStatistic ?? alarm.Statistic;
      const { reason, evaluated } =
        next === 'INSUFFICIENT_DATA'
          ? {
              reason: `Insufficient Data: ${range} datapoints were unknown.`,
              evaluated: values.map((v) => ({ timestamp: eventTimestamp(new Date(v.at)) })).reverse(),
            }
          : {
              reason: thresholdCrossedReason(alarm, next, used, decision.filled),
              evaluated:
                newest === undefined
                  ? values
                      .slice(-alarm.EvaluationPeriods)
                      .map((v) => ({ timestamp: eventTimestamp(new Date(v.at)) }))
                      .reverse()
                  : [
                      {
                        timestamp: eventTimestamp(new Date(newest.at)),
                        sampleCount: this.sampleCountOver(series, newest.at, newest.at + periodMs, at),
                        value: newest.value,
                      },
                    ],
            };
      this.changeState(alarm, next, reason, {
        version: '1.0',
        queryDate: eventTimestamp(new Date(at)),
        ...(used[0] !== undefined ? { startDate: eventTimestamp(new Date(used[0].at)) } : {}),
        ...(statistic !== undefined ? { statistic } : {}),
        period: alarm.Period,
        recentDatapoints: used.map((v) => v.value),
        threshold: alarm.Threshold,
        evaluatedDatapoints: evaluated,
      });
    }
  }

  /** Each alarm's state without data (stateWithoutData), computed once: it depends only on its settings. */
  private readonly idleStates = new WeakMap<MetricAlarm, AlarmState | 'stays'>();

  /** The state an evaluation with no datapoint at all in the range leads the alarm to (undefined: it stays). */
  private stateWithoutData(alarm: MetricAlarm): AlarmState | undefined {
    let idle = this.idleStates.get(alarm);
    if (idle === undefined) {
      idle =
        decideAlarmState({
          datapoints: EMPTY_RANGE,
          evaluationPeriods: alarm.EvaluationPeriods,
          datapointsToAlarm: alarm.DatapointsToAlarm,
          treatMissingData: alarm.Namespace === 'AWS/DynamoDB' ? 'ignore' : alarm.TreatMissingData,
        }).state ?? 'stays';
      this.idleStates.set(alarm, idle);
    }
    return idle === 'stays' ? undefined : idle;
  }

  /** How many samples the visible datapoints of [from, to) hold (reasonData's `sampleCount`). */
  private sampleCountOver(
    series: Map<number, MinuteBucket> | undefined,
    from: number,
    to: number,
    now: number,
  ): number {
    let count = 0;
    for (let minute = Math.ceil(from / MINUTE); minute * MINUTE < to; minute += 1) {
      const bucket = series?.get(minute);
      if (bucket !== undefined && bucket.visibleAt <= now) count += bucket.count;
    }
    return count;
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
    reasonData?: Record<string, unknown> | string,
  ): void {
    if (next === alarm.StateValue) {
      this.world.record('event', `${alarm.AlarmName} is already ${next}: no state change, no event`);
      return;
    }
    // AWS's sample events carry the previous state's reasonData when it had one.
    const previous = {
      value: alarm.StateValue,
      reason: alarm.StateReason,
      ...(alarm.StateReasonData !== undefined ? { reasonData: alarm.StateReasonData } : {}),
      timestamp: eventTimestamp(alarm.StateUpdatedTimestamp),
    };
    const now = this.world.clock.now();
    alarm.StateValue = next;
    alarm.StateReason = reason;
    // SetAlarmState without StateReasonData leaves the alarm without one (no reasonData in the event).
    alarm.StateReasonData =
      typeof reasonData === 'string' ? reasonData : reasonData && JSON.stringify(reasonData);
    alarm.StateUpdatedTimestamp = now;
    alarm.StateTransitionedTimestamp = now;
    this.world.record(
      'alarm',
      `${alarm.AlarmName} ${previous.value} -> ${next}`,
      undefined,
      this.world.serviceOf(alarm.AlarmArn),
    );
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
        oldState: {
          stateValue: previous.value,
          stateReason: previous.reason,
          ...(previous.reasonData !== undefined
            ? { stateReasonData: JSON.parse(previous.reasonData) as unknown }
            : {}),
        },
        newState: {
          stateValue: next,
          stateReason: reason,
          ...(alarm.StateReasonData !== undefined
            ? { stateReasonData: JSON.parse(alarm.StateReasonData) as unknown }
            : {}),
        },
      }),
    });
    this.runActions(alarm, previous.value, now);
    this.world.emitEvent('aws.cloudwatch', 'CloudWatch Alarm State Change', [alarm.AlarmArn], {
      alarmName: alarm.AlarmName,
      state: {
        value: next,
        reason,
        ...(alarm.StateReasonData !== undefined ? { reasonData: alarm.StateReasonData } : {}),
        timestamp: eventTimestamp(now),
      },
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
   * Runs the actions of the alarm's new state: each SNS topic receives the alarm's notification, the JSON
   * message CloudWatch publishes (AlarmName, AlarmDescription, AWSAccountId,
   * AlarmConfigurationUpdatedTimestamp, NewStateValue, NewStateReason,
   * StateChangeTime, Region, AlarmArn, OldStateValue, the actions, Trigger with the metric, its dimensions
   * as `{ value, name }`, the statistic in capitals, period, threshold...), with the subject
   * `ALARM: "<name>" in <Region>`. An action that fails (the topic is gone) is said on the timeline; the
   * state change stands.
   */
  private runActions(alarm: MetricAlarm, previous: AlarmState, at: Date): void {
    const topics =
      alarm.StateValue === 'ALARM'
        ? alarm.AlarmActions
        : alarm.StateValue === 'OK'
          ? alarm.OKActions
          : alarm.InsufficientDataActions;
    if (!topics || topics.length === 0) return;
    const region = REGION_NAMES[this.world.region] ?? this.world.region;
    const message = JSON.stringify({
      AlarmName: alarm.AlarmName,
      AlarmDescription: alarm.AlarmDescription ?? null,
      AWSAccountId: this.world.account,
      AlarmConfigurationUpdatedTimestamp: eventTimestamp(this.configuredAt.get(alarm.AlarmName) ?? at),
      NewStateValue: alarm.StateValue,
      NewStateReason: alarm.StateReason,
      StateChangeTime: eventTimestamp(at),
      Region: region,
      AlarmArn: alarm.AlarmArn,
      OldStateValue: previous,
      OKActions: alarm.OKActions ?? [],
      AlarmActions: alarm.AlarmActions ?? [],
      InsufficientDataActions: alarm.InsufficientDataActions ?? [],
      Trigger: {
        MetricName: alarm.MetricName,
        Namespace: alarm.Namespace,
        StatisticType: alarm.ExtendedStatistic !== undefined ? 'ExtendedStatistic' : 'Statistic',
        ...(alarm.ExtendedStatistic !== undefined
          ? { ExtendedStatistic: alarm.ExtendedStatistic }
          : { Statistic: (alarm.Statistic ?? 'Sum').toUpperCase() }),
        Unit: null,
        Dimensions: alarm.Dimensions.map((d) => ({ value: d.Value, name: d.Name })),
        Period: alarm.Period,
        EvaluationPeriods: alarm.EvaluationPeriods,
        DatapointsToAlarm: alarm.DatapointsToAlarm,
        ComparisonOperator: alarm.ComparisonOperator,
        Threshold: alarm.Threshold,
        TreatMissingData: alarm.TreatMissingData,
        EvaluateLowSampleCountPercentile: alarm.EvaluateLowSampleCountPercentile ?? '',
      },
    });
    // SNS takes a subject of fewer than 100 characters: a long alarm name is cut short.
    const subject = `${alarm.StateValue}: "${alarm.AlarmName}" in ${region}`.slice(0, 99);
    for (const topicArn of topics) {
      try {
        this.world.publishAlarmAction(topicArn, subject, message);
      } catch (error) {
        this.world.record(
          'alarm',
          `${alarm.AlarmName}: failed to execute action ${topicArn} (${(error as Error).name}: ${(error as Error).message})`,
          undefined,
          this.world.serviceOf(alarm.AlarmArn),
        );
      }
    }
  }

  /**
   * PutMetricData with AWS's input rules (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html,
   * MetricDatum): a namespace of 1-255 characters not starting with `AWS/` (reserved for AWS services), 1-1000
   * datums, each with a metric name, at most 30 dimensions, a standard Unit if any, exactly one of Value,
   * Values (at most 150, with Counts of the same length if given) and StatisticValues (SampleCount, Sum,
   * Minimum and Maximum), values within -2^360 to 2^360, and a Timestamp at most two weeks in the past and two
   * hours in the future (the datum counts in that minute; default: now). The whole request is checked before
   * any datum is stored, as a refused request stores nothing.
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
    const now = this.world.clock.nowMillis;
    const points = data.map((datum, i) => {
      const member = `MetricData.member.${i + 1}`;
      const invalid = (message: string) =>
        new SimulatedAwsError('InvalidParameterValue', `${member}: ${message}`);
      if (typeof datum.MetricName !== 'string' || datum.MetricName.length === 0)
        throw new SimulatedAwsError('MissingParameter', `The parameter ${member}.MetricName is required.`);
      const dimensions = (datum.Dimensions as Array<{ Name: string; Value: string }> | undefined) ?? [];
      if (dimensions.length > 30) throw invalid('Dimensions: at most 30 dimensions.');
      if (datum.Unit !== undefined && !STANDARD_UNITS.has(String(datum.Unit)))
        throw invalid(`Unit ${String(datum.Unit)} is not a CloudWatch unit.`);
      const given = (['Value', 'Values', 'StatisticValues'] as const).filter(
        (key) => datum[key] !== undefined,
      );
      if (given.length !== 1)
        throw new SimulatedAwsError(
          'InvalidParameterCombination',
          `${member}: exactly one of Value, Values and StatisticValues must be specified${given.length > 1 ? ` (got ${given.join(', ')})` : ''}.`,
        );
      const number = (value: unknown, field: string): number => {
        const n = Number(value);
        if (typeof value !== 'number' || !Number.isFinite(n) || Math.abs(n) > 2 ** 360)
          throw invalid(`${field} must be a number from -2^360 to 2^360.`);
        return n;
      };
      let at = now;
      if (datum.Timestamp !== undefined) {
        at = new Date(datum.Timestamp as string | Date).getTime();
        if (Number.isNaN(at)) throw invalid('Timestamp is not a timestamp.');
        if (at < now - 14 * 86_400_000 || at > now + 2 * 3_600_000)
          throw invalid('Timestamp must be at most two weeks in the past and two hours in the future.');
      }
      let point: Datapoint;
      if (datum.Value !== undefined) {
        const value = number(datum.Value, 'Value');
        // Raw values answer percentiles (negative ones never do, as CloudWatch says).
        point = { at, sum: value, count: 1, min: value, max: value };
        if (value >= 0) point.histogram = singleValue(value);
      } else if (datum.Values !== undefined) {
        const values = datum.Values as unknown[];
        const counts = datum.Counts as unknown[] | undefined;
        if (!Array.isArray(values) || values.length === 0 || values.length > 150)
          throw invalid('Values must hold 1 to 150 values.');
        if (counts !== undefined && (!Array.isArray(counts) || counts.length !== values.length))
          throw invalid('Counts must hold as many counts as Values has values.');
        const histogram = emptyHistogram();
        point = {
          at,
          sum: 0,
          count: 0,
          min: Number.POSITIVE_INFINITY,
          max: Number.NEGATIVE_INFINITY,
          histogram,
        };
        for (const [j, raw] of values.entries()) {
          const value = number(raw, `Values.member.${j + 1}`);
          const count = counts === undefined ? 1 : number(counts[j], `Counts.member.${j + 1}`);
          point.sum += value * count;
          point.count += count;
          point.min = Math.min(point.min, value);
          point.max = Math.max(point.max, value);
          if (value >= 0) addValue(histogram, value, count);
        }
      } else {
        const set = datum.StatisticValues as Record<string, unknown>;
        for (const field of ['SampleCount', 'Sum', 'Minimum', 'Maximum'])
          if (set?.[field] === undefined)
            throw new SimulatedAwsError(
              'MissingParameter',
              `The parameter ${member}.StatisticValues.${field} is required.`,
            );
        // A statistic set holds no distribution: it adds to Sum, SampleCount, Minimum and Maximum only.
        point = {
          at,
          sum: number(set.Sum, 'StatisticValues.Sum'),
          count: number(set.SampleCount, 'StatisticValues.SampleCount'),
          min: number(set.Minimum, 'StatisticValues.Minimum'),
          max: number(set.Maximum, 'StatisticValues.Maximum'),
        };
      }
      return { metric: datum.MetricName, dimensions, point, single: datum.Value !== undefined };
    });
    for (const { metric, dimensions, point, single } of points) {
      this.putDatapoint(namespace, metric, dimensions, point);
      const named = Object.fromEntries(dimensions.map((d) => [d.Name, d.Value]));
      this.published.push({ at: point.at, namespace, metric, dimensions: named, value: point.sum });
      this.world.record(
        'metric',
        `${namespace}/${metric} ${dimensions.map((d) => `${d.Name}=${d.Value}`).join(',')} +${point.sum}${single ? '' : ` (${point.count} samples)`}`,
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

  /**
   * DescribeAlarms as AWS answers it: AlarmNames (at most 100) or AlarmNamePrefix, not both
   * (InvalidParameterCombination), StateValue, AlarmTypes (metric alarms when omitted), MaxRecords 1-100 a page
   * with a NextToken for the rest (AWS documents no default page size; the sandbox takes the largest)
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html).
   */
  private describeAlarms(input: Record<string, unknown>): unknown {
    const names = input.AlarmNames as string[] | undefined;
    const prefix = input.AlarmNamePrefix as string | undefined;
    const types = (input.AlarmTypes as string[] | undefined) ?? ['MetricAlarm'];
    if (names && names.length > 100)
      throw new SimulatedAwsError('InvalidParameterValue', 'AlarmNames: at most 100 names');
    if (names !== undefined && prefix !== undefined)
      throw new SimulatedAwsError(
        'InvalidParameterCombination',
        'AlarmNamePrefix and AlarmNames cannot be specified together.',
      );
    const state = input.StateValue;
    if (state !== undefined && state !== 'OK' && state !== 'ALARM' && state !== 'INSUFFICIENT_DATA')
      throw new SimulatedAwsError(
        'ValidationError',
        `1 validation error detected: Value '${String(state)}' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]`,
      );
    const maxRecords = input.MaxRecords === undefined ? 100 : Number(input.MaxRecords);
    if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > 100)
      throw new SimulatedAwsError(
        'InvalidParameterValue',
        `The value ${String(input.MaxRecords)} for parameter MaxRecords is not valid: it must be 1 to 100.`,
      );
    // Named alarms are looked up, not scanned for (a fleet has thousands), and listed in creation order.
    const selected = names
      ? this.alarms.size <= names.length
        ? [...this.alarms.values()].filter((a) => names.includes(a.AlarmName))
        : [...new Set(names)]
            .map((name) => this.alarms.get(name))
            .filter((a): a is MetricAlarm => a !== undefined)
            .sort((a, b) => (this.created.get(a.AlarmName) ?? 0) - (this.created.get(b.AlarmName) ?? 0))
      : [...this.alarms.values()];
    const matching = types.includes('MetricAlarm')
      ? selected.filter(
          (a) =>
            (prefix === undefined || a.AlarmName.startsWith(prefix)) &&
            (state === undefined || a.StateValue === state),
        )
      : [];
    let offset = 0;
    if (input.NextToken !== undefined) {
      const match = /^alarms-(\d+)$/.exec(String(input.NextToken));
      if (!match)
        throw new SimulatedAwsError('InvalidNextToken', `The service couldn't process the NextToken.`);
      offset = Number(match[1]);
    }
    const page = matching.slice(offset, offset + maxRecords);
    return {
      MetricAlarms: page.map((a) => ({ ...a, Dimensions: a.Dimensions.map((d) => ({ ...d })) })),
      CompositeAlarms: [],
      ...(offset + maxRecords < matching.length ? { NextToken: `alarms-${offset + maxRecords}` } : {}),
    };
  }

  public handle(command: string, input: Record<string, unknown>): unknown {
    switch (command) {
      case 'DescribeAlarmHistory':
        return this.describeAlarmHistory(input);
      case 'DescribeAlarms':
        return this.describeAlarms(input);
      case 'PutMetricData':
        this.putMetricData(input);
        return {};
      case 'SetAlarmState': {
        const alarm = this.alarms.get(String(input.AlarmName));
        if (!alarm)
          throw new SimulatedAwsError('ResourceNotFound', `Alarm ${String(input.AlarmName)} not found`);
        // SetAlarmState's constraints (CloudWatch API Reference): StateValue one of the three states,
        // StateReason 0-1023 characters and required, StateReasonData optional JSON.
        const value = input.StateValue;
        if (value !== 'OK' && value !== 'ALARM' && value !== 'INSUFFICIENT_DATA')
          throw new SimulatedAwsError(
            'ValidationError',
            `1 validation error detected: Value '${String(value)}' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]`,
          );
        if (typeof input.StateReason !== 'string' || input.StateReason.length > 1023)
          throw new SimulatedAwsError(
            'ValidationError',
            `1 validation error detected: Value at 'stateReason' failed to satisfy constraint: Member must not be null and have length less than or equal to 1023`,
          );
        let reasonData: string | undefined;
        if (input.StateReasonData !== undefined) {
          reasonData = String(input.StateReasonData);
          try {
            JSON.parse(reasonData);
          } catch {
            throw new SimulatedAwsError('InvalidFormat', 'The parameter StateReasonData is not valid JSON.');
          }
        }
        this.changeState(alarm, value, input.StateReason, reasonData);
        return {};
      }
      default:
        return undefined;
    }
  }
}
