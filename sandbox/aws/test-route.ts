import type { SimulatedEcs } from './ecs.ts';
import type { SimulatedElbv2 } from './elbv2.ts';
import type { AwsServiceContext } from './services.ts';
import type { Timing } from './timing.ts';
import type { VersionCatalog } from './traffic.ts';

/** The test route of one service: a test listener rule, reached at one host (the host of `target.testUrl`). */
export interface TestRoute {
  service: string;
  ruleArn: string;
  host: string;
}

/** What answered one request: the version (undefined when the load balancer answered itself) and the status. */
export interface RouteAnswer {
  version?: string;
  targetGroupArn?: string;
  status: number;
}

/** What the test routes read from the world: routing (ELBv2, ECS), versions, and the metric side. */
export interface TestRouteContext extends AwsServiceContext {
  readonly timing: Timing;
  readonly versions: VersionCatalog;
  readonly elbv2: Pick<SimulatedElbv2, 'rules' | 'weightsOf'>;
  readonly ecs: Pick<SimulatedEcs, 'services' | 'servingShares'>;
  readonly traffic: {
    serveTestRequest(
      targetGroupArn: string,
      ruleArn: string,
      status: number,
      latencyMs: number,
      answeredBy?: 'target' | 'load-balancer',
    ): void;
  };
}

/**
 * The hosts the world's DNS resolves, each to a service's test listener rule. A request through a test rule
 * is served as ALB serves one: the rule's target groups by weight, then one registered healthy task of the
 * group (tasks of several versions during a rolling update, by count); the version answers the status the
 * scenario gives it for the path (`versions.<v>.httpStatus`, default 200); a group with no running task is
 * answered 503 by the load balancer itself.
 */
export class SimulatedTestRoutes {
  private readonly byHost = new Map<string, TestRoute>();
  private readonly byService = new Map<string, TestRoute>();

  public constructor(private readonly world: TestRouteContext) {}

  /** Declares a service's test route: `host` resolves, and requests to it go through `ruleArn`. */
  public add(route: TestRoute): void {
    this.byHost.set(route.host.toLowerCase(), route);
    this.byService.set(route.service, route);
  }

  public ofHost(host: string): TestRoute | undefined {
    return this.byHost.get(host.toLowerCase());
  }

  public ofService(service: string): TestRoute | undefined {
    return this.byService.get(service);
  }

  /** Picks one entry by weight, as a load balancer spreads requests (the run's seeded source). */
  private pick<T>(entries: Array<[T, number]>): T | undefined {
    const positive = entries.filter(([, weight]) => weight > 0);
    const total = positive.reduce((sum, [, weight]) => sum + weight, 0);
    if (total <= 0) return undefined;
    let draw = this.world.random.next() * total;
    for (const [value, weight] of positive) {
      draw -= weight;
      if (draw < 0) return value;
    }
    return positive.at(-1)?.[0];
  }

  /** The version one request through a listener rule reaches (undefined: no running task behind it). */
  public versionThrough(ruleArn: string): { version?: string; targetGroupArn?: string } {
    const targetGroupArn = this.pick(Object.entries(this.world.elbv2.weightsOf(ruleArn)));
    if (!targetGroupArn) return {};
    const service = [...this.world.ecs.services.values()].find((s) => s.targetGroupArn === targetGroupArn);
    if (!service) return { targetGroupArn };
    const image = this.pick(
      this.world.ecs.servingShares(service).map((s) => [s.image, s.tasks] as [string, number]),
    );
    const version = this.world.versions.byImage(image)?.name;
    return { targetGroupArn, ...(version ? { version } : {}) };
  }

  /**
   * Serves one request for `path` through the route's listener rule. It counts in the target group's and the
   * load balancer's ALB metrics (RequestCount, HTTPCode_Target_5XX_Count: ALB publishes per load balancer and
   * per target group, never per rule), but never as production traffic (exposed requests).
   */
  public serve(route: TestRoute, path: string): RouteAnswer & { latencyMs: number } {
    const { version, targetGroupArn } = this.versionThrough(route.ruleArn);
    const behaviour = version ? this.world.versions.byName(version) : undefined;
    if (!targetGroupArn) return { status: 503, latencyMs: 0 };
    if (!behaviour) {
      // No running task behind the group: the load balancer answers 503 itself (HTTPCode_ELB_5XX_Count).
      this.world.traffic.serveTestRequest(targetGroupArn, route.ruleArn, 503, 0, 'load-balancer');
      return { targetGroupArn, status: 503, latencyMs: 0 };
    }
    const status = statusFor(behaviour.httpStatus, path);
    const latencyMs = this.world.versions.baseBehaviour(behaviour).latencyMs;
    this.world.traffic.serveTestRequest(targetGroupArn, route.ruleArn, status, latencyMs);
    return { version, targetGroupArn, status, latencyMs };
  }
}

/**
 * The status a version answers for a path: one status for every path, or per path (query ignored), where a
 * path the scenario does not list answers 404 as an application answers a route it does not serve.
 */
export const statusFor = (httpStatus: number | Record<string, number> | undefined, path: string): number => {
  if (httpStatus === undefined) return 200;
  if (typeof httpStatus === 'number') return httpStatus;
  const bare = path.split('?')[0] ?? path;
  return httpStatus[bare] ?? 404;
};
