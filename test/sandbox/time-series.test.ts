import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import type { ServiceTimeSeries } from '../../sandbox/run/time-series.ts';
import {
  loadScenario,
  parseScenario,
  REPOSITORY_ROOT,
  runScenario,
  type ScenarioResult,
} from '../../sandbox/run-scenario.ts';

const run = async (file: string, series = true): Promise<ScenarioResult> => {
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', file));
  return runScenario(scenario, baseDir, { series });
};

const seriesOf = (result: ScenarioResult): ServiceTimeSeries => {
  const series = result.services[result.service]?.series;
  if (!series) throw new Error(`no series for ${result.service}`);
  return series;
};

/** The minutes of one version from `from` (seconds) on. */
const minutesOf = (series: ServiceTimeSeries, version: string, from = 0) =>
  series.minutes.filter((m) => m.version === version && m.t >= from);

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe('Sandbox: the time series a picture of a run draws', () => {
  it('records shares, per-version errors, the alarm and the rollback of a bad version', async () => {
    const result = await run('bad-version-rolled-back.yml');
    const series = seriesOf(result);
    // v1 serves everything through the warm-up, v2 gets 5% at the canary's first step, then none.
    expect(series.shares.map((s) => s.shares)).toEqual([{ v1: 100 }, { v1: 95, v2: 5 }, { v1: 100 }]);
    expect(series.shares[0]?.t).toBe(-900);
    const shifted = result.timeline.find((e) => e.kind === 'traffic')?.t;
    expect(series.shares[1]?.t).toBe(shifted);
    // Whole minutes at 5%: 300 of the 6000 requests a minute, 8% of them failing; v1 fails 0.1%.
    const full = minutesOf(series, 'v2').filter((m) => m.requests === 300);
    expect(full.length).toBeGreaterThanOrEqual(2);
    for (const minute of full) expect(minute).toMatchObject({ errors: 24, errorRate: 0.08, latencyMs: 80 });
    for (const minute of minutesOf(series, 'v1')) expect(minute.errorRate).toBe(0.001);
    // checkout-latency-p99 is an Average alarm in this scenario: the latency drawn is the one it evaluates.
    expect(series.latencyStatistic).toBe('Average');
    const alarmAt = result.timeline.find((e) => e.text === 'checkout-green-5xx OK -> ALARM')?.t;
    expect(series.alarms).toEqual([{ t: alarmAt, alarm: 'checkout-green-5xx', from: 'OK', to: 'ALARM' }]);
    // The rollback marker is where traffic went back: the alarm plus the reaction the summary reports.
    expect(series.markers).toEqual([
      {
        t: (alarmAt ?? 0) + (result.rollbackReactionSeconds ?? Number.NaN),
        kind: 'rollback',
        version: 'v2',
        text: 'Rolled back v2: v1 serves 100% again (alarm checkout-green-5xx went to ALARM at 5%)',
      },
    ]);
    expect(series.shares[2]?.t).toBe(series.markers[0]?.t);
  });

  it('reads the percentile a p99 alarm watches from each version’s own response times', async () => {
    const series = seriesOf(await run('p99-latency-regression.yml'));
    expect(series.latencyStatistic).toBe('p99');
    // The histogram reads a percentile within its 5% bins.
    for (const minute of minutesOf(series, 'v1', -300)) expect(minute.latencyMs).toBeCloseTo(240, -1.5);
    const v2 = minutesOf(series, 'v2');
    expect(v2.length).toBeGreaterThan(0);
    for (const minute of v2) expect(Math.abs((minute.latencyMs ?? 0) - 1200) / 1200).toBeLessThan(0.05);
    expect(series.alarms.map((a) => `${a.alarm} ${a.from} -> ${a.to}`)).toContain(
      'checkout-latency-p99 OK -> ALARM',
    );
    expect(series.markers.map((m) => m.kind)).toEqual(['rollback']);
  });

  it('splits a rolling update by running tasks', async () => {
    // One task replaced at a time (75% of 4 stay healthy): v2's tasks join one by one.
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'rolling-healthy.yml'));
    const document = structuredClone(scenario) as unknown as { world: Record<string, unknown> };
    document.world.deploymentConfiguration = { minimumHealthyPercent: 75, maximumPercent: 100 };
    const series = seriesOf(await runScenario(parseScenario(document), baseDir, { series: true }));
    expect(series.shares.map((s) => s.shares)).toEqual([
      { v1: 100 },
      { v1: 66.667, v2: 33.333 },
      { v1: 33.333, v2: 66.667 },
      { v2: 100 },
    ]);
  });

  it('marks the promotion where the new version serves all the traffic', async () => {
    const result = await run('rolling-healthy.yml');
    const series = seriesOf(result);
    const toVersion = result.toVersion ?? '';
    const last = series.shares.at(-1);
    expect(last?.shares).toEqual({ [toVersion]: 100 });
    expect(series.markers).toEqual([
      {
        t: last?.t,
        kind: 'promotion',
        version: toVersion,
        text: `Promoted ${toVersion}: it serves 100% of the traffic`,
      },
    ]);
  });

  it('marks a blue/green swap that an alarm undid: all of the traffic, then the rollback', async () => {
    const result = await run('blue-green-alarm-after-swap.yml');
    const series = seriesOf(result);
    const swap = series.shares.find((s) => s.shares.v2 === 100);
    const back = series.shares.find((s) => s.t > (swap?.t ?? 0) && s.shares.v1 === 100);
    expect(series.markers.map(({ t, kind }) => ({ t, kind }))).toEqual([
      { t: swap?.t, kind: 'promotion' },
      { t: back?.t, kind: 'rollback' },
    ]);
    expect(series.markers[0]?.text).toBe('v2 serves 100% of the traffic');
  });

  it('records nothing unless asked: the result keeps its shape', async () => {
    const result = await run('bad-version-rolled-back.yml', false);
    expect(result.services[result.service]).not.toHaveProperty('series');
  });
});
