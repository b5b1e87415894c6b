import { beforeEach, describe, expect, it } from 'vitest';
import type { BakePromotion } from '../../../lib/domain/progress.ts';
import { promoteBake, promoteRollbackWindow } from '../../../lib/use-cases/bake.ts';
import { promoteRelease } from '../../../lib/use-cases/finish-release.ts';
import { createFakePorts, FakeReleaseEvents } from '../fakes.ts';
import {
  BLUE_TG,
  cursorAt,
  deploymentFixture,
  GREEN_TG,
  LISTENER_RULE_ARN,
  TOPIC_ARN,
  V1_IMAGE,
  V2_RELEASE_ID,
  withFixedClock,
} from '../fixtures.ts';

const NOW = '2025-03-04T10:06:00.000Z';
const settings = { region: 'us-east-1', defaultTopicArn: TOPIC_ARN };
const deployment = deploymentFixture();
const ALICE = 'arn:aws:iam::123456789012:user/alice';
const at5 = [{ percent: 5, shiftedAt: '2025-03-04T10:02:00.000Z' }];
const promotion = (full: boolean): BakePromotion => ({
  outcome: 'promoted',
  full,
  by: ALICE,
  reason: 'the dashboards look fine',
});

describe('Use case: a person promotes a release from the state machine side', () => {
  let ports: ReturnType<typeof createFakePorts>;
  let events: FakeReleaseEvents;
  withFixedClock(NOW);

  /** v2 bakes at 5% (its alarms watched under the bake's token), blue serves the rest. */
  beforeEach(async () => {
    ports = createFakePorts();
    events = new FakeReleaseEvents();
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 95, [GREEN_TG]: 5 });
    for (const service of ['checkout-blue', 'checkout-green'])
      ports.deployer.slots.set(service, {
        service,
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7',
        desiredCount: 4,
        runningCount: 4,
        image: V1_IMAGE,
      });
    await ports.store.claimIdleSlot('checkout', V2_RELEASE_ID);
    await ports.store.putAlarmWatches(
      deployment.alarms.map((alarmName) => ({
        alarmName,
        releaseId: V2_RELEASE_ID,
        service: 'checkout',
        taskToken: 'token-bake',
        percent: 5,
        watchFrom: deployment.startedAt,
      })),
      4200,
    );
    await ports.store.putRecord({
      service: 'checkout',
      releaseId: V2_RELEASE_ID,
      requestedAt: deployment.requestedAt,
      status: 'in_progress',
      currentPercent: 5,
    });
  });

  it('ends the bake as passed: the watches go, the next step follows, the transition names who and why', async () => {
    const next = await promoteBake(
      { store: ports.store, events },
      deployment,
      cursorAt(3, { shifts: at5 }),
      promotion(false),
    );

    expect(next).toMatchObject({ index: 4, step: { kind: 'shift', percent: 25 } });
    expect(ports.store.watchKeys()).toEqual([]);
    // Nothing moved: the next step shifts as planned.
    expect(ports.router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 95, [GREEN_TG]: 5 });
    expect(events.published).toEqual([
      expect.objectContaining({
        kind: 'step',
        text: 'The 10m bake at 5% was ended as passed by arn:aws:iam::123456789012:user/alice',
        reason: 'bake ended as passed by arn:aws:iam::123456789012:user/alice: the dashboards look fine',
        actor: { via: 'cli', id: ALICE },
        progress: expect.objectContaining({
          step: 4,
          state: 'baking',
          newPercent: 5,
          sequence: 2 + 3 * 4 + 1,
        }),
      }),
    ]);
    expect(ports.store.record(V2_RELEASE_ID)?.progress).toMatchObject({ step: 4, state: 'baking' });
  });

  it('a full promotion goes to retire, and the promotion moves the rest of the traffic in one shift and says who', async () => {
    const retire = await promoteBake(
      { store: ports.store, events },
      deployment,
      cursorAt(3, { shifts: at5 }),
      promotion(true),
    );
    expect(retire).toMatchObject({ index: 8, step: { kind: 'retire' } });

    const result = await promoteRelease({ ...ports, events }, settings, deployment, undefined, retire);

    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    // One shift, from 5% straight to 100%.
    expect(ports.router.splits).toEqual([{ stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 100 }]);
    const reason = `promoted in full by ${ALICE} (the dashboards look fine) at step 4 of 9; the remaining bakes, checks and pauses were skipped`;
    expect(ports.notifier.published.map((p) => p.notification.message)).toEqual([
      expect.objectContaining({ event: 'promoted', reason }),
    ]);
    expect(events.published.map((m) => [m.kind, m.progress.state, m.actor?.id])).toEqual([
      ['step', 'baking', ALICE],
      ['promoted', 'promoted', ALICE],
    ]);
    expect(events.published[1]?.reason).toBe(reason);
  });

  it('a Slack user who promotes is named as such on the transition and the promotion, not as a CLI caller', async () => {
    const alice = { via: 'slack', id: 'slack:T0SANDBOX/U0ONCALL1', name: 'alice' } as const;
    const retire = await promoteBake(
      { store: ports.store, events },
      deployment,
      cursorAt(3, { shifts: at5 }),
      {
        outcome: 'promoted',
        full: true,
        by: 'alice',
        reason: 'Promote now pressed in Slack by alice',
        actor: alice,
      },
    );
    expect(retire.promotions?.[0]?.actor).toEqual(alice);
    await promoteRelease({ ...ports, events }, settings, deployment, undefined, retire);
    expect(events.published.map((m) => [m.kind, m.actor])).toEqual([
      ['step', alice],
      ['promoted', alice],
    ]);
  });

  it('names the bakes people ended early when the release is promoted at its end', async () => {
    const next = await promoteBake(
      { store: ports.store, events },
      deployment,
      cursorAt(3, { shifts: at5 }),
      promotion(false),
    );
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 0, [GREEN_TG]: 100 });

    await promoteRelease(ports, settings, deployment, undefined, {
      ...cursorAt(8),
      promotions: next.promotions ?? [],
    });

    expect(ports.notifier.published[0]?.notification.message).toMatchObject({
      reason: `all 3 steps passed; bakes ended early as passed: step 4 by ${ALICE} (the dashboards look fine)`,
    });
  });

  it('ends the rollback window now, saying who and why, for the old version to be retired', async () => {
    const result = await promoteRollbackWindow(
      { store: ports.store, events },
      deployment,
      cursorAt(8),
      promotion(false),
    );

    expect(result).toEqual({
      outcome: 'promoted',
      reason: `the rollback window was ended early by ${ALICE}: the dashboards look fine`,
    });
    expect(ports.store.watchKeys()).toEqual([]);
    expect(events.published).toEqual([
      expect.objectContaining({
        kind: 'step',
        actor: { via: 'cli', id: ALICE },
        progress: expect.objectContaining({ step: 9, state: 'promoted', sequence: 2 + 8 * 4 + 2 }),
      }),
    ]);
  });

  it('refuses a promotion outside a bake, naming the step', async () => {
    await expect(
      promoteBake({ store: ports.store, events }, deployment, cursorAt(2), promotion(false)),
    ).rejects.toThrow('step 2 is a shift step, not a bake step ("Shift 5% to green")');
    expect(events.published).toEqual([]);
  });

  it("ends the bake as passed on the person's word even when its progress cannot be recorded", async () => {
    ports.store.updateRecord = async () => {
      throw Object.assign(new Error('User is not authorized to perform: dynamodb:UpdateItem'), {
        name: 'AccessDeniedException',
      });
    };

    // A throw here would send the promoted release into rollback (the state's Catch).
    const next = await promoteBake(
      { store: ports.store, events },
      deployment,
      cursorAt(3, { shifts: at5 }),
      promotion(false),
    );

    expect(next.index).toBe(4);
    expect(ports.store.watchKeys()).toEqual([]);
    expect(events.published.map((m) => m.actor?.id)).toEqual([ALICE]);
    expect(events.lostMessages.map((lost) => lost.error.name)).toEqual(['ProgressNotRecorded']);
  });
});
