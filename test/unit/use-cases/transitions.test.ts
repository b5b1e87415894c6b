import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../../lib/clock.ts';
import { EcsAlbDriver } from '../../../lib/drivers/ecs-alb.ts';
import { shiftTraffic } from '../../../lib/use-cases/shift-traffic.ts';
import { FakeReleaseEvents, FakeTrafficRouter, InMemoryReleaseStore } from '../fakes.ts';
import {
  BLUE_TG,
  cursorAt,
  deploymentFixture,
  GREEN_TG,
  LISTENER_RULE_ARN,
  V2_RELEASE_ID,
} from '../fixtures.ts';

const NOW = '2025-03-04T10:02:00.000Z';
const deployment = deploymentFixture();

describe('Use case: a transition is recorded and published', () => {
  let router: FakeTrafficRouter;
  let store: InMemoryReleaseStore;
  let events: FakeReleaseEvents;
  let previousClock: Clock;

  afterEach(() => {
    useClock(previousClock);
  });

  beforeEach(async () => {
    previousClock = useClock({ now: () => new Date(NOW) });
    router = new FakeTrafficRouter();
    router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 100, [GREEN_TG]: 0 });
    store = new InMemoryReleaseStore();
    events = new FakeReleaseEvents();
    await store.putRecord({
      service: 'checkout',
      releaseId: V2_RELEASE_ID,
      requestedAt: deployment.requestedAt,
      status: 'in_progress',
      currentPercent: 0,
    });
  });

  it('records the progress on the release record, in the update the step makes anyway, and publishes it', async () => {
    await shiftTraffic({ driver: new EcsAlbDriver({ router }), store, events }, deployment, cursorAt(2));

    const progress = {
      sequence: 10,
      step: 3,
      steps: 9,
      kind: 'shift',
      label: 'Shift 5% to green',
      state: 'shifting',
      newPercent: 5,
      stepStartedAt: NOW,
      updatedAt: NOW,
    };
    expect(store.record(V2_RELEASE_ID)).toMatchObject({ currentPercent: 5, progress });
    expect(events.published).toEqual([
      expect.objectContaining({
        version: 1,
        kind: 'step',
        service: 'checkout',
        releaseId: V2_RELEASE_ID,
        strategy: 'canary',
        text: '5% of production traffic now goes to v2',
        progress,
      }),
    ]);
  });

  it('goes on when the topic refuses the message: the loss is reported, the release is unchanged', async () => {
    events.failNext = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

    const next = await shiftTraffic(
      { driver: new EcsAlbDriver({ router }), store, events },
      deployment,
      cursorAt(2),
    );

    expect(next.index).toBe(3);
    expect(router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 95, [GREEN_TG]: 5 });
    expect(store.record(V2_RELEASE_ID)?.progress?.newPercent).toBe(5);
    expect(events.published).toEqual([]);
    expect(events.lostMessages.map((lost) => [lost.message.kind, lost.error.name])).toEqual([
      ['step', 'ThrottlingException'],
    ]);
  });
});
