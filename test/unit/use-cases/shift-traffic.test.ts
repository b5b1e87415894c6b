import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../../lib/clock.ts';
import type { PlanStep } from '../../../lib/domain/plan.ts';
import { EcsAlbDriver } from '../../../lib/drivers/ecs-alb.ts';
import { moveTraffic, shiftTraffic } from '../../../lib/use-cases/shift-traffic.ts';
import { FakeTrafficRouter, InMemoryReleaseStore } from '../fakes.ts';
import {
  ALB_TARGET,
  BLUE_TG,
  cursorAt,
  deploymentFixture,
  GREEN_TG,
  LISTENER_RULE_ARN,
  ROLLOUT,
  V2_RELEASE_ID,
} from '../fixtures.ts';

const deployment = deploymentFixture();
const step5 = cursorAt(2);
const [, , , bake5, , , , bake100] = deployment.plan.steps;

describe('Function: shiftTraffic', () => {
  let router: FakeTrafficRouter;
  let store: InMemoryReleaseStore;
  let previousClock: Clock;

  afterEach(() => {
    useClock(previousClock);
  });

  beforeEach(async () => {
    previousClock = useClock({ now: () => new Date('2025-03-04T10:02:00.000Z') });
    router = new FakeTrafficRouter();
    store = new InMemoryReleaseStore();
    router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 100, [GREEN_TG]: 0 });
    await store.putRecord({
      service: 'checkout',
      releaseId: V2_RELEASE_ID,
      requestedAt: deployment.requestedAt,
      status: 'in_progress',
      currentPercent: 0,
    });
  });

  it("applies the step's weights, records the progress and returns the next step's cursor", async () => {
    const result = await shiftTraffic({ driver: new EcsAlbDriver({ router }), store }, deployment, step5);

    expect(result).toEqual({
      index: 3,
      step: bake5,
      rollout: ROLLOUT,
      shifts: [{ percent: 5, shiftedAt: '2025-03-04T10:02:00.000Z' }],
    });
    expect(router.splits).toEqual([{ stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 5 }]);
    expect(store.record(V2_RELEASE_ID)).toMatchObject({ currentPercent: 5, peakPercent: 5 });
  });

  it('appends its shift to the earlier ones', async () => {
    const earlier = [
      { percent: 5, shiftedAt: '2025-03-04T09:40:00.000Z' },
      { percent: 25, shiftedAt: '2025-03-04T09:50:00.000Z' },
    ];
    await expect(
      shiftTraffic(
        { driver: new EcsAlbDriver({ router }), store },
        deployment,
        cursorAt(6, { shifts: earlier }),
      ),
    ).resolves.toEqual({
      index: 7,
      step: bake100,
      rollout: ROLLOUT,
      shifts: [...earlier, { percent: 100, shiftedAt: '2025-03-04T10:02:00.000Z' }],
    });
    expect(router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 0, [GREEN_TG]: 100 });
  });

  it('refuses a cursor that points at another kind of step, changing nothing', async () => {
    await expect(
      shiftTraffic({ driver: new EcsAlbDriver({ router }), store }, deployment, cursorAt(3)),
    ).rejects.toThrow('step 3 is a bake step, not a shift step ("Bake 10m watching 2 alarms")');
    expect(router.splits).toEqual([]);
  });

  it('is idempotent', async () => {
    await shiftTraffic({ driver: new EcsAlbDriver({ router }), store }, deployment, step5);
    await shiftTraffic({ driver: new EcsAlbDriver({ router }), store }, deployment, step5);

    expect(router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 95, [GREEN_TG]: 5 });
  });
});

/** A blue/green plan (test route on, swap, bake, retire) on a service with a test listener rule. */
const TEST_RULE_ARN =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/test';
const BLUE_GREEN: PlanStep[] = [
  { kind: 'deploy', index: 0, label: 'Deploy the new version to green' },
  { kind: 'test-traffic', index: 1, label: 'Point the test route at green', on: true },
  { kind: 'swap', index: 2, label: 'Swap all traffic to green' },
  { kind: 'bake', index: 3, label: 'Bake 10m watching 2 alarms', seconds: 600, inconclusive: 'fail' },
  {
    kind: 'retire',
    index: 4,
    label: 'Promote green, watch the 15m rollback window, scale blue down after 15m',
    rollbackWindowSeconds: 900,
    warmAfterWindowSeconds: 0,
  },
];
const blueGreen = deploymentFixture({
  target: { ...ALB_TARGET, testListenerRuleArn: TEST_RULE_ARN },
  plan: { strategy: 'blue-green', steps: BLUE_GREEN, totalBakeSeconds: 600 },
});
const at = (index: number) => ({
  index,
  step: BLUE_GREEN[index] as PlanStep,
  shifts: [],
  rollout: ROLLOUT,
});

describe('Function: moveTraffic (blue/green steps)', () => {
  let router: FakeTrafficRouter;
  let store: InMemoryReleaseStore;
  let previousClock: Clock;

  afterEach(() => {
    useClock(previousClock);
  });

  beforeEach(async () => {
    previousClock = useClock({ now: () => new Date('2025-03-04T10:02:00.000Z') });
    router = new FakeTrafficRouter();
    store = new InMemoryReleaseStore();
    router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 100, [GREEN_TG]: 0 });
    router.rules.set(TEST_RULE_ARN, { [BLUE_TG]: 100, [GREEN_TG]: 0 });
    await store.putRecord({
      service: 'checkout',
      releaseId: V2_RELEASE_ID,
      requestedAt: deployment.requestedAt,
      status: 'in_progress',
      currentPercent: 0,
    });
  });

  it('points the test route at the new slot, leaving production traffic alone', async () => {
    const next = await moveTraffic({ driver: new EcsAlbDriver({ router }), store }, blueGreen, at(1));

    expect(router.rules.get(TEST_RULE_ARN)).toEqual({ [BLUE_TG]: 0, [GREEN_TG]: 100 });
    expect(router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 100, [GREEN_TG]: 0 });
    expect(next).toMatchObject({ index: 2, step: { kind: 'swap' }, shifts: [] });
  });

  it('swaps all production traffic to the new slot in one call and stamps it as a 100% shift', async () => {
    const next = await moveTraffic({ driver: new EcsAlbDriver({ router }), store }, blueGreen, at(2));

    expect(router.splits).toEqual([{ stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 100 }]);
    expect(store.record(V2_RELEASE_ID)).toMatchObject({ currentPercent: 100, peakPercent: 100 });
    expect(next).toMatchObject({
      index: 3,
      step: { kind: 'bake' },
      shifts: [{ percent: 100, shiftedAt: '2025-03-04T10:02:00.000Z' }],
    });
  });

  it('refuses a test-traffic step on a service without a test listener rule, naming the field', async () => {
    const noTestRule = deploymentFixture({ plan: blueGreen.plan });

    await expect(
      moveTraffic({ driver: new EcsAlbDriver({ router }), store }, noTestRule, at(1)),
    ).rejects.toThrow('a test-traffic step needs target.testListenerRuleArn, and the service declares none');
    expect(router.splits).toEqual([]);
  });
});
