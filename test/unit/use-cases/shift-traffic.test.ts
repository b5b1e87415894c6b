import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../../lib/clock.ts';
import type { ShiftStep } from '../../../lib/domain/types.ts';
import { routeOf, shiftTraffic } from '../../../lib/use-cases/shift-traffic.ts';
import { FakeTrafficRouter, InMemoryReleaseStore } from '../fakes.ts';
import { BLUE_TG, deploymentFixture, GREEN_TG, LISTENER_RULE_ARN, V2_RELEASE_ID } from '../fixtures.ts';

const deployment = deploymentFixture();
const [step5, , step100] = deployment.plan.steps as [ShiftStep, ShiftStep, ShiftStep];

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

  it("applies the step's weights and records the progress", async () => {
    const result = await shiftTraffic({ router, store }, deployment, step5);

    expect(result).toEqual({
      step: 1,
      percent: 5,
      weights: { blue: 95, green: 5 },
      last: false,
      shifts: [{ percent: 5, shiftedAt: '2025-03-04T10:02:00.000Z' }],
    });
    expect(router.splits).toEqual([{ stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 5 }]);
    expect(store.record(V2_RELEASE_ID)?.currentPercent).toBe(5);
  });

  it('flags the last step of the plan and appends its shift to the earlier ones', async () => {
    const earlier = [
      { percent: 5, shiftedAt: '2025-03-04T09:40:00.000Z' },
      { percent: 25, shiftedAt: '2025-03-04T09:50:00.000Z' },
    ];
    await expect(shiftTraffic({ router, store }, deployment, step100, earlier)).resolves.toEqual({
      step: 3,
      percent: 100,
      weights: { blue: 0, green: 100 },
      last: true,
      shifts: [...earlier, { percent: 100, shiftedAt: '2025-03-04T10:02:00.000Z' }],
    });
  });

  it('is idempotent', async () => {
    await shiftTraffic({ router, store }, deployment, step5);
    await shiftTraffic({ router, store }, deployment, step5);

    expect(router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 95, [GREEN_TG]: 5 });
  });
});

describe('Function: routeOf', () => {
  it('is the listener rule of the deployment', () => {
    expect(routeOf(deployment)).toEqual({ kind: 'alb-listener-rule', listenerRuleArn: LISTENER_RULE_ARN });
  });
});
