import '../../sandbox/polyfills.ts';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { clientBase, customize } from '../../lib/adapters/aws-clients.ts';
import type { DeploymentConfiguration } from '../../sandbox/aws/ecs.ts';
import type { UserFunction } from '../../sandbox/aws/lambda-functions.ts';
import { type VersionBehaviour, VersionCatalog } from '../../sandbox/aws/traffic.ts';
import type { SimulatedWorld } from '../../sandbox/aws/world.ts';
import { runInWorld } from '../../sandbox/context.ts';
import { currentFunction } from '../../sandbox/iam/enforce.ts';
import { installSandboxClients } from '../../sandbox/intercept.ts';
import { seedFunctions, seedService, seedTestRoute } from '../../sandbox/run/seed-world.ts';
import { routeOf } from '../../sandbox/run/summarise.ts';
import type { ServicePlan } from '../../sandbox/run/validate.ts';
import { scenarioSchema } from '../../sandbox/scenario/schema.ts';
import type { VirtualClock } from '../../sandbox/virtual-clock.ts';
import { makeWorld, START } from './support.ts';

const ACCOUNT = '123456789012';
const LB = 'app/shop/1';
const RULE = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:listener-rule/${LB}/2/3`;
const TEST_RULE = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:listener-rule/${LB}/9/4`;
const BLUE = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/shop-blue/1`;
const GREEN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/shop-green/2`;
const digest = (c: string) => `sha256:${c.repeat(64)}`;

const version = (name: string, c: string, extra: Partial<VersionBehaviour> = {}): VersionBehaviour => ({
  name,
  digest: digest(c),
  errorRate: 0,
  latencyMs: 40,
  failsToStart: false,
  changes: [],
  ...extra,
});

const VERSIONS = () =>
  new VersionCatalog([
    version('v1', 'a'),
    version('v2', 'b', { httpStatus: { '/health': 200, '/ready': 503 } }),
    version('v3', 'c', { failsToStart: true }),
    version('v4', 'd', { errorRate: 0.5 }),
  ]);

/** Runs the world's clock to `at` (virtual ms): background timers (metric minutes) fire on the way. */
const advanceTo = async (clock: VirtualClock, at: number): Promise<void> => {
  clock.schedule(at, () => undefined);
  await clock.run(() => false, at);
};

const withClock = <T>(clock: VirtualClock, world: SimulatedWorld, work: () => Promise<T>): Promise<T> =>
  runInWorld({ world, clock, env: { AWS_REGION: 'us-east-1' } }, work);

/**
 * A blue/green service `shop`: blue runs v1 (production, 600 requests a minute), green runs v2 (2 tasks); a
 * test listener rule, declared as the config declares it, forwards to green at test.shop.example.com.
 */
const blueGreenWorld = () => {
  const { clock, world } = makeWorld({ versions: VERSIONS() });
  const definition = (c: string) =>
    world.ecs.registerTaskDefinition({
      family: 'shop',
      containerDefinitions: [{ name: 'app', image: `repo@${digest(c)}` }],
    }).taskDefinitionArn;
  world.ecs.createService('prod', 'shop-blue', definition('a'), 2, BLUE, 'app');
  world.ecs.createService('prod', 'shop-green', definition('b'), 2, GREEN, 'app');
  world.elbv2.targetGroups.set(BLUE, { name: 'blue' });
  world.elbv2.targetGroups.set(GREEN, { name: 'green' });
  world.elbv2.createRule(RULE, [
    { TargetGroupArn: BLUE, Weight: 100 },
    { TargetGroupArn: GREEN, Weight: 0 },
  ]);
  world.traffic.setRequestsPerMinute(RULE, 600);
  world.productionRules.set('shop', RULE);
  seedTestRoute(
    world,
    'shop',
    {
      testListenerRuleArn: TEST_RULE,
      testUrl: 'https://test.shop.example.com',
      slots: { blue: { targetGroupArn: BLUE }, green: { targetGroupArn: GREEN } },
    },
    { stableSlot: 'blue', testRoute: { forwardsTo: 'green' } },
  );
  return { clock, world };
};

/** Every ALB datapoint the world publishes, as CloudWatch receives it. */
const recordDatapoints = (world: SimulatedWorld) => {
  const points: Array<{ name: string; dims: string; at: number; sum: number }> = [];
  const put = world.cloudwatch.putDatapoint.bind(world.cloudwatch);
  world.cloudwatch.putDatapoint = (namespace, name, dimensions, datapoint) => {
    points.push({
      name,
      dims: dimensions.map((d) => d.Value).join('|'),
      at: datapoint.at,
      sum: datapoint.sum,
    });
    put(namespace, name, dimensions, datapoint);
  };
  /** The sum of one metric for one minute, per target group (or the load balancer's when `group` is absent). */
  return (name: string, minute: number, group?: string): number =>
    points
      .filter(
        (p) =>
          p.name === name &&
          p.at === START + minute * 60_000 &&
          p.dims === (group ? `${LB}|${group.slice(group.indexOf('targetgroup/'))}` : LB),
      )
      .reduce((sum, p) => sum + p.sum, 0);
};

/** Production requests served per version, integrated up to now. */
const served = (world: SimulatedWorld) => {
  world.traffic.accumulate();
  const byVersion: Record<string, number> = {};
  for (const entry of world.traffic.served.values())
    byVersion[entry.version] = Math.round((byVersion[entry.version] ?? 0) + entry.requests);
  return byVersion;
};

beforeAll(() => {
  installSandboxClients();
});

describe('Class: SimulatedElbv2, test listener rules', () => {
  const elbv2 = () => customize(new ElasticLoadBalancingV2Client(clientBase()), 'ElasticLoadBalancingV2');

  it('describes and modifies the test rule as any rule, with the same validation', async () => {
    const { clock, world } = blueGreenWorld();
    await withClock(clock, world, async () => {
      const client = elbv2();
      const described = await client.send(new DescribeRulesCommand({ RuleArns: [TEST_RULE] }));
      expect(described.Rules?.[0]).toMatchObject({
        RuleArn: TEST_RULE,
        Priority: '20',
        Conditions: [{ Field: 'host-header', Values: ['test.shop.example.com'] }],
        Actions: [
          { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: GREEN, Weight: 1 }] } },
        ],
      });
      await client.send(
        new ModifyRuleCommand({
          RuleArn: TEST_RULE,
          Actions: [
            { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: BLUE, Weight: 1 }] } },
          ],
        }),
      );
      expect(world.elbv2.weightsOf(TEST_RULE)).toEqual({ [BLUE]: 100 });
      await expect(
        client.send(
          new ModifyRuleCommand({
            RuleArn: TEST_RULE,
            Actions: [
              { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: GREEN, Weight: 1000 }] } },
            ],
          }),
        ),
      ).rejects.toMatchObject({ name: 'ValidationError' });
      await expect(
        client.send(
          new ModifyRuleCommand({
            RuleArn: TEST_RULE,
            Actions: [
              {
                Type: 'forward',
                ForwardConfig: { TargetGroups: [{ TargetGroupArn: `${GREEN}x`, Weight: 1 }] },
              },
            ],
          }),
        ),
      ).rejects.toMatchObject({ name: 'TargetGroupNotFoundException' });
    });
  });

  it('refuses a testRoute with no rule to route through (neither testRoute.ruleArn nor the config declares one)', () => {
    const { world } = makeWorld();
    expect(() =>
      seedTestRoute(
        world,
        'shop',
        { slots: { blue: { targetGroupArn: BLUE }, green: { targetGroupArn: GREEN } } },
        { stableSlot: 'blue', testRoute: { host: 'test.shop.example.com' } },
      ),
    ).toThrow('world.services.shop.testRoute: shop has no test listener rule');
  });

  it('gives the test rule no production load: the version behind it serves no production request', async () => {
    const { clock, world } = blueGreenWorld();
    const metric = recordDatapoints(world);
    world.startMinuteTicks();
    await advanceTo(clock, START + 5 * 60_000);
    expect(served(world)).toEqual({ v1: 3000 });
    expect(metric('RequestCount', 1, GREEN)).toBe(0);
    expect(metric('RequestCount', 1, BLUE)).toBe(600);
  });
});

describe('Sandbox fetch: the simulated HTTP test route', () => {
  it('answers a request through the test rule with the status the version behind it gives the path', async () => {
    const { clock, world } = blueGreenWorld();
    await withClock(clock, world, async () => {
      const health = await fetch('https://test.shop.example.com/health');
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ version: 'v2', path: '/health' });
      expect((await fetch('https://test.shop.example.com/ready?deep=1')).status).toBe(503);
      // A path the version does not serve.
      expect((await fetch('https://test.shop.example.com/admin')).status).toBe(404);
    });
    // Once the rule forwards to blue, v1 (no httpStatus: 200 everywhere) answers.
    world.elbv2.handle('ModifyRule', {
      RuleArn: TEST_RULE,
      Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: BLUE, Weight: 1 }] } }],
    });
    await withClock(clock, world, async () => {
      expect((await fetch('https://test.shop.example.com/ready')).status).toBe(200);
    });
  });

  it('fails a host the world does not resolve as undici does: TypeError fetch failed, cause ENOTFOUND', async () => {
    const { clock, world } = blueGreenWorld();
    await withClock(clock, world, async () => {
      const failure = await fetch('https://test.shop.exampel.com/health').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(TypeError);
      expect(failure).toMatchObject({
        message: 'fetch failed',
        cause: {
          code: 'ENOTFOUND',
          errno: -3008,
          syscall: 'getaddrinfo',
          hostname: 'test.shop.exampel.com',
          message: 'getaddrinfo ENOTFOUND test.shop.exampel.com',
        },
      });
    });
  });

  it("counts a check's request in the target group's and the load balancer's metrics, never as production traffic", async () => {
    const { clock, world } = blueGreenWorld();
    const metric = recordDatapoints(world);
    world.startMinuteTicks();
    clock.schedule(START + 30_000, () => {
      void withClock(clock, world, async () => {
        for (let i = 0; i < 3; i += 1) await fetch('https://test.shop.example.com/ready');
      });
    });
    await advanceTo(clock, START + 3 * 60_000);
    // ALB has no per-rule metric: the group that served them counts the 503s, and so does the load balancer.
    expect(metric('HTTPCode_Target_5XX_Count', 0, GREEN)).toBe(3);
    expect(metric('HTTPCode_Target_5XX_Count', 0)).toBe(3);
    expect(metric('RequestCount', 0, GREEN)).toBe(3);
    expect(served(world)).toEqual({ v1: 1800 });
  });

  it('answers 503 from the load balancer itself when no task runs behind the test rule', async () => {
    const { clock, world } = blueGreenWorld();
    const metric = recordDatapoints(world);
    world.ecs.handle('UpdateService', { cluster: 'prod', service: 'shop-green', desiredCount: 0 });
    world.startMinuteTicks();
    clock.schedule(START + 30_000, () => {
      void withClock(clock, world, async () => {
        const answer = await fetch('https://test.shop.example.com/health');
        expect([answer.status, answer.headers.get('server')]).toEqual([503, 'awselb/2.0']);
      });
    });
    await advanceTo(clock, START + 3 * 60_000);
    expect(metric('HTTPCode_ELB_5XX_Count', 0)).toBe(1);
    expect(metric('HTTPCode_Target_5XX_Count', 0, GREEN)).toBe(0);
    // RequestCount "is only incremented for requests where the load balancer node was able to choose a
    // target" (ALB User Guide, CloudWatch metrics): the load balancer's count is blue's production alone.
    expect(metric('RequestCount', 0, BLUE)).toBeGreaterThan(0);
    expect(metric('RequestCount', 0)).toBe(metric('RequestCount', 0, BLUE));
  });

  it('takes a round trip and the version response time in virtual time inside an invocation', async () => {
    const { clock, world } = blueGreenWorld();
    let tookMs = -1;
    void clock.track(() =>
      withClock(clock, world, () =>
        currentFunction.run('runCheck', async () => {
          const before = clock.nowMillis;
          await fetch('https://test.shop.example.com/health');
          tookMs = clock.nowMillis - before;
        }),
      ),
    );
    await clock.run(() => tookMs >= 0, START + 60_000);
    expect(tookMs).toBe(world.timing.apiCallMs + 40);
  });
});

describe('Class: SimulatedLambdaFunctions', () => {
  const smoke = (overrides: Partial<UserFunction> = {}): UserFunction => ({
    name: 'shop-smoke',
    service: 'shop',
    answers: { v2: { passed: false, reason: 'login answers 500' } },
    otherwise: { passed: true },
    durationMs: 800,
    timeoutSeconds: 3,
    ...overrides,
  });
  const invoke = async (world: SimulatedWorld, clock: VirtualClock, functionName: string) =>
    withClock(clock, world, async () => {
      const client = customize(new LambdaClient(clientBase()), 'Lambda');
      const output = await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          Payload: JSON.stringify({ release: { toVersion: 'v2' }, testUrl: 'https://test.shop.example.com' }),
        }),
      );
      return {
        StatusCode: output.StatusCode,
        FunctionError: output.FunctionError,
        payload: JSON.parse(output.Payload?.transformToString() ?? 'null') as unknown,
      };
    });

  it('answers as the scenario sets it for the version the test route reaches', async () => {
    const { clock, world } = blueGreenWorld();
    world.functions.functions.set('shop-smoke', smoke());
    expect(await invoke(world, clock, 'shop-smoke')).toEqual({
      StatusCode: 200,
      FunctionError: undefined,
      payload: { passed: false, reason: 'login answers 500' },
    });
    // The test route back on blue: v1 is not listed, the function passes.
    world.elbv2.handle('ModifyRule', {
      RuleArn: TEST_RULE,
      Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: BLUE, Weight: 1 }] } }],
    });
    expect(
      (await invoke(world, clock, `arn:aws:lambda:us-east-1:${ACCOUNT}:function:shop-smoke`)).payload,
    ).toEqual({ passed: true });
    expect(world.functions.invocations.map((i) => i.version)).toEqual(['v2', 'v1']);
  });

  it('refuses an undeclared function (or qualifier) with ResourceNotFoundException, as Lambda does', async () => {
    const { clock, world } = blueGreenWorld();
    world.functions.functions.set('shop-smoke', smoke());
    await expect(invoke(world, clock, 'shop-smoek')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: `Function not found: arn:aws:lambda:us-east-1:${ACCOUNT}:function:shop-smoek`,
    });
    await expect(invoke(world, clock, 'shop-smoke:live')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('answers a function error with 200, FunctionError Unhandled and the error as the payload', async () => {
    const { clock, world } = blueGreenWorld();
    world.functions.functions.set(
      'shop-smoke',
      smoke({
        error: { errorType: 'TypeError', errorMessage: "Cannot read properties of undefined (reading 'id')" },
      }),
    );
    expect(await invoke(world, clock, 'shop-smoke')).toEqual({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      payload: {
        errorType: 'TypeError',
        errorMessage: "Cannot read properties of undefined (reading 'id')",
        trace: [],
      },
    });
  });

  it('makes the caller wait the run time in virtual time, and times the function out at its own timeout', async () => {
    const { clock, world } = blueGreenWorld();
    world.functions.functions.set('shop-smoke', smoke({ durationMs: 2_500 }));
    world.functions.functions.set('slow-smoke', smoke({ name: 'slow-smoke', durationMs: 10_000 }));
    const results: Array<{ ms: number; error?: string; payload: unknown }> = [];
    void clock.track(() =>
      withClock(clock, world, () =>
        currentFunction.run('runCheck', async () => {
          for (const name of ['shop-smoke', 'slow-smoke']) {
            const before = clock.nowMillis;
            const client = customize(new LambdaClient(clientBase()), 'Lambda');
            const output = await client.send(new InvokeCommand({ FunctionName: name, Payload: '{}' }));
            results.push({
              ms: clock.nowMillis - before,
              ...(output.FunctionError ? { error: output.FunctionError } : {}),
              payload: JSON.parse(output.Payload?.transformToString() ?? 'null'),
            });
          }
        }),
      ),
    );
    await clock.run(() => results.length === 2, START + 60_000);
    expect(results[0]).toEqual({
      ms: world.timing.apiCallMs + 2_500,
      payload: { passed: false, reason: 'login answers 500' },
    });
    expect(results[1]).toMatchObject({
      ms: world.timing.apiCallMs + 3_000,
      error: 'Unhandled',
      payload: { errorType: 'Sandbox.Timedout' },
    });
  });

  it('seeds world.functions from the scenario, testing the scenario service by default', () => {
    const scenario = scenarioSchema.parse({
      name: 'x',
      world: {
        serving: 'v1',
        functions: { 'shop-smoke': { answers: { v2: { passed: false } }, durationMs: 100, timeout: '10s' } },
      },
      versions: { v1: { digest: digest('a') }, v2: { digest: digest('b'), httpStatus: 503 } },
      trigger: { push: { version: 'v2' } },
    });
    const { world } = makeWorld();
    seedFunctions(world, scenario, 'shop');
    expect(world.functions.functions.get('shop-smoke')).toEqual({
      name: 'shop-smoke',
      service: 'shop',
      answers: { v2: { passed: false } },
      otherwise: { passed: true },
      durationMs: 100,
      timeoutSeconds: 10,
    });
    expect(() =>
      scenarioSchema.parse({
        name: 'x',
        world: { serving: 'v1', functions: { f: { answer: {} } } },
        versions: { v1: { digest: digest('a'), httpStatus: { health: 200 } } },
        trigger: { push: { version: 'v1' } },
      }),
    ).toThrow(/answer|path starts with/);
  });
});

describe('Class: SimulatedEcs, rolling updates', () => {
  const TG = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/api/3`;
  const API_RULE = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:listener-rule/${LB}/5/6`;
  const rollingWorld = (desired: number, config: Partial<DeploymentConfiguration> = {}) => {
    const { clock, world } = makeWorld({ versions: VERSIONS(), ecsDeploySeconds: 60 });
    const definitions: Record<string, string> = {};
    for (const [name, c] of [
      ['v1', 'a'],
      ['v3', 'c'],
      ['v4', 'd'],
    ] as const)
      definitions[name] = world.ecs.registerTaskDefinition({
        family: 'api',
        containerDefinitions: [{ name: 'app', image: `repo@${digest(c)}` }],
      }).taskDefinitionArn;
    world.ecs.createService('prod', 'api', definitions.v1 ?? '', desired, TG, 'app', {
      rolling: true,
      deploymentConfiguration: {
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        ...config,
      },
    });
    world.elbv2.targetGroups.set(TG, { name: 'api' });
    world.elbv2.createRule(API_RULE, [{ TargetGroupArn: TG, Weight: 1 }]);
    world.traffic.setRequestsPerMinute(API_RULE, 600);
    const events: Array<{ at: number; name: string; reason: string }> = [];
    const emit = world.emitEvent.bind(world);
    world.emitEvent = (source, detailType, resources, detail) => {
      events.push({
        at: (clock.nowMillis - START) / 1000,
        name: String(detail.eventName),
        reason: String(detail.reason),
      });
      return emit(source, detailType, resources, detail);
    };
    const service = () => {
      const found = world.ecs.services.get('prod/api');
      if (!found) throw new Error('no service');
      return found;
    };
    const shares = () =>
      Object.fromEntries(
        world.ecs.servingShares(service()).map((s) => [world.versions.byImage(s.image)?.name, s.tasks]),
      );
    const update = (name: string, extra: Record<string, unknown> = {}) =>
      world.ecs.handle('UpdateService', {
        cluster: 'prod',
        service: 'api',
        taskDefinition: definitions[name],
        ...extra,
      });
    const at = (seconds: number) => advanceTo(clock, START + seconds * 1000);
    return { clock, world, events, service, shares, update, at, definitions };
  };

  it('replaces tasks in batches within minimumHealthyPercent and maximumPercent, splitting traffic by tasks', async () => {
    const { events, shares, update, at, world } = rollingWorld(4);
    // 4 tasks, at least 100% healthy, at most 150%: start 2 (healthy after 60 s), then stop 2 old (they drain
    // 300 s, still counting against the maximum), start the other 2 when they are gone.
    update('v4', {
      deploymentConfiguration: {
        minimumHealthyPercent: 100,
        maximumPercent: 150,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
    });
    expect(shares()).toEqual({ v1: 4 });
    await at(60);
    expect(shares()).toEqual({ v1: 2, v4: 2 });
    await at(400);
    expect(shares()).toEqual({ v1: 2, v4: 2 });
    await at(420);
    expect(shares()).toEqual({ v4: 4 });
    await at(720);
    expect(events.map((e) => [e.at, e.name])).toEqual([
      [0, 'SERVICE_DEPLOYMENT_IN_PROGRESS'],
      [720, 'SERVICE_DEPLOYMENT_COMPLETED'],
    ]);
    // The regressed version served production requests while it rolled out: half of them for 360 s, then all.
    expect(served(world).v4).toBe(1800 + 3000);
  });

  it('stops old tasks first when minimumHealthyPercent leaves room (50 / 100)', async () => {
    const { events, shares, update, at } = rollingWorld(4, {
      minimumHealthyPercent: 50,
      maximumPercent: 100,
    });
    update('v4');
    // 2 old tasks deregistered at once; new ones start only once they are stopped (300 s later).
    expect(shares()).toEqual({ v1: 2 });
    await at(359);
    expect(shares()).toEqual({ v1: 2 });
    await at(360);
    expect(shares()).toEqual({ v4: 2 });
    await at(720);
    expect(shares()).toEqual({ v4: 4 });
    expect(events.at(-1)).toMatchObject({ at: 720, name: 'SERVICE_DEPLOYMENT_COMPLETED' });
  });

  it('starts the whole new batch first with the defaults (100 / 200), then drains the old tasks', async () => {
    const { events, shares, update, at } = rollingWorld(4);
    update('v4');
    await at(60);
    expect(shares()).toEqual({ v4: 4 });
    await at(360);
    expect(events.at(-1)).toMatchObject({ at: 360, name: 'SERVICE_DEPLOYMENT_COMPLETED' });
  });

  it('trips the circuit breaker at the threshold and rolls back to the last completed deployment', async () => {
    const { events, service, shares, update, at, definitions } = rollingWorld(4);
    update('v3');
    await at(3_600);
    // 4 tasks fail their health checks after 90 s (start + 2 checks): 4 >= threshold 3.
    expect(events.map((e) => [e.at, e.name, e.reason])).toEqual([
      [0, 'SERVICE_DEPLOYMENT_IN_PROGRESS', 'ECS deployment ecs-svc/1001 in progress.'],
      [90, 'SERVICE_DEPLOYMENT_FAILED', 'ECS deployment circuit breaker: tasks failed to start.'],
      [
        90,
        'SERVICE_DEPLOYMENT_IN_PROGRESS',
        // The reason names the deployment rolled back to (ECS Developer Guide, "Amazon ECS deployment state
        // change events"): the completed ecs-svc/1000, not the failed ecs-svc/1001.
        'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1000.',
      ],
      [450, 'SERVICE_DEPLOYMENT_COMPLETED', 'ECS deployment ecs-svc/1002 completed.'],
    ]);
    expect(service().taskDefinition).toBe(definitions.v1);
    expect(service().deployments).toMatchObject([{ status: 'PRIMARY', rolloutState: 'COMPLETED' }]);
    expect(shares()).toEqual({ v1: 4 });
  });

  it('without rollback, fails the deployment and keeps what runs', async () => {
    const { events, service, shares, update, at } = rollingWorld(4, {
      deploymentCircuitBreaker: { enable: true, rollback: false },
    });
    update('v3');
    await at(3_600);
    expect(events.map((e) => e.name)).toEqual([
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
      'SERVICE_DEPLOYMENT_FAILED',
    ]);
    expect(service().deployments.map((d) => [d.status, d.rolloutState])).toEqual([
      ['PRIMARY', 'FAILED'],
      ['ACTIVE', 'COMPLETED'],
    ]);
    expect(shares()).toEqual({ v1: 4 });
  });

  it('rolls an UpdateService back to the previous task definition out over time too', async () => {
    const { events, shares, update, at } = rollingWorld(2);
    update('v4');
    await at(400);
    expect(shares()).toEqual({ v4: 2 });
    update('v1');
    expect(shares()).toEqual({ v4: 2 });
    await at(460);
    expect(shares()).toEqual({ v1: 2 });
    await at(800);
    expect(events.map((e) => [e.at, e.name])).toEqual([
      [0, 'SERVICE_DEPLOYMENT_IN_PROGRESS'],
      [360, 'SERVICE_DEPLOYMENT_COMPLETED'],
      [400, 'SERVICE_DEPLOYMENT_IN_PROGRESS'],
      [760, 'SERVICE_DEPLOYMENT_COMPLETED'],
    ]);
  });

  it('refuses a deployment configuration ECS refuses (InvalidParameterException)', () => {
    const { update } = rollingWorld(2);
    expect(() => update('v4', { deploymentConfiguration: { minimumHealthyPercent: 120 } })).toThrow(
      expect.objectContaining({ name: 'InvalidParameterException' }),
    );
    expect(() => update('v4', { deploymentConfiguration: { maximumPercent: 50 } })).toThrow(/maximumPercent/);
    expect(() =>
      update('v4', { deploymentConfiguration: { deploymentCircuitBreaker: { enable: true } } }),
    ).toThrow(/enable and rollback/);
  });
});

describe('Function: seedService, an ecs-rolling target', () => {
  const scenario = (alarms: unknown[] = []) =>
    scenarioSchema.parse({
      name: 'rolling',
      world: {
        serving: 'v1',
        desiredCount: 6,
        deploymentConfiguration: {
          minimumHealthyPercent: 50,
          circuitBreaker: { enable: true, rollback: true },
        },
        alarms,
      },
      versions: { v1: { digest: digest('a') }, v2: { digest: digest('b') } },
      trigger: { push: { version: 'v2' } },
    });
  const plan = (parsed: ReturnType<typeof scenario>): ServicePlan =>
    ({
      name: 'api',
      path: 'world',
      state: { ...parsed.world, serving: 'v1' },
      declared: {
        image: { repository: 'api' },
        alarms: ['api-5xx'],
        target: { type: 'ecs-rolling', cluster: 'prod', service: 'api', container: 'app' },
      },
    }) as unknown as ServicePlan;

  it('creates one rolling service behind its own target group, serving the version the scenario says', () => {
    const parsed = scenario([{ name: 'api-5xx', threshold: 5 }]);
    const { world } = makeWorld({ versions: VERSIONS() });
    seedService(world, plan(parsed), parsed, new Date(START));
    const service = world.ecs.services.get('prod/api');
    expect(service).toMatchObject({
      rolling: true,
      desiredCount: 6,
      deploymentConfiguration: {
        minimumHealthyPercent: 50,
        maximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
    });
    expect(world.versionReachedBy('api')).toBe('v1');
    expect(world.cloudwatch.alarms.get('api-5xx')?.Dimensions).toEqual([
      { Name: 'LoadBalancer', Value: 'app/api/0000000000000000' },
    ]);
  });

  it('summarises what serves a rolling service: traffic per version by tasks, the rollback as its next UpdateService', async () => {
    const parsed = scenario([{ name: 'api-5xx', threshold: 5 }]);
    const { clock, world } = makeWorld({ versions: VERSIONS() });
    seedService(world, plan(parsed), parsed, new Date(START));
    const v2 = world.ecs.registerTaskDefinition({
      family: 'api',
      containerDefinitions: [{ name: 'app', image: `repo@${digest('b')}` }],
    }).taskDefinitionArn;
    world.handle('ECS', 'UpdateService', {
      cluster: 'prod',
      service: 'api',
      taskDefinition: v2,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 150 },
    });
    await advanceTo(clock, START + 60_000);
    const route = routeOf(plan(parsed), world, world.versions);
    expect(route).toMatchObject({
      traffic: { 'api (v1)': 50, 'api (v2)': 50 },
      servingVersion: null,
      watched: ['api-5xx'],
    });
    expect(route.rollbackAfter(START + 30_000)).toBeUndefined();
    expect(route.rollbackAfter(START)).toBe(START);
  });

  it('refuses an alarm scoped to a slot: a rolling service has one target group', () => {
    const parsed = scenario([{ name: 'green-5xx', threshold: 5, targetGroup: 'green' }]);
    const { world } = makeWorld({ versions: VERSIONS() });
    expect(() => seedService(world, plan(parsed), parsed, new Date(START))).toThrow(
      'world.alarms[0].targetGroup: api is a rolling service with one target group; omit targetGroup green',
    );
  });
});
