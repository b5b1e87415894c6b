import '../../sandbox/polyfills.ts';
import { describe, expect, it } from 'vitest';
import { DeliveryFaults, deliveryRuleProblems } from '../../sandbox/aws/delivery.ts';
import {
  circuitBreakerThreshold,
  DEFAULT_TIMING,
  taskHealthySeconds,
  taskUnhealthySeconds,
} from '../../sandbox/aws/timing.ts';
import { type VersionBehaviour, VersionCatalog } from '../../sandbox/aws/traffic.ts';
import { SimulatedWorld } from '../../sandbox/aws/world.ts';
import { ExecutionEnvironments, LambdaRuntime } from '../../sandbox/lambda-runtime.ts';
import { VirtualClock } from '../../sandbox/virtual-clock.ts';

const START = Date.parse('2026-11-22T10:00:00Z');
const GOOD = `sha256:${'a'.repeat(64)}`;
const BAD = `sha256:${'b'.repeat(64)}`;

const version = (name: string, digest: string, failsToStart: boolean): VersionBehaviour => ({
  name,
  digest,
  errorRate: 0,
  latencyMs: 50,
  failsToStart,
  changes: [],
});

/** A world with one ECS service `svc` running `desiredCount` tasks of v1; v2 starts, v3 never does. */
const ecsWorld = (desiredCount: number) => {
  const clock = new VirtualClock(new Date(START));
  const world = new SimulatedWorld({
    clock,
    lambda: new LambdaRuntime([]),
    region: 'us-east-1',
    account: '123456789012',
    versions: new VersionCatalog([
      version('v1', `sha256:${'c'.repeat(64)}`, false),
      version('v2', GOOD, false),
      version('v3', BAD, true),
    ]),
    requestsPerMinute: 0,
    loadBalancerDimension: 'app/lb/1',
  });
  const definition = (image: string) =>
    world.ecs.registerTaskDefinition({
      family: 'svc',
      containerDefinitions: [{ name: 'app', image: `repo@${image}` }],
    }).taskDefinitionArn;
  const v1 = definition(`sha256:${'c'.repeat(64)}`);
  world.ecs.createService('main', 'svc', v1, desiredCount, 'arn:tg', 'app');
  const events: Array<{ at: number; name: string }> = [];
  const emit = world.emitEvent.bind(world);
  world.emitEvent = (source, detailType, resources, detail) => {
    events.push({ at: (clock.nowMillis - START) / 1000, name: String(detail.eventName) });
    return emit(source, detailType, resources, detail);
  };
  const deploy = (image: string) =>
    world.ecs.handle('UpdateService', { cluster: 'main', service: 'svc', taskDefinition: definition(image) });
  const service = () => world.ecs.services.get('main/svc');
  return { clock, world, deploy, service, events };
};

describe('Sandbox timing: documented defaults', () => {
  it('makes a new task healthy after its start and one passing health check (the former 90 s)', () => {
    expect(taskHealthySeconds(DEFAULT_TIMING)).toBe(90);
    expect(taskHealthySeconds({ ...DEFAULT_TIMING, ecsTaskHealthySeconds: 45 })).toBe(45);
    // One failed check when a healthy task would pass, then UnhealthyThresholdCount - 1 more.
    expect(taskUnhealthySeconds(DEFAULT_TIMING)).toBe(120);
  });

  it('computes the circuit breaker threshold as half the desired count, at least 3 and at most 200', () => {
    expect([1, 4, 6, 7, 10, 400, 1000].map(circuitBreakerThreshold)).toEqual([3, 3, 3, 4, 5, 200, 200]);
    // The Developer Guide's own examples: 25 -> 13 (rounded up), 800 -> 200; 3 and 100 on either side.
    expect([3, 25, 100, 399, 401, 800].map(circuitBreakerThreshold)).toEqual([3, 13, 50, 200, 200, 200]);
  });
});

describe('Sandbox timing: Lambda execution environments', () => {
  it('pays init on a first and a concurrent invocation, reuses an idle environment, and reclaims an old one', async () => {
    const clock = new VirtualClock(new Date(START));
    const environments = new ExecutionEnvironments(clock, DEFAULT_TIMING);
    const started: Array<[number, number]> = [];
    const invoke = (at: number, holdMs: number) =>
      clock.schedule(START + at, () => {
        void clock.track(async () => {
          const { release } = await environments.enter('fn');
          started.push([at, clock.nowMillis - START - at]);
          // The handler's own work (its AWS calls) keeps the environment busy.
          await clock.block<void>((resolve) => clock.schedule(clock.nowMillis + holdMs, resolve));
          release();
        });
      });
    invoke(0, 1000);
    invoke(0, 1000); // concurrent with the first: a second environment, cold too
    invoke(60_000, 1000); // both idle for a minute: warm
    // The one used at 60 s (free at 61.005 s) idle for 5 minutes, the other one longer: both reclaimed.
    invoke(61_005 + 300_000, 0);
    await clock.run(() => false, START + 3_600_000);
    expect(started).toEqual([
      [0, 405],
      [0, 405],
      [60_000, 5],
      [361_005, 405],
    ]);
    expect({ cold: environments.coldStarts, warm: environments.warmStarts }).toEqual({ cold: 3, warm: 1 });
  });
});

describe('Sandbox timing: ECS deployments', () => {
  it('replaces running tasks: new tasks healthy, old ones drain for the deregistration delay, then steady', async () => {
    const { clock, world, deploy, service, events } = ecsWorld(2);
    deploy(GOOD);
    await clock.run(() => false, START + 60_000 * 30);
    expect(events).toEqual([
      { at: 0, name: 'SERVICE_DEPLOYMENT_IN_PROGRESS' },
      { at: 90 + 300, name: 'SERVICE_DEPLOYMENT_COMPLETED' },
    ]);
    expect(
      world.timeline.filter((e) => e.kind === 'ecs').map((e) => [(e.at - START) / 1000, e.text]),
    ).toEqual([
      [0, 'svc: deployment ecs-svc/1001 started (2 tasks)'],
      [90, 'svc: 2 new tasks healthy; 2 old tasks draining for 300s'],
      [390, 'svc: deployment ecs-svc/1001 completed, 2 tasks steady'],
    ]);
    const svc = service();
    expect(svc && world.ecs.servingImage(svc)).toBe(`repo@${GOOD}`);
    expect(svc?.deployments.map((d) => d.rolloutState)).toEqual(['COMPLETED']);
  });

  it('serves the new tasks as soon as they are healthy, while the old ones still drain', async () => {
    const { clock, world, deploy, service } = ecsWorld(2);
    deploy(GOOD);
    await clock.run(() => clock.nowMillis >= START + 90_000, START + 100_000);
    const svc = service();
    expect(svc && world.ecs.servingImage(svc)).toBe(`repo@${GOOD}`);
    expect(svc?.deployments.map((d) => d.rolloutState)).toEqual(['IN_PROGRESS', 'COMPLETED']);
    expect(svc?.runningCount).toBe(4);
  });

  it.each([
    // desired 1: threshold 3, one failed task per wave of 120 s -> three waves
    [1, 360, 'FAILED (tasks failed to start: 3 failed tasks reached the circuit breaker threshold of 3)'],
    // desired 4: threshold 3, the first wave's 4 failures reach it
    [4, 120, 'FAILED (tasks failed to start: 3 failed tasks reached the circuit breaker threshold of 3)'],
    // desired 10: threshold 5, the first wave reaches it
    [10, 120, 'FAILED (tasks failed to start: 5 failed tasks reached the circuit breaker threshold of 5)'],
  ])('trips the circuit breaker for %i desired tasks after %i s, when the failed tasks reach the threshold', async (desired, seconds, text) => {
    const { clock, world, deploy, service, events } = ecsWorld(desired);
    deploy(BAD);
    await clock.run(() => false, START + 60_000 * 30);
    expect(events.at(-1)).toEqual({ at: seconds, name: 'SERVICE_DEPLOYMENT_FAILED' });
    expect(world.timeline.at(-1)?.text).toBe(`svc: deployment ecs-svc/1001 ${text}`);
    // The old tasks keep serving.
    const svc = service();
    expect(svc && world.ecs.servingImage(svc)).toBe(`repo@sha256:${'c'.repeat(64)}`);
  });
});

describe('Sandbox timing: ECS deployments of no task', () => {
  it('completes a deployment of 0 desired tasks even of an image that never starts: nothing launches, nothing fails', async () => {
    const { clock, deploy, events } = ecsWorld(0);
    deploy(BAD);
    await clock.run(() => false, START + 60_000 * 30);
    expect(events.map((e) => e.name)).toEqual([
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
      'SERVICE_DEPLOYMENT_COMPLETED',
    ]);
  });
});

describe('Sandbox delivery faults', () => {
  const event = (state: string) => ({
    'detail-type': 'CloudWatch Alarm State Change',
    detail: { alarmName: 'a', state: { value: state } },
  });

  it('applies a rule to the next `times` matching events only, to its function only', () => {
    const faults = new DeliveryFaults();
    faults.add({
      detailType: 'CloudWatch Alarm State Change',
      fn: 'alarmEvents',
      match: { detail: { state: { value: ['ALARM'] } } },
      delayMs: 120_000,
      duplicates: 1,
      drop: false,
      remaining: 1,
    });
    expect(faults.plan(event('OK'), ['alarmEvents']).size).toBe(0);
    const first = faults.plan(event('ALARM'), ['alarmEvents', 'other']);
    expect(faults.planFor(first, 'alarmEvents')).toEqual({ drop: false, delayMs: 120_000, duplicates: 1 });
    expect(faults.planFor(first, 'other')).toEqual({ drop: false, delayMs: 0, duplicates: 0 });
    expect(faults.plan(event('ALARM'), ['alarmEvents']).size).toBe(0);
  });

  it('names the path of a rule whose function is not deployed', () => {
    expect(deliveryRuleProblems([{}, { fn: 'alarmEvent' }], ['alarmEvents', 'trigger'])).toEqual([
      'world.delivery[1].fn: no function "alarmEvent" is deployed (serverless.yml declares alarmEvents, trigger)',
    ]);
  });
});
