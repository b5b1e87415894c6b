import { describe, expect, it } from 'vitest';
import { decideAlarmState, type MetricAlarm, type TreatMissingData } from '../../sandbox/aws/cloudwatch.ts';
import {
  addDistribution,
  emptyHistogram,
  logNormalDistribution,
  percentileOf,
} from '../../sandbox/aws/histogram.ts';
import type { SimulatedWorld } from '../../sandbox/aws/world.ts';
import { parseScenario } from '../../sandbox/run-scenario.ts';
import { checkDetection } from '../../sandbox/scenario/detection.ts';
import { makeWorld, metricAlarm, START } from './support.ts';

const MINUTE = 60_000;

const DIMENSIONS = [{ Name: 'LoadBalancer', Value: 'app/lb/1' }];

const alarm = metricAlarm;

/** A one-minute p99 alarm on TargetResponseTime at 0.5 s, 1 of 1 (`overrides` change any field). */
const p99LatencyAlarm = (overrides: Partial<MetricAlarm> = {}): Omit<MetricAlarm, 'AlarmArn'> =>
  alarm({
    AlarmName: 'latency',
    MetricName: 'TargetResponseTime',
    Statistic: undefined,
    ExtendedStatistic: 'p99',
    Threshold: 0.5,
    EvaluationPeriods: 1,
    DatapointsToAlarm: 1,
    ...overrides,
  });

/** `0` not breaching, `X` breaching, `-` missing, oldest first (the user guide's notation). */
const points = (row: string): Array<boolean | undefined> =>
  row.split(' ').map((c) => (c === '-' ? undefined : c === 'X'));

const decide = (row: string, treatMissingData: TreatMissingData, n = 3, m = 3) =>
  decideAlarmState({
    datapoints: points(row),
    evaluationPeriods: n,
    datapointsToAlarm: m,
    treatMissingData,
  }).state ?? 'retain';

describe('Function: decideAlarmState (CloudWatch user guide, "How alarm state is evaluated when data is missing")', () => {
  // The guide's table: a 3-of-3 alarm whose evaluation range holds 5 datapoints.
  it.each([
    ['0 - X - X', 'OK', 'OK', 'OK', 'OK'],
    ['- - - - 0', 'OK', 'OK', 'OK', 'OK'],
    ['- - - - -', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
    ['0 X X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    // "Avoiding premature transitions to alarm state": the oldest breaching datapoint is 3 periods old and
    // nothing more recent is real, so `missing` alarms; `ignore` keeps the state.
    ['- - X - -', 'ALARM', 'retain', 'ALARM', 'OK'],
    // One breaching datapoint too recent to be 3 periods old: no premature ALARM.
    ['- - - X -', 'retain', 'retain', 'ALARM', 'OK'],
    ['- - - - X', 'retain', 'retain', 'ALARM', 'OK'],
  ])('3 of 3, range %s: missing %s, ignore %s, breaching %s, notBreaching %s', (row, missing, ignore, breaching, notBreaching) => {
    expect(decide(row, 'missing')).toBe(missing);
    expect(decide(row, 'ignore')).toBe(ignore);
    expect(decide(row, 'breaching')).toBe(breaching);
    expect(decide(row, 'notBreaching')).toBe(notBreaching);
  });

  // The guide's second table: a 2-of-3 alarm (M out of N) whose evaluation range holds 5 datapoints.
  it.each([
    ['0 - X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['0 0 X 0 X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['0 - X - -', 'OK', 'OK', 'ALARM', 'OK'],
    ['- - - - 0', 'OK', 'OK', 'ALARM', 'OK'],
    ['- - - X -', 'ALARM', 'retain', 'ALARM', 'OK'],
  ])('2 of 3, range %s: missing %s, ignore %s, breaching %s, notBreaching %s', (row, missing, ignore, breaching, notBreaching) => {
    expect(decide(row, 'missing', 3, 2)).toBe(missing);
    expect(decide(row, 'ignore', 3, 2)).toBe(ignore);
    expect(decide(row, 'breaching', 3, 2)).toBe(breaching);
    expect(decide(row, 'notBreaching', 3, 2)).toBe(notBreaching);
  });

  it('decides M of N on the most recent N real datapoints of the range, ignoring TreatMissingData', () => {
    // 2 of 3: the last three real ones are X 0 X.
    for (const treat of ['missing', 'ignore', 'breaching', 'notBreaching'] as const)
      expect(decide('X 0 - X -', treat, 3, 2)).toBe('ALARM');
    expect(decide('X X 0 0 X', 'breaching', 3, 2)).toBe('OK');
  });

  it('fills missing datapoints as few times as possible when fewer than N are real', () => {
    // 2 of 3 with one real breaching datapoint: one more breaching fill is enough with `breaching`.
    expect(decide('- - X - -', 'breaching', 3, 2)).toBe('ALARM');
    expect(decide('- - 0 - -', 'breaching', 3, 2)).toBe('ALARM');
    expect(decide('- 0 0 - -', 'breaching', 3, 2)).toBe('OK');
    expect(decide('- - X - -', 'notBreaching', 3, 2)).toBe('OK');
    // `missing`: a lone breaching datapoint at least M periods old with nothing real after it alarms (no
    // longer premature); one too recent keeps the state; a real non-breaching one among too few breaching is OK.
    expect(decide('- - X - -', 'missing', 3, 2)).toBe('ALARM');
    expect(decide('- - - - X', 'missing', 3, 2)).toBe('retain');
    expect(decide('- - X 0 -', 'missing', 3, 2)).toBe('OK');
    expect(decide('- 0 0 - -', 'missing', 3, 2)).toBe('OK');
    expect(decide('- X X - -', 'missing', 3, 2)).toBe('ALARM');
    // 1 of 1 with a range of 3: the one real datapoint decides whatever TreatMissingData says.
    expect(decide('- X -', 'missing', 1, 1)).toBe('ALARM');
    expect(decide('- 0 -', 'ignore', 1, 1)).toBe('OK');
  });
});

describe('Class: SimulatedCloudWatch, evaluation range and metric delay', () => {
  const put = (world: SimulatedWorld, minute: number, value: number, visibleAfterMinutes = 0) =>
    world.cloudwatch.putDatapoint('AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', DIMENSIONS, {
      at: START + minute * MINUTE,
      sum: value,
      count: 1,
      min: value,
      max: value,
      visibleAt: START + (minute + 1 + visibleAfterMinutes) * MINUTE,
    });

  // "Alarms that evaluate metrics in the AWS/DynamoDB namespace always ignore missing data even if you choose
  // a different option for TreatMissingData" (CloudWatch API Reference, PutMetricAlarm TreatMissingData).
  it('keeps the state of an AWS/DynamoDB alarm with no data, whatever its TreatMissingData says', () => {
    for (const treat of ['missing', 'breaching', 'notBreaching'] as const) {
      const { world } = makeWorld();
      world.cloudwatch.putAlarm(
        alarm({
          AlarmName: `throttles-${treat}`,
          Namespace: 'AWS/DynamoDB',
          MetricName: 'ThrottledRequests',
          Dimensions: [{ Name: 'TableName', Value: 'releases' }],
          TreatMissingData: treat,
          StateValue: treat === 'notBreaching' ? 'ALARM' : 'OK',
        }),
      );
      for (let minute = 1; minute <= 10; minute += 1) world.cloudwatch.evaluate(START + minute * MINUTE);
      expect(world.alarmTransitions, treat).toEqual([]);
    }
  });

  it('does not see a datapoint before its delay, then counts it from the evaluation range', () => {
    const { world } = makeWorld();
    world.cloudwatch.putAlarm(alarm());
    put(world, 0, 50, 1);
    put(world, 1, 50, 1);
    world.cloudwatch.evaluate(START + 2 * MINUTE);
    // Minute 1 arrives at +3m: at +2m only one datapoint is real, and notBreaching fills the other.
    expect(world.cloudwatch.alarms.get('errors')?.StateValue).toBe('OK');
    world.cloudwatch.evaluate(START + 3 * MINUTE);
    // The newest period (minute 2) is empty; the range still holds minutes 0 and 1: two real breaching.
    expect(world.alarmTransitions).toEqual([{ at: START, alarm: 'errors', from: 'OK', state: 'ALARM' }]);
    expect(JSON.parse(world.cloudwatch.alarms.get('errors')?.StateReasonData ?? '{}')).toMatchObject({
      recentDatapoints: [50, 50],
    });
  });

  it('states the reason and reasonData as CloudWatch does: newest datapoint first, minimum per transition', () => {
    const { world } = makeWorld();
    const emitted: Array<{ detail: Record<string, { reason?: string; reasonData?: string }> }> = [];
    world.deliver = (event) => {
      emitted.push(event as (typeof emitted)[number]);
      return 1;
    };
    // 2 of 3: OK -> ALARM needs 2 breaching, ALARM -> OK needs 2 not breaching (N - M + 1).
    world.cloudwatch.putAlarm(alarm({ EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 10 }));
    put(world, 0, 12.5);
    put(world, 1, 3);
    put(world, 2, 11);
    world.cloudwatch.evaluate(START + 3 * MINUTE);
    const raised = emitted[0]?.detail;
    expect(raised?.state?.reason).toBe(
      'Threshold Crossed: 2 out of the last 3 datapoints [11.0 (22/11/26 10:02:00), 3.0 (22/11/26 10:01:00), 12.5 (22/11/26 10:00:00)] were greater than the threshold (10.0) (minimum 2 datapoints for OK -> ALARM transition).',
    );
    expect(JSON.parse(raised?.state?.reasonData ?? '{}')).toEqual({
      version: '1.0',
      queryDate: '2026-11-22T10:03:00.000+0000',
      startDate: '2026-11-22T10:00:00.000+0000',
      statistic: 'Sum',
      period: 60,
      recentDatapoints: [12.5, 3, 11],
      threshold: 10,
      evaluatedDatapoints: [{ timestamp: '2026-11-22T10:02:00.000+0000', sampleCount: 1, value: 11 }],
    });
    put(world, 3, 1);
    put(world, 4, 2);
    world.cloudwatch.evaluate(START + 5 * MINUTE);
    const cleared = emitted[1]?.detail;
    expect(cleared?.state?.reason).toBe(
      'Threshold Crossed: 2 out of the last 3 datapoints [2.0 (22/11/26 10:04:00), 1.0 (22/11/26 10:03:00), 11.0 (22/11/26 10:02:00)] were not greater than the threshold (10.0) (minimum 2 datapoints for ALARM -> OK transition).',
    );
    // The previous state carries its reasonData, as in AWS's sample events.
    expect(cleared?.previousState).toMatchObject({
      reason: raised?.state?.reason,
      reasonData: raised?.state?.reasonData,
    });
    // So does the history item's oldState, as JSON like its newState's.
    const history = world.cloudwatch.handle('DescribeAlarmHistory', { AlarmName: 'errors' }) as {
      AlarmHistoryItems: Array<{ HistoryData: string }>;
    };
    expect(JSON.parse(history.AlarmHistoryItems[0]?.HistoryData ?? '{}')).toMatchObject({
      oldState: { stateValue: 'ALARM', stateReasonData: JSON.parse(raised?.state?.reasonData ?? '{}') },
      newState: { stateValue: 'OK', stateReasonData: { recentDatapoints: [11, 1, 2] } },
    });
  });

  it('says which datapoints were unknown when it goes to INSUFFICIENT_DATA, and what missing ones counted as', () => {
    const { world } = makeWorld();
    const reasons: string[] = [];
    world.deliver = (event) => {
      reasons.push(String((event.detail as { state: { reason: string } }).state.reason));
      return 1;
    };
    world.cloudwatch.putAlarm(
      alarm({ EvaluationPeriods: 1, DatapointsToAlarm: 1, TreatMissingData: 'missing' }),
    );
    world.cloudwatch.putAlarm(
      alarm({ AlarmName: 'gaps', EvaluationPeriods: 1, DatapointsToAlarm: 1, TreatMissingData: 'breaching' }),
    );
    world.cloudwatch.evaluate(START + 3 * MINUTE);
    expect(reasons).toEqual([
      'Insufficient Data: 3 datapoints were unknown.',
      'Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [Breaching].',
    ]);
    expect(JSON.parse(world.cloudwatch.alarms.get('errors')?.StateReasonData ?? '{}')).toMatchObject({
      recentDatapoints: [],
      evaluatedDatapoints: [
        { timestamp: '2026-11-22T10:02:00.000+0000' },
        { timestamp: '2026-11-22T10:01:00.000+0000' },
        { timestamp: '2026-11-22T10:00:00.000+0000' },
      ],
    });
  });

  it('refuses SetAlarmState with a state CloudWatch does not have, or without a reason', () => {
    const { world } = makeWorld();
    world.cloudwatch.putAlarm(alarm());
    expect(() =>
      world.cloudwatch.handle('SetAlarmState', {
        AlarmName: 'errors',
        StateValue: 'BROKEN',
        StateReason: 'x',
      }),
    ).toThrow(
      expect.objectContaining({ name: 'ValidationError', message: expect.stringContaining('stateValue') }),
    );
    expect(() =>
      world.cloudwatch.handle('SetAlarmState', { AlarmName: 'errors', StateValue: 'ALARM' }),
    ).toThrow(
      expect.objectContaining({ name: 'ValidationError', message: expect.stringContaining('stateReason') }),
    );
    expect(world.cloudwatch.alarms.get('errors')?.StateValue).toBe('OK');
  });

  it('evaluates an alarm of 5-minute periods every minute, over periods ending at the evaluation', () => {
    const { world } = makeWorld();
    world.cloudwatch.putAlarm(alarm({ Period: 300, EvaluationPeriods: 1, DatapointsToAlarm: 1 }));
    for (let minute = 0; minute < 6; minute += 1) put(world, minute, minute === 5 ? 11 : 0);
    world.cloudwatch.evaluate(START + 5 * MINUTE);
    expect(world.cloudwatch.alarms.get('errors')?.StateValue).toBe('OK');
    // At +6m the period is 01:00-06:00, which holds minute 5 (not a multiple of the period).
    world.cloudwatch.evaluate(START + 6 * MINUTE);
    expect(world.cloudwatch.alarms.get('errors')?.StateValue).toBe('ALARM');
  });

  it('keeps only the minutes an alarm can still read, however long the run', () => {
    const { world } = makeWorld();
    world.cloudwatch.putAlarm(alarm({ EvaluationPeriods: 3 }));
    for (let minute = 0; minute < 72 * 60; minute += 1) {
      put(world, minute, 1);
      world.cloudwatch.evaluate(START + (minute + 1) * MINUTE);
    }
    // 3 evaluation periods + 2 of range, and a minute of slack either side.
    expect(
      world.cloudwatch.storedMinutes('AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', DIMENSIONS),
    ).toBeLessThanOrEqual(8);
  });

  it('refuses an alarm with both Statistic and ExtendedStatistic, or a bad percentile', () => {
    const { world } = makeWorld();
    expect(() => world.cloudwatch.putAlarm(alarm({ ExtendedStatistic: 'p99' }))).toThrow(
      /exactly one of Statistic and ExtendedStatistic/,
    );
    expect(() =>
      world.cloudwatch.putAlarm(alarm({ Statistic: undefined, ExtendedStatistic: 'p100.5' })),
    ).toThrow(/not a percentile/);
  });

  it('lists a percentile alarm with ExtendedStatistic and emits its stat as p99', () => {
    const { world } = makeWorld();
    const emitted: Array<Record<string, unknown>> = [];
    world.deliver = (event) => {
      emitted.push(event);
      return 1;
    };
    world.cloudwatch.putAlarm(p99LatencyAlarm());
    const histogram = emptyHistogram();
    addDistribution(histogram, logNormalDistribution(0.09, 1.2), 300);
    world.cloudwatch.putDatapoint('AWS/ApplicationELB', 'TargetResponseTime', DIMENSIONS, {
      at: START,
      sum: 300 * 0.09,
      count: 300,
      min: 0,
      max: 0.09,
      histogram,
    });
    world.cloudwatch.evaluate(START + MINUTE);
    const described = world.cloudwatch.handle('DescribeAlarms', { AlarmNames: ['latency'] }) as {
      MetricAlarms: MetricAlarm[];
    };
    expect(described.MetricAlarms[0]).toMatchObject({ ExtendedStatistic: 'p99', StateValue: 'ALARM' });
    expect(described.MetricAlarms[0]).not.toHaveProperty('Statistic');
    expect(emitted[0]).toMatchObject({
      detail: { configuration: { metrics: [{ metricStat: { stat: 'p99', period: 60 } }] } },
    });
    const [value] = JSON.parse(described.MetricAlarms[0]?.StateReasonData ?? '{}').recentDatapoints;
    // The p99 of 300 samples is their 297th, expected at the distribution's 297/301 quantile (about 0.98 s),
    // a little under the distribution's own p99 (1.2 s).
    expect(value).toBeGreaterThan(0.9);
    expect(value).toBeLessThan(1.1);
  });

  it("reads a minute's percentile again once a later datapoint merges into it, and never changes a published histogram", () => {
    const { world } = makeWorld();
    world.cloudwatch.putAlarm(p99LatencyAlarm());
    const fast = emptyHistogram();
    addDistribution(fast, logNormalDistribution(0.05, 0.1), 1000);
    const published = Float64Array.from(fast);
    const point = (histogram: Float64Array, requests: number) => ({
      at: START,
      sum: requests * 0.05,
      count: requests,
      min: 0,
      max: 1,
      histogram,
    });
    world.cloudwatch.putDatapoint('AWS/ApplicationELB', 'TargetResponseTime', DIMENSIONS, point(fast, 1000));
    world.cloudwatch.evaluate(START + MINUTE);
    const state = () =>
      (
        world.cloudwatch.handle('DescribeAlarms', { AlarmNames: ['latency'] }) as {
          MetricAlarms: MetricAlarm[];
        }
      ).MetricAlarms[0]?.StateValue;
    expect(state()).toBe('OK');
    // A slow version's datapoint for the same minute arrives late: the same minute now breaches.
    const slow = emptyHistogram();
    addDistribution(slow, logNormalDistribution(2, 4), 100);
    world.cloudwatch.putDatapoint('AWS/ApplicationELB', 'TargetResponseTime', DIMENSIONS, point(slow, 100));
    world.cloudwatch.evaluate(START + MINUTE + 1000);
    expect(state()).toBe('ALARM');
    expect(fast).toEqual(published);
  });

  it('reads a percentile of few samples as those samples have it (p99 of 5 is about their largest), not the distribution p99', () => {
    // CloudWatch computes a percentile from the period's samples: p99 of 5 requests is the slowest of
    // them, whose expected rank in the distribution is 5/6, far below its 99th percentile.
    const p99Of = (requests: number) => {
      const { world } = makeWorld();
      world.cloudwatch.putAlarm(p99LatencyAlarm({ StateValue: 'INSUFFICIENT_DATA' }));
      const histogram = emptyHistogram();
      addDistribution(histogram, logNormalDistribution(0.09, 1.2), requests);
      world.cloudwatch.putDatapoint('AWS/ApplicationELB', 'TargetResponseTime', DIMENSIONS, {
        at: START,
        sum: requests * 0.09,
        count: requests,
        min: 0,
        max: 2,
        histogram,
      });
      world.cloudwatch.evaluate(START + MINUTE);
      const latency = world.cloudwatch.alarms.get('latency');
      return {
        state: latency?.StateValue,
        value: JSON.parse(latency?.StateReasonData ?? '{}').recentDatapoints[0],
      };
    };
    const few = p99Of(5);
    expect(few.state).toBe('OK');
    expect(few.value).toBeGreaterThan(0.08);
    expect(few.value).toBeLessThan(0.12);
    const many = p99Of(100_000);
    expect(many.state).toBe('ALARM');
    expect(many.value).toBeCloseTo(1.2, 1);
  });

  it('keeps a p99 alarm set to ignore low sample counts in its state while a minute has fewer than 1000 samples', () => {
    // CloudWatch user guide, "Percentile-based alarms and low data samples": for p99 the setting applies below
    // 10 / (1 - 0.99) = 1000 samples; `evaluate` (the default) evaluates whatever the count.
    const slowMinute = (world: SimulatedWorld, minute: number, requests: number) => {
      const histogram = emptyHistogram();
      addDistribution(histogram, logNormalDistribution(0.09, 1.2), requests);
      world.cloudwatch.putDatapoint('AWS/ApplicationELB', 'TargetResponseTime', DIMENSIONS, {
        at: START + minute * MINUTE,
        sum: requests * 0.09,
        count: requests,
        min: 0,
        max: 2,
        histogram,
      });
    };
    const p99 = (evaluateLow?: 'evaluate' | 'ignore') =>
      p99LatencyAlarm(evaluateLow ? { EvaluateLowSampleCountPercentile: evaluateLow } : {});
    const state = (world: SimulatedWorld) => world.cloudwatch.alarms.get('latency')?.StateValue;
    const ignoring = makeWorld().world;
    ignoring.cloudwatch.putAlarm(p99('ignore'));
    slowMinute(ignoring, 0, 999);
    ignoring.cloudwatch.evaluate(START + MINUTE);
    expect(state(ignoring)).toBe('OK');
    slowMinute(ignoring, 1, 1000);
    ignoring.cloudwatch.evaluate(START + 2 * MINUTE);
    expect(state(ignoring)).toBe('ALARM');
    expect(
      (
        ignoring.cloudwatch.handle('DescribeAlarms', { AlarmNames: ['latency'] }) as {
          MetricAlarms: MetricAlarm[];
        }
      ).MetricAlarms[0],
    ).toMatchObject({ EvaluateLowSampleCountPercentile: 'ignore' });
    for (const evaluateLow of [undefined, 'evaluate'] as const) {
      const evaluating = makeWorld().world;
      evaluating.cloudwatch.putAlarm(p99(evaluateLow));
      slowMinute(evaluating, 0, 100);
      evaluating.cloudwatch.evaluate(START + MINUTE);
      expect(state(evaluating)).toBe('ALARM');
    }
    // Only `evaluate` and `ignore` exist, and only a percentile alarm takes the setting.
    expect(() =>
      makeWorld().world.cloudwatch.putAlarm({
        ...p99(),
        EvaluateLowSampleCountPercentile: 'skip' as 'ignore',
      }),
    ).toThrow(/EvaluateLowSampleCountPercentile/);
  });

  it('filters DescribeAlarms by name prefix and state, a page of MaxRecords at a time, as CloudWatch does', () => {
    const { world } = makeWorld();
    for (const name of ['api-5xx', 'api-latency', 'web-5xx'])
      world.cloudwatch.putAlarm(alarm({ AlarmName: name, StateValue: name === 'web-5xx' ? 'ALARM' : 'OK' }));
    const names = (input: Record<string, unknown>) => {
      const output = world.cloudwatch.handle('DescribeAlarms', input) as {
        MetricAlarms: MetricAlarm[];
        NextToken?: string;
      };
      return { names: output.MetricAlarms.map((a) => a.AlarmName), next: output.NextToken };
    };
    expect(names({ AlarmNamePrefix: 'api-' })).toEqual({
      names: ['api-5xx', 'api-latency'],
      next: undefined,
    });
    expect(names({ StateValue: 'ALARM' }).names).toEqual(['web-5xx']);
    const first = names({ MaxRecords: 2 });
    expect(first.names).toEqual(['api-5xx', 'api-latency']);
    expect(names({ MaxRecords: 2, NextToken: first.next })).toEqual({ names: ['web-5xx'], next: undefined });
    expect(() =>
      world.cloudwatch.handle('DescribeAlarms', { AlarmNames: ['api-5xx'], AlarmNamePrefix: 'api' }),
    ).toThrow(expect.objectContaining({ name: 'InvalidParameterCombination' }));
    expect(() => world.cloudwatch.handle('DescribeAlarms', { MaxRecords: 101 })).toThrow(/MaxRecords/);
    expect(() => world.cloudwatch.handle('DescribeAlarms', { StateValue: 'FIRING' })).toThrow(/stateValue/);
  });

  it('forgets a deleted alarm: DescribeAlarms no longer lists it', () => {
    const { world } = makeWorld();
    world.cloudwatch.putAlarm(alarm());
    world.cloudwatch.deleteAlarm('errors');
    expect(world.cloudwatch.handle('DescribeAlarms', { AlarmNames: ['errors'] })).toEqual({
      MetricAlarms: [],
      CompositeAlarms: [],
    });
  });
});

/** Log-normal CDF with the given mean and p99, computed independently of the histogram. */
const erf = (x: number): number => {
  // Series expansion, accurate for the |x| < 4 used here.
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n += 1) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const logNormalCdf = (mean: number, p99: number, x: number): number => {
  const z99 = 2.326_347_874;
  const s = z99 - Math.sqrt(z99 * z99 - 2 * Math.log(p99 / mean));
  const mu = Math.log(mean) - (s * s) / 2;
  return 0.5 * (1 + erf((Math.log(x) - mu) / (s * Math.SQRT2)));
};

describe('Histograms: percentiles of a mixture of versions', () => {
  it('gives a version its declared p99 and mean', () => {
    const histogram = logNormalDistribution(0.08, 0.24);
    expect(percentileOf(histogram, 99)).toBeCloseTo(0.24, 2);
    let mean = 0;
    // Mean from the bins' geometric centres is close to the declared one.
    for (let i = 1; i < histogram.length; i += 1) mean += (histogram[i] ?? 0) * 1e-4 * 1.05 ** (i - 0.5);
    expect(mean).toBeGreaterThan(0.078);
    expect(mean).toBeLessThan(0.082);
  });

  it('answers the p99 of 95% v1 and 5% v2 as the mixture has it, not as a mix of the p99s', () => {
    const histogram = emptyHistogram();
    addDistribution(histogram, logNormalDistribution(0.08, 0.24), 950);
    addDistribution(histogram, logNormalDistribution(0.09, 1.2), 50);
    const p99 = percentileOf(histogram, 99) as number;
    const above = 0.95 * (1 - logNormalCdf(0.08, 0.24, p99)) + 0.05 * (1 - logNormalCdf(0.09, 1.2, p99));
    expect(above).toBeGreaterThan(0.009);
    expect(above).toBeLessThan(0.011);
    // Neither version's p99, nor their weighted mean (0.288).
    expect(p99).not.toBeCloseTo(0.288, 2);
    expect(percentileOf(emptyHistogram(), 99)).toBeUndefined();
  });
});

describe('Function: checkDetection', () => {
  it('fails maxDetectionSeconds when detection was slower or never happened, and maxExposedRequests when over', () => {
    expect(
      checkDetection(
        { maxDetectionSeconds: 180, maxExposedRequests: 900 },
        { detectionSeconds: 150, exposedRequests: 750 },
      ),
    ).toEqual([]);
    expect(
      checkDetection(
        { maxDetectionSeconds: 120, maxExposedRequests: 500 },
        { detectionSeconds: 150, exposedRequests: 750 },
      ),
    ).toEqual([
      'detectionSeconds: expected at most 120, got 150',
      'exposedRequests: expected at most 500, got 750',
    ]);
    // Nothing detected fails a bound on detection, saying why; no regression meets a bound on exposure.
    expect(
      checkDetection(
        { maxDetectionSeconds: 120, maxExposedRequests: 0 },
        { detectionSeconds: null, exposedRequests: 0 },
      ),
    ).toEqual([
      'detectionSeconds: expected at most 120, got none: there was no regression to detect (the released version never served a request while behaving worse than the version it replaces)',
    ]);
    expect(
      checkDetection({ maxDetectionSeconds: 120 }, { detectionSeconds: null, exposedRequests: 4200 }),
    ).toEqual([
      'detectionSeconds: expected at most 120, got none: the regression was never detected (no watched alarm went to ALARM after its onset; it reached 4200 requests)',
    ]);
  });
});

describe('Scenario schema: latency tails and alarm statistics', () => {
  const base = {
    name: 'schema',
    world: { serving: 'v1' },
    versions: { v1: { digest: `sha256:${'a'.repeat(64)}` } },
    trigger: { push: { version: 'v1' } },
  };

  it('refuses a p99 below the mean or beyond what a log-normal tail can have, naming the field', () => {
    expect(() =>
      parseScenario({
        ...base,
        versions: { v1: { digest: `sha256:${'a'.repeat(64)}`, latencyMs: 80, latencyP99Ms: 60 } },
      }),
    ).toThrow(/versions\.v1\.latencyP99Ms.*must be between latencyMs \(80\) and 15\.0x latencyMs/);
    expect(() =>
      parseScenario({
        ...base,
        versions: {
          v1: { digest: `sha256:${'a'.repeat(64)}`, changes: [{ latencyMs: 100, latencyP99Ms: 5000 }] },
        },
      }),
    ).toThrow(/versions\.v1\.changes\[0\]\.latencyP99Ms/);
    // A change of the tail alone is checked against the version's mean.
    expect(() =>
      parseScenario({
        ...base,
        versions: {
          v1: { digest: `sha256:${'a'.repeat(64)}`, latencyMs: 80, changes: [{ latencyP99Ms: 2000 }] },
        },
      }),
    ).toThrow(/versions\.v1\.changes\[0\]\.latencyP99Ms: latencyP99Ms 2000 must be between latencyMs \(80\)/);
  });

  it('refuses an alarm with both statistic and extendedStatistic, and a percentile CloudWatch does not know', () => {
    const withAlarm = (alarm: Record<string, unknown>) =>
      parseScenario({ ...base, world: { serving: 'v1', alarms: [{ name: 'a', threshold: 1, ...alarm }] } });
    expect(() => withAlarm({ statistic: 'Average', extendedStatistic: 'p99' })).toThrow(
      /statistic or extendedStatistic, not both/,
    );
    expect(() => withAlarm({ extendedStatistic: 'p999' })).toThrow(/percentile p0\.0 to p100/);
    expect(withAlarm({ extendedStatistic: 'p99.9' }).world.alarms[0]).toMatchObject({
      extendedStatistic: 'p99.9',
    });
  });

  it('takes evaluateLowSampleCountPercentile on a percentile alarm only', () => {
    const withAlarm = (alarm: Record<string, unknown>) =>
      parseScenario({ ...base, world: { serving: 'v1', alarms: [{ name: 'a', threshold: 1, ...alarm }] } });
    expect(
      withAlarm({ extendedStatistic: 'p99', evaluateLowSampleCountPercentile: 'ignore' }).world.alarms[0],
    ).toMatchObject({ evaluateLowSampleCountPercentile: 'ignore' });
    expect(() => withAlarm({ statistic: 'Average', evaluateLowSampleCountPercentile: 'ignore' })).toThrow(
      /evaluateLowSampleCountPercentile.*only for a percentile/,
    );
  });

  it('refuses an alarm event that neither forces a state nor deletes', () => {
    expect(() => parseScenario({ ...base, events: [{ at: '1m', alarm: { name: 'a' } }] })).toThrow(
      /exactly one of state and delete/,
    );
  });
});
