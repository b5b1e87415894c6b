import { addDistribution, emptyHistogram, type Histogram, percentileOf } from './histogram.ts';

const MINUTE = 60_000;

/** From `at` on (until the next step), the percent of a listener rule's production requests each version serves. */
export interface ShareStep {
  at: number;
  shares: Record<string, number>;
}

/** What one version served through one listener rule in one minute. */
export interface VersionMinute {
  /** The minute's start (ms), as CloudWatch timestamps a one-minute datapoint. */
  at: number;
  version: string;
  /** The part of the minute the version served (ms): a version that starts or stops serving mid-minute. */
  from: number;
  until: number;
  requests: number;
  /** 5xx answered by the version's tasks (HTTPCode_Target_5XX_Count's part of this version). */
  errors: number;
  latencyAverageMs: number;
  /** The response times' distribution: `(distribution, requests)` pairs, read into percentiles on demand. */
  latency: Map<Histogram, number>;
}

/** A percentile of a minute's response times in ms (`p99` -> 99), or undefined when nothing was served. */
export const latencyPercentileMs = (minute: VersionMinute, percent: number): number | undefined => {
  const histogram = emptyHistogram();
  for (const [distribution, requests] of minute.latency) addDistribution(histogram, distribution, requests);
  const seconds = percentileOf(histogram, percent);
  return seconds === undefined ? undefined : seconds * 1000;
};

interface RuleSeries {
  shares: ShareStep[];
  /** Minute start -> version -> what it served. */
  minutes: Map<number, Map<string, VersionMinute>>;
}

/**
 * What a picture of the run needs and CloudWatch does not keep per version: for each listener rule, each
 * version's share of its production requests as a step function of time, and per minute what each version
 * served (requests, 5xx, response times). ALB's own metrics are per target group, and a rolling update
 * mixes versions in one group, so the traffic model reports each version's part here as it integrates.
 * Only a run that asks for it records (a fleet of a thousand services does not pay for it).
 */
export class TrafficSeries {
  private readonly rules = new Map<string, RuleSeries>();

  private ruleSeries(ruleArn: string): RuleSeries {
    let series = this.rules.get(ruleArn);
    if (!series) {
      series = { shares: [], minutes: new Map() };
      this.rules.set(ruleArn, series);
    }
    return series;
  }

  /** The rule's versions' shares from `at` on; a step only where they change. */
  public share(ruleArn: string, at: number, shares: Record<string, number>): void {
    const steps = this.ruleSeries(ruleArn).shares;
    const last = steps.at(-1);
    if (last && sameShares(last.shares, shares)) return;
    if (last && last.at === at) last.shares = shares;
    else steps.push({ at, shares });
  }

  /** `requests` served by `version` through the rule from `at` to `until` (one minute at most), with their error rate and response times. */
  public served(
    ruleArn: string,
    at: number,
    until: number,
    version: string,
    requests: number,
    errorRate: number,
    latencyMs: number,
    distribution: Histogram,
  ): void {
    const minuteStart = Math.floor(at / MINUTE) * MINUTE;
    const { minutes } = this.ruleSeries(ruleArn);
    let minute = minutes.get(minuteStart);
    if (!minute) {
      minute = new Map();
      minutes.set(minuteStart, minute);
    }
    let entry = minute.get(version);
    if (!entry) {
      entry = {
        at: minuteStart,
        version,
        from: at,
        until,
        requests: 0,
        errors: 0,
        latencyAverageMs: 0,
        latency: new Map(),
      };
      minute.set(version, entry);
    }
    entry.from = Math.min(entry.from, at);
    entry.until = Math.max(entry.until, until);
    const total = entry.requests + requests;
    entry.latencyAverageMs =
      total > 0 ? (entry.latencyAverageMs * entry.requests + latencyMs * requests) / total : 0;
    entry.requests = total;
    entry.errors += requests * errorRate;
    entry.latency.set(distribution, (entry.latency.get(distribution) ?? 0) + requests);
  }

  /** The rule's share steps, in time order. */
  public sharesOf(ruleArn: string): readonly ShareStep[] {
    return this.rules.get(ruleArn)?.shares ?? [];
  }

  /** The rule's minutes, in time order, each version in the order it first served. */
  public minutesOf(ruleArn: string): VersionMinute[] {
    const minutes = this.rules.get(ruleArn)?.minutes;
    if (!minutes) return [];
    return [...minutes.keys()].sort((a, b) => a - b).flatMap((at) => [...(minutes.get(at)?.values() ?? [])]);
  }
}

/** Shares compared to a thousandth of a percent: float noise from weight division is no change. */
const sameShares = (a: Record<string, number>, b: Record<string, number>): boolean => {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (Math.abs((a[key] ?? 0) - (b[key] ?? 0)) > 1e-3) return false;
  return true;
};
