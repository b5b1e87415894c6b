import type { VirtualClock } from '../virtual-clock.ts';
import { metricKey, type SimulatedCloudWatch } from './cloudwatch.ts';
import type { SimulatedEcs, SimulatedService } from './ecs.ts';
import type { SimulatedElbv2 } from './elbv2.ts';
import {
  addDistribution,
  emptyHistogram,
  type Histogram,
  logNormalDistribution,
  percentileOf,
} from './histogram.ts';
import type { TrafficSeries } from './series.ts';

/**
 * A version's p99 response time when the scenario gives none: 3x its mean. With the log-normal shape the
 * sandbox gives response times, that is a median at 0.87x the mean and a moderate tail, a common shape for a
 * web service; a scenario sets `latencyP99Ms` for its own.
 */
export const DEFAULT_P99_TO_MEAN = 3;

/** How a version behaves from some point on. The last matching entry wins. */
export interface BehaviourChange {
  /** Applies once the version has served traffic this many seconds. */
  afterSeconds?: number;
  /** Applies while the version receives at least this share of traffic (load-related regressions). */
  atTrafficPercentAtLeast?: number;
  errorRate?: number;
  latencyMs?: number;
  latencyP99Ms?: number;
}

/** How a version serves at some moment: error rate, mean and 99th-percentile response time. */
export interface Behaviour {
  errorRate: number;
  latencyMs: number;
  latencyP99Ms: number;
}

export interface VersionBehaviour {
  name: string;
  digest: string;
  errorRate: number;
  latencyMs: number;
  /** p99 response time; default DEFAULT_P99_TO_MEAN x latencyMs. */
  latencyP99Ms?: number;
  failsToStart: boolean;
  changes: BehaviourChange[];
  /**
   * The HTTP status the version answers on the test route: one for every path, or per path (an unlisted
   * path answers 404); undefined: 200 for every path.
   */
  httpStatus?: number | Record<string, number>;
}

/**
 * The scenario's versions, recognised by the image a task runs (`repo@sha256:...` or `repo:tag`). A version
 * is declared once for the world, but each listener rule (each service) that serves it is a deployment of its
 * own: its `after` changes count from that rule's first request, never from another service's.
 */
export class VersionCatalog {
  /** When each version first served through each listener rule (rule, then version name). */
  private readonly firstTrafficAt = new Map<string, Map<string, number>>();
  /** Indexed: traffic looks a version up per target group per minute, for every service of the world. */
  private readonly byDigest = new Map<string, VersionBehaviour>();
  private readonly byTag = new Map<string, VersionBehaviour>();

  public constructor(public readonly versions: VersionBehaviour[]) {
    // The first declared wins, as a search in declaration order would find it.
    for (const version of [...versions].reverse()) {
      this.byDigest.set(version.digest, version);
      this.byTag.set(version.name, version);
    }
  }

  public byImage(image: string | undefined): VersionBehaviour | undefined {
    if (!image) return undefined;
    const at = image.indexOf('@');
    if (at >= 0) return this.byDigest.get(image.slice(at + 1));
    return this.byTag.get(image.slice(image.lastIndexOf(':') + 1));
  }

  public byName(name: string): VersionBehaviour | undefined {
    return this.byTag.get(name);
  }

  public failsToStart(image: string): boolean {
    return this.byImage(image)?.failsToStart ?? false;
  }

  /** Notes that the version served through this listener rule at `at` (the first time counts). */
  public noteTraffic(version: VersionBehaviour, at: number, ruleArn = ''): void {
    let firsts = this.firstTrafficAt.get(ruleArn);
    if (!firsts) {
      firsts = new Map();
      this.firstTrafficAt.set(ruleArn, firsts);
    }
    if (!firsts.has(version.name)) firsts.set(version.name, at);
  }

  /**
   * Error rate and response times of a version at `at`, while it receives `percent` of the traffic of the
   * listener rule `ruleArn` (its `after` changes count from that rule's first request). A change that sets
   * `latencyMs` without `latencyP99Ms` keeps the tail's shape (the p99/mean ratio in effect); one that sets
   * only `latencyP99Ms` changes the tail alone.
   */
  public behaviourAt(version: VersionBehaviour, at: number, percent: number, ruleArn = ''): Behaviour {
    const since = this.firstTrafficAt.get(ruleArn)?.get(version.name) ?? at;
    let { errorRate, latencyMs } = version;
    let latencyP99Ms = version.latencyP99Ms ?? latencyMs * DEFAULT_P99_TO_MEAN;
    for (const change of version.changes) {
      const timeOk = change.afterSeconds === undefined || at - since >= change.afterSeconds * 1000;
      const loadOk =
        change.atTrafficPercentAtLeast === undefined || percent >= change.atTrafficPercentAtLeast;
      if (timeOk && loadOk) {
        errorRate = change.errorRate ?? errorRate;
        if (change.latencyMs !== undefined) {
          const ratio = latencyMs > 0 ? latencyP99Ms / latencyMs : DEFAULT_P99_TO_MEAN;
          latencyMs = change.latencyMs;
          latencyP99Ms = change.latencyP99Ms ?? latencyMs * ratio;
        } else if (change.latencyP99Ms !== undefined) latencyP99Ms = change.latencyP99Ms;
      }
    }
    return { errorRate, latencyMs, latencyP99Ms };
  }

  /** The behaviour a version is declared with, before any change. */
  public baseBehaviour(version: VersionBehaviour): Behaviour {
    return {
      errorRate: version.errorRate,
      latencyMs: version.latencyMs,
      latencyP99Ms: version.latencyP99Ms ?? version.latencyMs * DEFAULT_P99_TO_MEAN,
    };
  }
}

/** Requests one version served through one listener rule while behaving one way, and when it first did. */
export interface ServedRequests {
  version: string;
  /** The production listener rule (the service) the requests came through. */
  listenerRuleArn: string;
  behaviour: Behaviour;
  requests: number;
  firstAt: number;
}

interface Bucket {
  requests: number;
  errors: number;
  /** Requests the load balancer answered itself (503: the target group had no running task). */
  elbErrors: number;
  latencyMsTotal: number;
  maxLatencyMs: number;
  /**
   * Response times (seconds) of every request served in the minute, every version mixed; undefined until
   * a version served. While `latencyShared`, it is a histogram other minutes share (see `scaled`): it is
   * copied before anything is added to it.
   */
  latency: Histogram | undefined;
  latencyShared: boolean;
}

const MINUTE = 60_000;

const NAMESPACE = 'AWS/ApplicationELB';
/** The load balancer metrics the simulated ALB publishes (per target group and per load balancer). */
export const ALB_METRICS = [
  'RequestCount',
  'TargetResponseTime',
  'HTTPCode_Target_5XX_Count',
  'HTTPCode_ELB_5XX_Count',
] as const;
type MetricName = (typeof ALB_METRICS)[number];
type Dimensions = Array<{ Name: string; Value: string }>;

/** The dimensions and series keys of a target group's metrics, and of its load balancer's. */
interface PublishedSeries {
  loadBalancer: string;
  perGroup: Dimensions;
  lb: Dimensions;
  perGroupKeys: Record<MetricName, string>;
  lbKeys: Record<MetricName, string>;
}

/** The load balancer a listener rule belongs to, as ALB metrics name it (`app/<name>/<id>`). */
export const loadBalancerDimensionOf = (listenerRuleArn: string): string | undefined =>
  /listener-rule\/(app\/[^/]+\/[^/]+)\//.exec(listenerRuleArn)?.[1];

/** What the traffic model reads from the world: routing (ELBv2, ECS), versions, and where metrics go. */
export interface TrafficContext {
  readonly clock: VirtualClock;
  readonly versions: VersionCatalog;
  readonly elbv2: Pick<SimulatedElbv2, 'rules' | 'weightsOf' | 'testRules'>;
  readonly ecs: Pick<SimulatedEcs, 'services' | 'servingShares'>;
  readonly cloudwatch: Pick<SimulatedCloudWatch, 'putDatapoint' | 'timing'>;
  /** For listener rules whose ARN names no load balancer. */
  readonly loadBalancerDimension: string;
}

/**
 * Requests flow through the listener rule by weight to each target group, and are served by the
 * version the group's ECS service runs (5xx when it runs no task). Traffic is integrated exactly between
 * changes; ALB publishes one datapoint per target group per minute, only for non-zero counts.
 */
export class TrafficModel {
  private last: number;
  /** Each minute's buckets (by its start) per target group, in the order the groups first served in it. */
  private readonly buckets = new Map<number, Map<string, Bucket>>();
  /**
   * The last histogram built per distribution: `weight` requests of it, added to an empty minute. A steady
   * minute (same version, same load) serves exactly the same requests as the minute before, so it shares
   * that histogram instead of building its own; a shared histogram is never changed.
   */
  private readonly scaledDistributions = new WeakMap<Histogram, { weight: number; histogram: Histogram }>();
  /** What each version served last through each rule (a steady minute adds to it without building its key). */
  private readonly lastServed = new Map<string, Map<string, ServedRequests>>();
  /** Each listener rule's load balancer dimension (parsed from its ARN once). */
  private readonly loadBalancerOfRule = new Map<string, string>();
  /** The dimensions and series keys each published series uses, built once per target group. */
  private readonly seriesOf = new Map<string, PublishedSeries>();
  /** Requests per minute through each listener rule (each service's own load); others use the default. */
  private readonly ruleRequestsPerMinute = new Map<string, number>();
  /** Routing indexes: one lookup per target group per step, not a scan over every service. */
  private readonly serviceByTargetGroup = new Map<string, SimulatedService>();
  private indexedServices = -1;
  private readonly loadBalancerByTargetGroup = new Map<string, string>();
  /**
   * Requests served per listener rule per version per behaviour, in the order each first served: one service's
   * exposure never counts another's requests to the same image.
   */
  public readonly served = new Map<string, ServedRequests>();
  /**
   * Each listener rule is integrated up to its own instant: a change to one service's routing integrates
   * that service's rule only, not every rule of a fleet (whose traffic is linear in time until it changes).
   */
  private readonly ruleLast = new Map<string, number>();
  private readonly rulesByTargetGroup = new Map<string, Set<string>>();
  private readonly targetGroupsOfRule = new Map<string, string[]>();
  /** Rules whose targets may have changed since they were indexed (re-read on the next lookup). */
  private readonly unindexed = new Set<string>();
  /** Per version shares and minutes for a picture of the run (`shipline simulate --report`); off by default. */
  public series: TrafficSeries | undefined;

  public constructor(
    private readonly world: TrafficContext,
    private readonly requestsPerMinute: number,
  ) {
    this.last = world.clock.nowMillis;
  }

  /** Sets the load of one listener rule (one service's requests per minute). */
  public setRequestsPerMinute(listenerRuleArn: string, requestsPerMinute: number): void {
    this.ruleRequestsPerMinute.set(listenerRuleArn, requestsPerMinute);
  }

  /** The ECS service behind a target group (services are created with the world, so the index is rebuilt rarely). */
  private serviceBehind(targetGroupArn: string): SimulatedService | undefined {
    if (this.indexedServices !== this.world.ecs.services.size) {
      this.serviceByTargetGroup.clear();
      for (const service of this.world.ecs.services.values())
        if (!this.serviceByTargetGroup.has(service.targetGroupArn))
          this.serviceByTargetGroup.set(service.targetGroupArn, service);
      this.indexedServices = this.world.ecs.services.size;
    }
    return this.serviceByTargetGroup.get(targetGroupArn);
  }

  /**
   * Integrates traffic up to now; call before anything that changes routing. `resource` (a listener rule
   * or target group ARN) says what is about to change: only the rules routing through it are integrated.
   */
  public accumulate(resource?: string): void {
    const now = this.world.clock.nowMillis;
    const rules = resource === undefined ? undefined : this.rulesThrough(resource);
    for (const ruleArn of rules ?? this.world.elbv2.rules.keys()) {
      let last = this.ruleLast.get(ruleArn) ?? this.last;
      while (last < now) {
        const minuteEnd = (Math.floor(last / MINUTE) + 1) * MINUTE;
        const until = Math.min(now, minuteEnd);
        this.integrate(last, until, [ruleArn]);
        last = until;
      }
      this.ruleLast.set(ruleArn, last);
    }
    // A rule about to be modified may forward elsewhere afterwards.
    if (resource !== undefined && this.world.elbv2.rules.has(resource)) this.unindexed.add(resource);
  }

  /** The rules forwarding to a target group (or the rule itself); undefined when unknown (then all are integrated). */
  private rulesThrough(resource: string): Iterable<string> | undefined {
    if (this.world.elbv2.rules.has(resource)) return [resource];
    if (this.targetGroupsOfRule.size !== this.world.elbv2.rules.size)
      for (const ruleArn of this.world.elbv2.rules.keys())
        if (!this.targetGroupsOfRule.has(ruleArn)) this.unindexed.add(ruleArn);
    for (const ruleArn of this.unindexed) {
      for (const targetGroupArn of this.targetGroupsOfRule.get(ruleArn) ?? [])
        this.rulesByTargetGroup.get(targetGroupArn)?.delete(ruleArn);
      const targetGroups = Object.keys(this.world.elbv2.weightsOf(ruleArn));
      this.targetGroupsOfRule.set(ruleArn, targetGroups);
      for (const targetGroupArn of targetGroups) {
        const rules = this.rulesByTargetGroup.get(targetGroupArn) ?? new Set<string>();
        rules.add(ruleArn);
        this.rulesByTargetGroup.set(targetGroupArn, rules);
      }
    }
    this.unindexed.clear();
    return this.rulesByTargetGroup.get(resource);
  }

  private integrate(from: number, to: number, rules: Iterable<string> = this.world.elbv2.rules.keys()): void {
    const minuteStart = Math.floor(from / MINUTE) * MINUTE;
    for (const ruleArn of rules) {
      // A test listener rule carries only the pipeline's checks (serveTestRequest), no production load.
      if (this.world.elbv2.testRules.has(ruleArn)) continue;
      const requestsTotal =
        ((this.ruleRequestsPerMinute.get(ruleArn) ?? this.requestsPerMinute) * (to - from)) / MINUTE;
      let loadBalancer = this.loadBalancerOfRule.get(ruleArn);
      if (loadBalancer === undefined) {
        loadBalancer = loadBalancerDimensionOf(ruleArn) ?? this.world.loadBalancerDimension;
        this.loadBalancerOfRule.set(ruleArn, loadBalancer);
      }
      const versionShares: Record<string, number> | undefined = this.series ? {} : undefined;
      for (const [targetGroupArn, percent] of Object.entries(this.world.elbv2.weightsOf(ruleArn))) {
        if (percent <= 0) continue;
        this.loadBalancerByTargetGroup.set(targetGroupArn, loadBalancer);
        const requests = (requestsTotal * percent) / 100;
        const service = this.serviceBehind(targetGroupArn);
        // A rolling update spreads the group's requests over the registered tasks of every version it runs.
        const shares = service ? this.world.ecs.servingShares(service) : [];
        let tasks = 0;
        const served: { version: VersionBehaviour; tasks: number }[] = [];
        for (const share of shares) {
          tasks += share.tasks;
          const version = this.world.versions.byImage(share.image);
          if (version !== undefined && share.tasks > 0) served.push({ version, tasks: share.tasks });
        }
        const bucket = this.bucketOf(targetGroupArn, minuteStart);
        if (served.length === 0 || tasks <= 0) {
          // No running task: ALB answers 503 itself. That is HTTPCode_ELB_5XX_Count, per load balancer only;
          // the target group publishes nothing, and RequestCount "is only incremented for requests where the
          // load balancer node was able to choose a target" (ALB User Guide, "CloudWatch metrics for your
          // Application Load Balancer"): not these.
          bucket.elbErrors += requests;
          continue;
        }
        for (const entry of served) {
          // One version serving (every service outside a rolling update): its requests exactly, no rounding.
          const part = served.length === 1 ? requests : (requests * entry.tasks) / tasks;
          this.serve(bucket, entry.version, part, from, to, percent, ruleArn);
          if (versionShares)
            versionShares[entry.version.name] =
              (versionShares[entry.version.name] ?? 0) +
              (served.length === 1 ? percent : (percent * entry.tasks) / tasks);
        }
      }
      if (versionShares) this.series?.share(ruleArn, from, versionShares);
    }
  }

  /** A target group's bucket of the minute starting at `minuteStart`, created empty on first use. */
  private bucketOf(targetGroupArn: string, minuteStart: number): Bucket {
    let minute = this.buckets.get(minuteStart);
    if (!minute) {
      minute = new Map();
      this.buckets.set(minuteStart, minute);
    }
    let bucket = minute.get(targetGroupArn);
    if (!bucket) {
      bucket = {
        requests: 0,
        errors: 0,
        elbErrors: 0,
        latencyMsTotal: 0,
        maxLatencyMs: 0,
        latency: undefined,
        latencyShared: false,
      };
      minute.set(targetGroupArn, bucket);
    }
    return bucket;
  }

  /** Adds `weight` requests of a latency distribution to a bucket's histogram (copying a shared one first). */
  private addLatency(bucket: Bucket, distribution: Histogram, weight: number): void {
    if (bucket.latency === undefined) {
      bucket.latency = this.scaled(distribution, weight);
      bucket.latencyShared = true;
      return;
    }
    if (bucket.latencyShared) {
      bucket.latency = Float64Array.from(bucket.latency);
      bucket.latencyShared = false;
    }
    addDistribution(bucket.latency, distribution, weight);
  }

  /** Production requests one version served: in its target group's minute, and as served (exposure). */
  private serve(
    bucket: Bucket,
    version: VersionBehaviour,
    requests: number,
    from: number,
    to: number,
    percent: number,
    ruleArn: string,
  ): void {
    this.world.versions.noteTraffic(version, from, ruleArn);
    const behaviour = this.world.versions.behaviourAt(version, from, percent, ruleArn);
    const { errorRate, latencyMs, latencyP99Ms } = behaviour;
    bucket.requests += requests;
    bucket.errors += requests * errorRate;
    bucket.latencyMsTotal += requests * latencyMs;
    bucket.maxLatencyMs = Math.max(bucket.maxLatencyMs, latencyMs);
    const distribution = logNormalDistribution(latencyMs / 1000, latencyP99Ms / 1000);
    this.addLatency(bucket, distribution, requests);
    this.series?.served(ruleArn, from, to, version.name, requests, errorRate, latencyMs, distribution);
    let servedOfRule = this.lastServed.get(ruleArn);
    if (!servedOfRule) {
      servedOfRule = new Map();
      this.lastServed.set(ruleArn, servedOfRule);
    }
    const lastServed = servedOfRule.get(version.name);
    if (
      lastServed &&
      lastServed.behaviour.errorRate === errorRate &&
      lastServed.behaviour.latencyMs === latencyMs &&
      lastServed.behaviour.latencyP99Ms === latencyP99Ms
    ) {
      lastServed.requests += requests;
      return;
    }
    const servedKey = `${ruleArn}|${version.name}|${errorRate}|${latencyMs}|${latencyP99Ms}`;
    let served = this.served.get(servedKey);
    if (served) served.requests += requests;
    else {
      served = { version: version.name, listenerRuleArn: ruleArn, behaviour, requests, firstAt: from };
      this.served.set(servedKey, served);
    }
    servedOfRule.set(version.name, served);
  }

  /**
   * One request through a test listener rule (an HTTP check), answered `status` after `latencyMs`. ALB's
   * metrics have no listener or rule dimension (ALB User Guide, "CloudWatch metrics for your Application
   * Load Balancer": LoadBalancer, TargetGroup, AvailabilityZone), so the request counts in the target group's
   * and the load balancer's RequestCount and, for a 5xx, HTTPCode_Target_5XX_Count, like any other; it is
   * never production traffic (`served`, the exposed requests).
   */
  public serveTestRequest(
    targetGroupArn: string,
    ruleArn: string,
    status: number,
    latencyMs: number,
    answeredBy: 'target' | 'load-balancer' = 'target',
  ): void {
    const now = this.world.clock.nowMillis;
    const minuteStart = Math.floor(now / MINUTE) * MINUTE;
    this.loadBalancerByTargetGroup.set(
      targetGroupArn,
      loadBalancerDimensionOf(ruleArn) ?? this.world.loadBalancerDimension,
    );
    const bucket = this.bucketOf(targetGroupArn, minuteStart);
    if (answeredBy === 'load-balancer') {
      bucket.elbErrors += 1;
      return;
    }
    bucket.requests += 1;
    if (status >= 500) bucket.errors += 1;
    bucket.latencyMsTotal += latencyMs;
    bucket.maxLatencyMs = Math.max(bucket.maxLatencyMs, latencyMs);
    this.addLatency(
      bucket,
      logNormalDistribution(latencyMs / 1000, (latencyMs * DEFAULT_P99_TO_MEAN) / 1000),
      1,
    );
  }

  /** `weight` requests of a distribution added to an empty histogram (the same numbers every time). */
  private scaled(distribution: Histogram, weight: number): Histogram {
    const last = this.scaledDistributions.get(distribution);
    if (last && Object.is(last.weight, weight)) return last.histogram;
    const histogram = emptyHistogram();
    addDistribution(histogram, distribution, weight);
    this.scaledDistributions.set(distribution, { weight, histogram });
    return histogram;
  }

  /**
   * The last extremes read from each histogram, by identity (a steady minute serves the same shared one to
   * the same number of requests): a 72-hour bake reads them once, not 4,320 times per target group.
   */
  private readonly extremes = new WeakMap<Histogram, { n: number; slowest: number; fastest: number }>();

  /** A minute's slowest and fastest expected requests (TargetResponseTime Maximum and Minimum). */
  private extremesOf(bucket: Bucket): { slowest: number; fastest: number } {
    const n = bucket.requests;
    const histogram = bucket.latency;
    if (histogram === undefined || !(n > 0)) return { slowest: bucket.maxLatencyMs / 1000, fastest: 0 };
    // Only a shared histogram is never added to again (addLatency copies it first), so only it is kept.
    const known = bucket.latencyShared ? this.extremes.get(histogram) : undefined;
    if (known && Object.is(known.n, n)) return known;
    const read = {
      n,
      slowest: percentileOf(histogram, (100 * n) / (n + 1)) ?? 0,
      fastest: percentileOf(histogram, 100 / (n + 1)) ?? 0,
    };
    if (bucket.latencyShared) this.extremes.set(histogram, read);
    return read;
  }

  /** The series a target group's minute goes to: per target group, and for its whole load balancer. */
  private publishedSeries(targetGroupArn: string, loadBalancer: string): PublishedSeries {
    const known = this.seriesOf.get(targetGroupArn);
    if (known && known.loadBalancer === loadBalancer) return known;
    const targetGroup = targetGroupArn.slice(targetGroupArn.indexOf('targetgroup/'));
    const perGroup = [
      { Name: 'LoadBalancer', Value: loadBalancer },
      { Name: 'TargetGroup', Value: targetGroup },
    ];
    const lb = [{ Name: 'LoadBalancer', Value: loadBalancer }];
    const keys = (dims: Dimensions) =>
      Object.fromEntries(ALB_METRICS.map((name) => [name, metricKey(NAMESPACE, name, dims)])) as Record<
        MetricName,
        string
      >;
    const series = { loadBalancer, perGroup, lb, perGroupKeys: keys(perGroup), lbKeys: keys(lb) };
    this.seriesOf.set(targetGroupArn, series);
    return series;
  }

  /** Publishes the datapoints of the minute that ended at `minuteEnd`. */
  public publishMinute(minuteEnd: number): void {
    this.accumulate();
    const minuteStart = minuteEnd - MINUTE;
    const minute = this.buckets.get(minuteStart);
    if (!minute) return;
    this.buckets.delete(minuteStart);
    // The minute's datapoints reach CloudWatch's alarm evaluation only after the ingestion delay.
    const visibleAt = minuteEnd + this.world.cloudwatch.timing.metricDelaySeconds * 1000;
    const put = (
      name: MetricName,
      dims: Dimensions,
      key: string,
      sum: number,
      count: number,
      max: number,
      histogram?: Histogram,
      min = 0,
    ) =>
      this.world.cloudwatch.putDatapoint(
        NAMESPACE,
        name,
        dims,
        { at: minuteStart, sum, count, min, max, visibleAt, histogram },
        key,
      );
    for (const [targetGroupArn, bucket] of minute) {
      const loadBalancer =
        this.loadBalancerByTargetGroup.get(targetGroupArn) ?? this.world.loadBalancerDimension;
      const series = this.publishedSeries(targetGroupArn, loadBalancer);
      const requests = Math.round(bucket.requests);
      const errors = Math.round(bucket.errors);
      const elbErrors = Math.round(bucket.elbErrors);
      // TargetResponseTime's Maximum and Minimum are the minute's slowest and fastest requests (ALB User
      // Guide, "CloudWatch metrics for your Application Load Balancer": the statistics of the time elapsed
      // per request), not a version's mean: the expected extremes of n requests drawn from the minute's
      // distribution, its n/(n+1) and 1/(n+1) quantiles (the expected CDF of the largest and smallest of n).
      const { slowest, fastest } = this.extremesOf(bucket);
      // ALB publishes each target-group series, and the same series for the whole load balancer.
      for (const [dims, keys] of [
        [series.perGroup, series.perGroupKeys],
        [series.lb, series.lbKeys],
      ] as const) {
        if (requests > 0) {
          put('RequestCount', dims, keys.RequestCount, requests, 1, requests);
          put(
            'TargetResponseTime',
            dims,
            keys.TargetResponseTime,
            bucket.latencyMsTotal / 1000,
            bucket.requests,
            slowest,
            bucket.latency ?? emptyHistogram(),
            fastest,
          );
        }
        if (errors > 0)
          put('HTTPCode_Target_5XX_Count', dims, keys.HTTPCode_Target_5XX_Count, errors, 1, errors);
      }
      if (elbErrors > 0) {
        put(
          'HTTPCode_ELB_5XX_Count',
          series.lb,
          series.lbKeys.HTTPCode_ELB_5XX_Count,
          elbErrors,
          1,
          elbErrors,
        );
      }
    }
  }
}
