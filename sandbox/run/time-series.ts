import type { ReleaseRecord } from '../../lib/ports/release-store.ts';
import { latencyPercentileMs, type TrafficSeries } from '../aws/series.ts';
import type { ExecutionRecord } from '../aws/sfn.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import type { SandboxOutcome } from '../run-scenario.ts';

/**
 * What happened to one service over virtual time, as a picture of the release draws it (`shipline simulate
 * --report`; also in `--json` output when recorded). Times `t` are seconds since the scenario's start
 * (negative: the warm-up, when traffic already flows and alarms gather history).
 */
export interface ServiceTimeSeries {
  /**
   * The statistic `minutes[].latencyMs` is: the one the service's watched TargetResponseTime alarm evaluates
   * (`p99`, `p95`, `Average`), else `p99`.
   */
  latencyStatistic: string;
  /**
   * Each version's share (percent) of the production listener rule's requests from `t` on, until the next
   * step: the listener rule's weights, split by running tasks on a rolling service. A step only where a share
   * changes.
   */
  shares: Array<{ t: number; shares: Record<string, number> }>;
  /**
   * Per minute (starting at `t`) and version, what the version served through the production listener rule:
   * requests, 5xx errors, error rate (errors / requests, 0-1) and response time in ms (`latencyStatistic`).
   */
  minutes: Array<{
    t: number;
    version: string;
    /** The part of the minute the version served (seconds): where it started or stopped serving mid-minute. */
    from: number;
    until: number;
    requests: number;
    errors: number;
    errorRate: number;
    latencyMs: number | null;
  }>;
  /** Every state change of an alarm the service's releases watch, in time order. */
  alarms: Array<{ t: number; alarm: string; from: string; to: string }>;
  /**
   * Where each release of the service moved traffic for good: `promotion` when the new version reached 100%
   * (also a blue/green swap or a promotion a rollback later undid), `rollback` when the new version was off
   * the traffic again (or where the release ended, if it never served), `failure` where a release failed;
   * `text` says it in words.
   */
  markers: Array<{ t: number; kind: 'promotion' | 'rollback' | 'failure'; version: string; text: string }>;
}

/** A share this close to 100% is all of the traffic (weights are divided as floats). */
const ALL = 99.999;

const round = (value: number, digits: number): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

/** The latency statistic the watched alarms evaluate: `pNN` read from the histogram, or `Average`. */
const latencyStatisticOf = (world: SimulatedWorld, watched: readonly string[]): string => {
  for (const name of watched) {
    const alarm = world.cloudwatch.alarms.get(name);
    if (alarm?.MetricName !== 'TargetResponseTime') continue;
    if (alarm.ExtendedStatistic) return alarm.ExtendedStatistic;
    if (alarm.Statistic === 'Average') return 'Average';
  }
  return 'p99';
};

/**
 * Where one release's traffic went: the moment the new version served all of it (a promotion, or a
 * blue/green swap later undone), and where a rollback put the old version back, from the shares that
 * actually moved; a release that never moved traffic is marked where it ended.
 */
const markersOf = (
  execution: { record: ExecutionRecord; version: string; outcome: SandboxOutcome },
  release: ReleaseRecord | undefined,
  steps: ReadonlyArray<{ t: number; shares: Record<string, number> }>,
  start: number,
): ServiceTimeSeries['markers'] => {
  const { record, version, outcome } = execution;
  const began = (record.startDate.getTime() - start) / 1000;
  const ended = record.stopDate ? (record.stopDate.getTime() - start) / 1000 : undefined;
  const after = steps.filter((step) => step.t >= began);
  const reason = release?.reason ? ` (${release.reason})` : '';
  const full = after.find((step) => (step.shares[version] ?? 0) >= ALL);
  if (outcome === 'promoted') {
    const t = full?.t ?? ended;
    return t === undefined
      ? []
      : [{ t, kind: 'promotion', version, text: `Promoted ${version}: it serves 100% of the traffic` }];
  }
  if (outcome === 'rolled_back') {
    const served = after.findIndex((step) => (step.shares[version] ?? 0) > 0);
    const back =
      served < 0 ? undefined : after.slice(served).find((step) => (step.shares[version] ?? 0) === 0);
    // All of the traffic before the rollback (a swap, or a promotion undone in its rollback window).
    const before: ServiceTimeSeries['markers'] =
      full && (back === undefined || full.t < back.t)
        ? [{ t: full.t, kind: 'promotion', version, text: `${version} serves 100% of the traffic` }]
        : [];
    if (back) {
      const serving = Object.entries(back.shares).find(([, share]) => share >= ALL)?.[0];
      return [
        ...before,
        {
          t: back.t,
          kind: 'rollback',
          version,
          text: `Rolled back ${version}${serving ? `: ${serving} serves 100% again` : ''}${reason}`,
        },
      ];
    }
    // Never served, or not yet off the traffic when the run ended: the marker is where the release ended.
    return ended === undefined
      ? before
      : [
          ...before,
          {
            t: ended,
            kind: 'rollback',
            version,
            text: `Rolled back ${version}${served < 0 ? ' before it served production traffic' : ''}${reason}`,
          },
        ];
  }
  if (outcome === 'failed' && ended !== undefined)
    return [
      {
        t: ended,
        kind: 'failure',
        version,
        text: `Release of ${version} failed${record.error ? `: ${record.error}` : ''}${reason}`,
      },
    ];
  return [];
};

/** The time series of one service, read from what the simulated ALB and CloudWatch saw during the run. */
export const serviceTimeSeries = (input: {
  series: TrafficSeries;
  world: SimulatedWorld;
  listenerRuleArn: string;
  watched: readonly string[];
  executions: ReadonlyArray<{ record: ExecutionRecord; version: string; outcome: SandboxOutcome }>;
  releases: readonly ReleaseRecord[];
  start: number;
}): ServiceTimeSeries => {
  const { series, world, listenerRuleArn, watched, start } = input;
  const seconds = (at: number) => (at - start) / 1000;
  const latencyStatistic = latencyStatisticOf(world, watched);
  const percentile = latencyStatistic === 'Average' ? undefined : Number(latencyStatistic.slice(1));
  const shares = series.sharesOf(listenerRuleArn).map((step) => ({
    t: seconds(step.at),
    shares: Object.fromEntries(Object.entries(step.shares).map(([v, share]) => [v, round(share, 3)])),
  }));
  const minutes = series.minutesOf(listenerRuleArn).map((minute) => {
    const latency =
      percentile === undefined ? minute.latencyAverageMs : latencyPercentileMs(minute, percentile);
    return {
      t: seconds(minute.at),
      version: minute.version,
      from: seconds(minute.from),
      until: seconds(minute.until),
      requests: round(minute.requests, 2),
      errors: round(minute.errors, 2),
      errorRate: minute.requests > 0 ? round(minute.errors / minute.requests, 6) : 0,
      latencyMs: latency === undefined ? null : round(latency, 1),
    };
  });
  const names = new Set(watched);
  const alarms = world.alarmTransitions
    .filter((transition) => names.has(transition.alarm))
    .map((transition) => ({
      t: seconds(transition.at),
      alarm: transition.alarm,
      from: transition.from,
      to: transition.state,
    }));
  const markers = input.executions.flatMap((execution) =>
    markersOf(
      execution,
      input.releases.find((r) => r.releaseId === execution.record.name),
      shares,
      start,
    ),
  );
  return { latencyStatistic, shares, minutes, alarms, markers };
};
