import { beforeEach, describe, expect, it } from 'vitest';
import type { PlanStep } from '../../../lib/domain/plan.ts';
import { ENDING_SEQUENCE } from '../../../lib/domain/release-progress.ts';
import { ServiceBusyError, TransientAwsError } from '../../../lib/errors.ts';
import {
  actorFromFailure,
  handOffService,
  promoteRelease,
  reasonFromFailure,
  recordLostNotification,
  reportRelease,
  rollBackRelease,
  scaleDownOldSlot,
} from '../../../lib/use-cases/finish-release.ts';
import { abortCause } from '../../../lib/use-cases/resume.ts';
import { createFakePorts, FakeReleaseEvents } from '../fakes.ts';
import {
  BLUE_TG,
  CANARY_STEPS,
  cursorAt,
  deploymentFixture,
  GREEN_TG,
  LISTENER_RULE_ARN,
  releaseRequest,
  TOPIC_ARN,
  V1_IMAGE,
  V2_RELEASE_ID,
  withFixedClock,
} from '../fixtures.ts';

const settings = { region: 'us-east-1', defaultTopicArn: TOPIC_ARN };
const NOW = '2025-03-04T10:40:00.000Z';
const EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:execution:shipline-release:${V2_RELEASE_ID}`;
const deployment = deploymentFixture();
const bakeFailed = { Error: 'BakeFailed', Cause: 'alarm checkout-5xx went to ALARM at 25%' };

describe('Use case: finish a release', () => {
  let ports: ReturnType<typeof createFakePorts>;

  withFixedClock(NOW);

  /** A release of v2 in progress at 25%, holding the lock, with v3 queued behind it. */
  beforeEach(async () => {
    ports = createFakePorts();
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 75, [GREEN_TG]: 25 });
    for (const service of ['checkout-blue', 'checkout-green']) {
      ports.deployer.slots.set(service, {
        service,
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7',
        desiredCount: 4,
        runningCount: 4,
        image: V1_IMAGE,
      });
    }
    await ports.store.acquireLock('checkout', V2_RELEASE_ID, deployment.requestedAt, 7500);
    // Prepare recorded this release as the one that took the idle slot.
    await ports.store.claimIdleSlot('checkout', V2_RELEASE_ID);
    await ports.store.enqueueWaiter('checkout', {
      executionName: 'checkout-v3',
      requestedAt: '2025-03-04T10:05:00Z',
      taskToken: 'token-v3',
    });
    await ports.store.putAlarmWatches(
      deployment.alarms.map((alarmName) => ({
        alarmName,
        releaseId: V2_RELEASE_ID,
        service: 'checkout',
        taskToken: 'token-bake',
        percent: 25,
        watchFrom: deployment.startedAt,
      })),
      4200,
    );
    await ports.store.putRecord({
      service: 'checkout',
      releaseId: V2_RELEASE_ID,
      requestedAt: deployment.requestedAt,
      status: 'in_progress',
      fromVersion: 'v1',
      toVersion: 'v2',
      currentPercent: 25,
    });
    ports.journal.entries.length = 0;
    ports.store.calls.length = 0;
  });

  describe('Function: rollBackRelease', () => {
    it('sends all traffic back to the stable slot first, and leaves the lock to the next state', async () => {
      await rollBackRelease(ports, settings, deployment, bakeFailed, EXECUTION_ARN);

      expect(ports.journal.entries).toEqual([
        'store.fenceForRollback',
        // Traffic first: nothing is recorded or told before it moves back.
        'router.setWeights 100/0',
        'deployer.scale checkout-green 0',
        'store.clearAlarmWatches',
        'store.updateRecord',
        'store.recordPromotion',
        'store.markNotified',
        'notifier.publish rolled_back',
      ]);
      expect(ports.router.splits).toEqual([{ stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 0 }]);
      expect(ports.router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 100, [GREEN_TG]: 0 });
      expect(ports.deployer.scaled).toEqual([
        { cluster: 'prod', service: 'checkout-green', desiredCount: 0 },
      ]);
    });

    it('reads the weights first and changes no rule that is already back on the stable slot, but still scales', async () => {
      // A retry after the weights were restored (e.g. the scale-down failed the first attempt).
      ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 100, [GREEN_TG]: 0 });

      await rollBackRelease(ports, settings, deployment, bakeFailed, EXECUTION_ARN);

      expect(ports.router.splits).toEqual([]);
      expect(ports.journal.entries).not.toContain('router.setWeights 100/0');
      expect(ports.deployer.scaled).toEqual([
        { cluster: 'prod', service: 'checkout-green', desiredCount: 0 },
      ]);
    });

    it('returns the outcome with the reason a person reads', async () => {
      await expect(rollBackRelease(ports, settings, deployment, bakeFailed, EXECUTION_ARN)).resolves.toEqual({
        kind: 'rolled_back',
        outcome: 'rolled_back',
        reason: 'alarm checkout-5xx went to ALARM at 25%',
        servingVersion: 'v1',
        warnings: [],
      });
    });

    it('records the stable slot and the rolled-back release, and stops watching', async () => {
      await rollBackRelease(ports, settings, deployment, bakeFailed, EXECUTION_ARN);

      expect(ports.store.states.get('checkout')).toEqual({
        service: 'checkout',
        stableSlot: 'blue',
        stableVersion: 'v1',
        stableTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7',
        latestRelease: V2_RELEASE_ID,
        updatedAt: NOW,
      });
      expect(ports.store.record(V2_RELEASE_ID)).toEqual({
        service: 'checkout',
        releaseId: V2_RELEASE_ID,
        requestedAt: deployment.requestedAt,
        status: 'rolled_back',
        fromVersion: 'v1',
        toVersion: 'v2',
        currentPercent: 0,
        endedAt: NOW,
        rollbackStartedAt: NOW,
        reason: 'alarm checkout-5xx went to ALARM at 25%',
        progress: {
          sequence: ENDING_SEQUENCE + 1,
          step: 0,
          steps: deployment.plan.steps.length,
          state: 'rolled-back',
          newPercent: 0,
          stepStartedAt: NOW,
          updatedAt: NOW,
        },
      });
      expect(ports.store.watchKeys()).toEqual([]);
    });

    it('moves traffic back before recording or telling anything, then tells that it rolled back', async () => {
      const events = new FakeReleaseEvents(ports.journal);
      const at25 = cursorAt(5, {
        shifts: [
          { percent: 5, shiftedAt: '2025-03-04T10:05:00.000Z' },
          { percent: 25, shiftedAt: '2025-03-04T10:16:00.000Z' },
        ],
      });

      await rollBackRelease({ ...ports, events }, settings, deployment, bakeFailed, EXECUTION_ARN, at25);

      expect(ports.journal.entries.slice(0, 2)).toEqual([
        'store.fenceForRollback',
        'router.setWeights 100/0',
      ]);
      // A rollback that moved traffic at once is told once, as rolled back from the failing step.
      expect(
        events.published.map((m) => [
          m.kind,
          m.progress.state,
          m.progress.step,
          m.progress.label,
          m.progress.newPercent,
        ]),
      ).toEqual([['rolled_back', 'rolled-back', 6, 'Bake 10m watching 2 alarms', 0]]);
      expect(events.published[0]).toMatchObject({
        outcome: 'rolled_back',
        endedAt: NOW,
        executionArn: EXECUTION_ARN,
      });
      expect(ports.store.record(V2_RELEASE_ID)?.progress).toMatchObject({ state: 'rolled-back', step: 6 });
    });

    it('names who aborted the release on its rolled_back event, from the abort cause; the reason reads as before', async () => {
      const events = new FakeReleaseEvents(ports.journal);
      const alice = { via: 'slack', id: 'slack:T0SANDBOX/U0ONCALL1', name: 'alice' } as const;
      const aborted = {
        Error: 'ReleaseAborted',
        Cause: abortCause('Roll back now pressed in Slack by alice', alice),
      };
      const at25 = cursorAt(5, { shifts: [{ percent: 25, shiftedAt: '2025-03-04T10:16:00.000Z' }] });

      const result = await rollBackRelease(
        { ...ports, events },
        settings,
        deployment,
        aborted,
        EXECUTION_ARN,
        at25,
      );

      expect(result.reason).toBe('aborted by a person: Roll back now pressed in Slack by alice');
      expect(events.published).toEqual([
        expect.objectContaining({
          kind: 'rolled_back',
          reason: 'aborted by a person: Roll back now pressed in Slack by alice',
          actor: alice,
        }),
      ]);
      expect(ports.store.record(V2_RELEASE_ID)?.reason).toBe(
        'aborted by a person: Roll back now pressed in Slack by alice',
      );
      // A cause without a person (an older abort, an alarm) names nobody.
      expect(
        actorFromFailure({ Error: 'ReleaseAborted', Cause: 'aborted by a person: p99 up' }),
      ).toBeUndefined();
      expect(
        actorFromFailure({ Error: 'BakeFailed', Cause: JSON.stringify({ actor: alice }) }),
      ).toBeUndefined();
      expect(
        actorFromFailure({
          Error: 'ReleaseAborted',
          Cause: JSON.stringify({ errorMessage: 'x', actor: { via: 'x' } }),
        }),
      ).toBeUndefined();
    });

    it('names who aborted on the rolling-back event too, when the traffic move fails and is retried', async () => {
      const events = new FakeReleaseEvents(ports.journal);
      const bob = { via: 'cli', id: 'arn:aws:sts::123456789012:assumed-role/oncall/bob' } as const;
      ports.router.setWeights = async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      };
      const aborted = { Error: 'ReleaseAborted', Cause: abortCause('p99 up', bob) };
      const at25 = cursorAt(5, { shifts: [{ percent: 25, shiftedAt: '2025-03-04T10:16:00.000Z' }] });

      await expect(
        rollBackRelease({ ...ports, events }, settings, deployment, aborted, EXECUTION_ARN, at25),
      ).rejects.toThrow('Rate exceeded');

      expect(events.published.map((m) => [m.kind, m.progress.state, m.reason, m.actor])).toEqual([
        ['step', 'rolling-back', 'aborted by a person: p99 up', bob],
      ]);
    });

    it("tells a rollback whose traffic move fails as rolling back, and fails with the driver's error for the retry", async () => {
      const events = new FakeReleaseEvents(ports.journal);
      const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      ports.router.setWeights = async () => {
        throw throttled;
      };

      const at25 = cursorAt(5, { shifts: [{ percent: 25, shiftedAt: '2025-03-04T10:16:00.000Z' }] });

      await expect(
        rollBackRelease({ ...ports, events }, settings, deployment, bakeFailed, EXECUTION_ARN, at25),
      ).rejects.toBe(throttled);

      expect(events.published.map((m) => [m.kind, m.progress.state, m.progress.newPercent])).toEqual([
        ['step', 'rolling-back', 25],
      ]);
      expect(ports.store.record(V2_RELEASE_ID)).toMatchObject({
        status: 'in_progress',
        progress: { state: 'rolling-back' },
      });
    });

    it("fails with the driver's error, not the recording's, when neither traffic nor its progress can be written", async () => {
      const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      ports.router.setWeights = async () => {
        throw throttled;
      };
      ports.store.updateRecord = async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
      };

      await expect(
        rollBackRelease(ports, settings, deployment, bakeFailed, EXECUTION_ARN, cursorAt(5)),
      ).rejects.toBe(throttled);
    });

    it('leaves releasing the lock and waking the queued release to the state after it', async () => {
      await rollBackRelease(ports, settings, deployment, bakeFailed, EXECUTION_ARN);

      expect(ports.store.locks.has('checkout')).toBe(true);
      expect(ports.tokens.succeeded).toEqual([]);
    });

    it('tells people once, with the reason, even when retried', async () => {
      await rollBackRelease(ports, settings, deployment, bakeFailed, EXECUTION_ARN);
      await rollBackRelease(ports, settings, deployment, bakeFailed, EXECUTION_ARN);

      expect(ports.notifier.published).toEqual([
        {
          topicArn: TOPIC_ARN,
          notification: {
            subject: '[shipline] checkout: v2 rolled back to v1: alarm checkout-5xx went to ALARM at 25%',
            message: {
              event: 'rolled_back',
              service: 'checkout',
              release: V2_RELEASE_ID,
              fromVersion: 'v1',
              toVersion: 'v2',
              reason: 'alarm checkout-5xx went to ALARM at 25%',
              executionArn: EXECUTION_ARN,
              consoleUrl: `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${EXECUTION_ARN}`,
              at: NOW,
              servingSlot: 'blue',
            },
          },
        },
      ]);
      expect(ports.router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 100, [GREEN_TG]: 0 });
    });

    it('prefixes the error name to a Lambda fault', async () => {
      const failure = {
        Error: 'TargetStateError',
        Cause: JSON.stringify({
          errorType: 'TargetStateError',
          errorMessage: 'listener rule x does not exist',
          trace: [],
        }),
      };

      const result = await rollBackRelease(ports, settings, deployment, failure, EXECUTION_ARN);

      expect(result.reason).toBe('TargetStateError: listener rule x does not exist');
    });
  });

  describe('Function: promoteRelease', () => {
    const NEW_TASK_DEFINITION_ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:8';
    /** At the retire step, after the deploy registered NEW_TASK_DEFINITION_ARN. */
    const NEW_TASK_DEFINITION = cursorAt(8, {
      rollout: { taskDefinitionArn: NEW_TASK_DEFINITION_ARN, deploymentId: 'ecs-svc/1' },
    });

    beforeEach(() => {
      ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 0, [GREEN_TG]: 100 });
    });

    it('leaves the weights alone when the new slot already serves 100%', async () => {
      await promoteRelease(ports, settings, deployment, EXECUTION_ARN, NEW_TASK_DEFINITION);

      expect(ports.router.splits).toEqual([]);
    });

    it('shifts the rest of the traffic when the plan ended below 100%', async () => {
      ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 50, [GREEN_TG]: 50 });

      await promoteRelease(ports, settings, deployment, EXECUTION_ARN, NEW_TASK_DEFINITION);

      expect(ports.router.splits).toEqual([{ stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 100 }]);
    });

    it('records the new slot as stable and the release as promoted', async () => {
      const result = await promoteRelease(ports, settings, deployment, EXECUTION_ARN, NEW_TASK_DEFINITION);

      expect(result).toEqual({
        outcome: 'promoted',
        servingVersion: 'v2',
        servingSlot: 'green',
        warnings: [],
      });
      expect(ports.store.states.get('checkout')).toMatchObject({
        service: 'checkout',
        stableSlot: 'green',
        stableVersion: 'v2',
        stableTaskDefinitionArn: NEW_TASK_DEFINITION_ARN,
        latestRelease: V2_RELEASE_ID,
        updatedAt: NOW,
      });
      expect(ports.store.record(V2_RELEASE_ID)).toMatchObject({
        status: 'promoted',
        endedAt: NOW,
        currentPercent: 100,
        peakPercent: 100,
        promotedAt: NOW,
      });
    });

    it('says what passed when the plan moved no traffic in steps of its own (a rolling update), never "all 0 steps"', async () => {
      const steps = [
        CANARY_STEPS[0],
        CANARY_STEPS[1],
        { kind: 'bake', index: 2, label: 'Bake 10m watching 2 alarms', seconds: 600, inconclusive: 'fail' },
        { ...CANARY_STEPS[8], index: 3 },
      ] as PlanStep[];
      const rolling = {
        ...deployment,
        plan: { strategy: 'all-at-once' as const, steps, totalBakeSeconds: 600 },
      };
      const retire = { ...NEW_TASK_DEFINITION, index: 3, step: steps[3] as PlanStep };

      await promoteRelease(ports, settings, rolling, EXECUTION_ARN, retire);

      expect(ports.notifier.published[0]?.notification.message).toMatchObject({
        reason: 'all 3 steps passed',
      });
    });

    it('tells people once, and leaves the lock to the hand-off state', async () => {
      await promoteRelease(ports, settings, deployment, EXECUTION_ARN, NEW_TASK_DEFINITION);
      await promoteRelease(ports, settings, deployment, EXECUTION_ARN, NEW_TASK_DEFINITION);

      expect(ports.store.locks.has('checkout')).toBe(true);
      expect(ports.tokens.succeeded).toEqual([]);
      expect(ports.notifier.published).toHaveLength(1);
      expect(ports.notifier.published[0]?.notification).toEqual({
        subject: '[shipline] checkout: v2 promoted, now serving 100%',
        message: expect.objectContaining({
          event: 'promoted',
          reason: 'all 3 steps passed',
          servingSlot: 'green',
          oldSlotScaleDownInSeconds: 900,
          rollbackWindowSeconds: 900,
          at: NOW,
        }),
      });
    });
  });

  describe('Function: handOffService', () => {
    it('releases the lock and wakes the queued release, also when retried after the delete', async () => {
      await expect(handOffService(ports, deployment.service, deployment.id)).resolves.toEqual({
        released: true,
        woke: 'checkout-v3',
      });
      expect(ports.store.locks.has('checkout')).toBe(false);
      expect(ports.tokens.succeeded).toEqual([{ token: 'token-v3', output: { superseded: false } }]);

      await expect(handOffService(ports, deployment.service, deployment.id)).resolves.toEqual({
        released: false,
        woke: 'checkout-v3',
      });
    });
  });

  describe('Function: handOffService, ending a release that paused', () => {
    it("removes the release's pause wait, answered or timed out, so nothing looks for a person any more", async () => {
      await ports.store.waits.register(
        [
          {
            kind: 'pause',
            key: deployment.id,
            releaseId: deployment.id,
            service: deployment.service,
            environment: 'default',
            taskToken: 'token-pause',
          },
        ],
        7200,
      );

      await handOffService(ports, deployment.service, deployment.id);

      await expect(
        ports.store.waits.read({ kind: 'pause', key: deployment.id, releaseId: deployment.id }),
      ).resolves.toBeUndefined();
      const left = await ports.store.waits.findByRelease(deployment.id);
      expect(left.filter((wait) => wait.kind === 'pause')).toEqual([]);
    });
  });

  describe('Function: scaleDownOldSlot', () => {
    it('scales the old slot to zero when no newer release took it', async () => {
      await ports.store.claimIdleSlot('checkout', V2_RELEASE_ID);

      await expect(scaleDownOldSlot(ports, deployment)).resolves.toEqual({
        scaledDown: true,
        reason: 'checkout-blue scaled to 0 after the warm period',
      });
      expect(ports.deployer.scaled).toEqual([{ cluster: 'prod', service: 'checkout-blue', desiredCount: 0 }]);
    });

    it('records the end of the rollback window as the last transition of a promoted release', async () => {
      await ports.store.claimIdleSlot('checkout', V2_RELEASE_ID);
      const events = new FakeReleaseEvents();

      await scaleDownOldSlot({ ...ports, events }, deployment);

      expect(events.published).toEqual([
        expect.objectContaining({
          kind: 'step',
          text: 'The rollback window is over: checkout-blue scaled to 0 after the warm period',
          progress: expect.objectContaining({
            step: 9,
            steps: 9,
            state: 'promoted',
            newPercent: 100,
            sequence: 2 + 8 * 4 + 3,
          }),
        }),
      ]);
      expect(ports.store.record(V2_RELEASE_ID)?.progress).toMatchObject({ state: 'promoted', sequence: 37 });
    });

    it('reports the old slot scaled down even when the window-closed progress cannot be recorded', async () => {
      await ports.store.claimIdleSlot('checkout', V2_RELEASE_ID);
      const events = new FakeReleaseEvents(ports.journal);
      ports.store.updateRecord = async () => {
        throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
          name: 'ValidationException',
        });
      };

      // A throw here would end the promoted release in "The old slot is still running" (ScaleDownFailed).
      await expect(scaleDownOldSlot({ ...ports, events }, deployment)).resolves.toEqual({
        scaledDown: true,
        reason: 'checkout-blue scaled to 0 after the warm period',
      });
      expect(ports.deployer.scaled).toEqual([{ cluster: 'prod', service: 'checkout-blue', desiredCount: 0 }]);
      // The topic still hears it; the failed write is logged as the loss of the transition's record.
      expect(events.published.map((m) => m.progress.state)).toEqual(['promoted']);
      expect(events.lostMessages.map((lost) => lost.error.name)).toEqual(['ProgressNotRecorded']);
    });

    it('leaves the old slot alone when a newer release took it', async () => {
      await ports.store.claimIdleSlot('checkout', 'checkout-v3');

      await expect(scaleDownOldSlot(ports, deployment)).resolves.toEqual({
        scaledDown: false,
        reason: 'a newer release has taken checkout-blue',
      });
      expect(ports.deployer.scaled).toEqual([]);
    });
  });

  describe('Function: reportRelease', () => {
    it('records a superseded push without touching the lock', async () => {
      const request = releaseRequest({ requestedAt: '2025-03-04T10:01:00Z' });

      const result = await reportRelease(ports, settings, {
        kind: 'superseded',
        request,
        releaseId: 'checkout-v2b',
        supersededBy: 'checkout-v3',
        topicArn: TOPIC_ARN,
      });

      expect(result).toEqual({
        kind: 'superseded',
        outcome: 'superseded',
        reason: 'superseded by newer release checkout-v3',
      });
      expect(ports.store.record('checkout-v2b')).toEqual({
        service: 'checkout',
        releaseId: 'checkout-v2b',
        requestedAt: '2025-03-04T10:01:00Z',
        status: 'superseded',
        toVersion: 'v2',
        endedAt: NOW,
        reason: 'superseded by newer release checkout-v3',
        supersededBy: 'checkout-v3',
        progress: {
          sequence: ENDING_SEQUENCE + 1,
          step: 0,
          steps: 0,
          state: 'superseded',
          newPercent: 0,
          stepStartedAt: NOW,
          updatedAt: NOW,
        },
      });
      expect(ports.store.calls).not.toContain('releaseLock');
      expect(ports.store.locks.get('checkout')?.holder).toBe(V2_RELEASE_ID);
      expect(ports.notifier.published).toEqual([
        {
          topicArn: TOPIC_ARN,
          notification: {
            subject: '[shipline] checkout: v2 skipped, superseded by a newer push',
            message: expect.objectContaining({
              event: 'superseded',
              release: 'checkout-v2b',
              reason: 'superseded by newer release checkout-v3',
              supersededBy: 'checkout-v3',
            }),
          },
        },
      ]);
    });

    it('answers a retried superseded report of an execution that told everyone as it first did, not as told while queued', async () => {
      const superseded = {
        kind: 'superseded' as const,
        request: releaseRequest(),
        releaseId: V2_RELEASE_ID,
        executionArn: EXECUTION_ARN,
        supersededBy: 'checkout-v3',
        topicArn: TOPIC_ARN,
      };
      const first = await reportRelease(ports, settings, superseded);

      // Its response lost (a timeout after the function ran whole): the state runs it again.
      const retried = await reportRelease(ports, settings, superseded);

      expect(retried).toEqual(first);
      expect(retried.reason).toBe('superseded by newer release checkout-v3');
      expect(ports.notifier.published).toHaveLength(1);
    });

    it('records an ignored release (its digest already serves) and tells nobody, leaving the lock to the next state', async () => {
      const request = releaseRequest({ requestedAt: '2025-03-04T10:01:00Z' });
      await ports.store.releaseLock('checkout', V2_RELEASE_ID);
      await ports.store.acquireLock('checkout', 'checkout-v1again', request.requestedAt, 7500);

      const result = await reportRelease(ports, settings, {
        kind: 'ignored',
        request,
        releaseId: 'checkout-v1again',
        reason: 'already serving: v2 runs on the stable slot checkout-blue at 100%',
        topicArn: TOPIC_ARN,
      });

      expect(result).toEqual({
        kind: 'ignored',
        outcome: 'ignored',
        reason: 'already serving: v2 runs on the stable slot checkout-blue at 100%',
      });
      expect(ports.store.record('checkout-v1again')).toMatchObject({
        status: 'ignored',
        reason: 'already serving: v2 runs on the stable slot checkout-blue at 100%',
        endedAt: NOW,
      });
      expect(ports.store.locks.get('checkout')?.holder).toBe('checkout-v1again');
      expect(ports.notifier.published).toEqual([]);
    });

    it('records a failure before any traffic moved and tells people, leaving the lock to the next state', async () => {
      const failure = {
        Error: 'TargetStateError',
        Cause: JSON.stringify({
          errorType: 'TargetStateError',
          errorMessage: 'watched alarm(s) do not exist: x',
        }),
      };

      const result = await reportRelease(ports, settings, {
        kind: 'failed',
        request: releaseRequest(),
        releaseId: V2_RELEASE_ID,
        executionArn: EXECUTION_ARN,
        failure,
        topicArn: TOPIC_ARN,
      });

      expect(result).toEqual({
        kind: 'failed',
        outcome: 'failed',
        reason: 'TargetStateError: watched alarm(s) do not exist: x',
      });
      expect(ports.store.record(V2_RELEASE_ID)).toMatchObject({
        status: 'failed',
        executionArn: EXECUTION_ARN,
      });
      expect(ports.store.locks.has('checkout')).toBe(true);
      expect(ports.tokens.succeeded).toEqual([]);
      expect(ports.notifier.published[0]?.notification.subject).toBe(
        '[shipline] checkout: release of v2 failed: TargetStateError: watched alarm(s) do not exist: x',
      );
    });

    it('names who aborted a release that ends failed (a queued push aborted while it waited) on its event', async () => {
      const events = new FakeReleaseEvents(ports.journal);
      const alice = { via: 'slack', id: 'slack:T0SANDBOX/U0ONCALL1', name: 'alice' } as const;
      const result = await reportRelease({ ...ports, events }, settings, {
        kind: 'failed',
        request: releaseRequest(),
        releaseId: V2_RELEASE_ID,
        executionArn: EXECUTION_ARN,
        failure: { Error: 'ReleaseAborted', Cause: abortCause('wrong build', alice) },
        topicArn: TOPIC_ARN,
      });
      expect(result.reason).toBe('aborted by a person: wrong build');
      expect(events.published.map((m) => [m.kind, m.reason, m.actor])).toEqual([
        ['failed', 'aborted by a person: wrong build', alice],
      ]);
    });

    it('reports a failed rollback loudly to the deployment topic', async () => {
      const ownTopic = 'arn:aws:sns:us-east-1:123456789012:checkout-team';

      const result = await reportRelease(ports, settings, {
        kind: 'rollback_failed',
        request: releaseRequest(),
        releaseId: V2_RELEASE_ID,
        deployment: deploymentFixture({ topicArn: ownTopic }),
        failure: { Error: 'ThrottlingException', Cause: 'Rate exceeded' },
        topicArn: TOPIC_ARN,
      });

      expect(result).toEqual({
        kind: 'rollback_failed',
        outcome: 'failed',
        reason:
          'rollback failed (ThrottlingException: Rate exceeded); traffic is split: blue 75% / green 25%: finish the rollback by hand',
      });
      expect(ports.notifier.published.map((entry) => [entry.topicArn, entry.notification.subject])).toEqual([
        [ownTopic, '[shipline] ACTION NEEDED checkout: rollback of v2 FAILED'],
      ]);
      expect(ports.store.record(V2_RELEASE_ID)).toMatchObject({
        status: 'failed',
        fromVersion: 'v1',
        startedAt: deployment.startedAt,
        // 25% still on the new version: a failed deployment in DORA's metrics.
        peakPercent: 25,
      });
    });

    const rollbackFailed = {
      kind: 'rollback_failed' as const,
      request: releaseRequest(),
      releaseId: V2_RELEASE_ID,
      deployment,
      failure: { Error: 'ThrottlingException', Cause: 'Rate exceeded' },
      rolledBackBecause: bakeFailed,
      topicArn: TOPIC_ARN,
    };

    it('puts what a person needs to finish a failed rollback by hand in the ACTION NEEDED message', async () => {
      await reportRelease(ports, settings, rollbackFailed);

      const message = ports.notifier.published[0]?.notification.message;
      expect(message).toMatchObject({
        event: 'rollback_failed',
        listenerRuleArn: LISTENER_RULE_ARN,
        targetGroups: {
          stable: { slot: 'blue', targetGroupArn: BLUE_TG },
          canary: { slot: 'green', targetGroupArn: GREEN_TG },
        },
        weightsNow: { blue: 75, green: 25 },
      });
      expect(String(message?.reason)).toContain('traffic is split: blue 75% / green 25%');
      expect(message?.manualSteps).toEqual([
        `aws elbv2 describe-rules --rule-arns ${LISTENER_RULE_ARN} --region us-east-1`,
        `aws elbv2 modify-rule --rule-arn ${LISTENER_RULE_ARN} --actions '[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"${BLUE_TG}","Weight":100},{"TargetGroupArn":"${GREEN_TG}","Weight":0}]}}]' --region us-east-1`,
        expect.stringMatching(/authenticate-oidc.*"Order".*"UseExistingClientSecret": true/),
        'aws ecs update-service --cluster prod --service checkout-green --desired-count 0 --region us-east-1',
      ]);
    });

    it('says traffic is back on the stable slot when it is, not that it may be split', async () => {
      ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 100, [GREEN_TG]: 0 });

      const result = await reportRelease(ports, settings, rollbackFailed);

      expect(result.reason).toContain(
        'traffic is back on the stable slot (blue 100%) but the new slot checkout-green may still run tasks',
      );
      expect(result.reason).not.toContain('split');
      expect(ports.notifier.published[0]?.notification.message.weightsNow).toEqual({ blue: 100, green: 0 });
      expect(ports.store.record(V2_RELEASE_ID)?.peakPercent).toBeUndefined();
    });

    it('says the weights are unknown when the listener rule cannot be read', async () => {
      ports.router.readWeights = async () => {
        throw new Error('Rate exceeded');
      };

      const result = await reportRelease(ports, settings, rollbackFailed);

      expect(result.reason).toContain('the weights could not be read');
      expect(ports.notifier.published[0]?.notification.message.weightsNow).toBe('unknown');
    });
  });

  describe('Function: recordLostNotification', () => {
    it("never writes superseded over a withdrawn push's failed record, nor counts a loss: people were told it was withdrawn", async () => {
      const counted: string[] = [];
      const metrics = { count: async (metric: string) => void counted.push(metric) };
      const events = new FakeReleaseEvents();
      const request = releaseRequest();
      // A person withdrew the queued push: its told mark and its failed record stand. An execution of it
      // the lock refused for the mark failed its superseded report past its retries (DynamoDB throttled).
      await ports.store.markNotified(V2_RELEASE_ID, 'superseded');
      await ports.store.putRecord({
        service: 'checkout',
        releaseId: V2_RELEASE_ID,
        requestedAt: request.requestedAt,
        status: 'failed',
        toVersion: 'v2',
        endedAt: NOW,
        reason: 'aborted while queued by alice via the CLI: bad build',
      });
      const withdrawn = ports.store.record(V2_RELEASE_ID);

      const result = await recordLostNotification(
        { store: ports.store, metrics, events },
        {
          kind: 'superseded',
          request,
          releaseId: V2_RELEASE_ID,
          executionArn: EXECUTION_ARN,
          supersededBy: 'unknown',
          error: { Error: 'TransientAwsError', Cause: 'ThrottlingException: Rate exceeded' },
        },
      );

      expect(ports.store.record(V2_RELEASE_ID)).toEqual(withdrawn);
      expect(counted).toEqual([]);
      expect(events.published).toEqual([]);
      expect(result).toMatchObject({ outcome: 'failed' });
      expect(result).not.toHaveProperty('notificationLost');
    });

    it('records the release, counts the lost notification and says which one was lost', async () => {
      const counted: Array<{ metric: string; dimensions: Record<string, string> }> = [];
      const metrics = {
        count: async (metric: string, dimensions: Record<string, string>) =>
          void counted.push({ metric, dimensions }),
      };

      const result = await recordLostNotification(
        { store: ports.store, metrics },
        {
          kind: 'failed',
          request: releaseRequest(),
          releaseId: V2_RELEASE_ID,
          failure: { Error: 'TargetStateError', Cause: 'watched alarm(s) do not exist: x' },
          error: {
            Error: 'TransientAwsError',
            Cause: '{"errorMessage":"AuthorizationErrorException: not authorized"}',
          },
        },
      );

      expect(counted).toEqual([{ metric: 'NotificationsLost', dimensions: { Service: 'checkout' } }]);
      expect(result).toEqual({
        kind: 'failed',
        outcome: 'failed',
        reason:
          'TargetStateError: watched alarm(s) do not exist: x (the failed notification was NOT sent: TransientAwsError: AuthorizationErrorException: not authorized)',
        notificationLost: {
          kind: 'failed',
          error: 'TransientAwsError: AuthorizationErrorException: not authorized',
        },
      });
      expect(ports.store.record(V2_RELEASE_ID)).toMatchObject({
        status: 'failed',
        reason: 'TargetStateError: watched alarm(s) do not exist: x',
      });
    });
  });
});

describe('Function: reasonFromFailure', () => {
  it.each([
    [undefined, 'unknown failure'],
    [{ Error: 'BakeFailed', Cause: 'alarm a went to ALARM at 5%' }, 'alarm a went to ALARM at 5%'],
    [{ Error: 'SlotNotSteady' }, 'SlotNotSteady'],
    [{ Error: 'States.Timeout' }, 'States.Timeout'],
    [
      { Error: 'Lambda.Unknown', Cause: 'The cause could not be determined' },
      'Lambda.Unknown: The cause could not be determined',
    ],
    [{ Error: 'InvalidInputError', Cause: '{"errorMessage":"bad input"}' }, 'InvalidInputError: bad input'],
    [{ Error: 'E', Cause: '{"other":1}' }, 'E: {"other":1}'],
  ])('reads %j as %j', (failure, reason) => {
    expect(reasonFromFailure(failure)).toBe(reason);
  });
});

describe('Use case: finish a release, when things go wrong afterwards', () => {
  const settings = { region: 'us-east-1', defaultTopicArn: 'arn:aws:sns:us-east-1:123456789012:shipline' };
  const deployment = deploymentFixture();
  let ports: ReturnType<typeof createFakePorts>;

  beforeEach(async () => {
    ports = createFakePorts();
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 0, [GREEN_TG]: 100 });
    await ports.store.acquireLock('checkout', V2_RELEASE_ID, deployment.requestedAt, 7500);
    await ports.store.claimIdleSlot('checkout', V2_RELEASE_ID);
  });

  it('stays promoted when the notification cannot be sent', async () => {
    ports.notifier.publish = async () => {
      throw Object.assign(new Error('not authorized to perform SNS:Publish'), {
        name: 'AuthorizationErrorException',
      });
    };

    const result = await promoteRelease(ports, settings, deployment, undefined, cursorAt(8));

    expect(result.outcome).toBe('promoted');
    expect(result.warnings).toEqual([
      'the promoted notification could not be sent: AuthorizationErrorException: not authorized to perform SNS:Publish',
    ]);
    expect(ports.store.states.get('checkout')).toMatchObject({ stableSlot: 'green', stableVersion: 'v2' });
  });

  it('refuses to promote over a release that has taken the service over', async () => {
    await ports.store.claimIdleSlot('checkout', 'checkout-v3');

    await expect(promoteRelease(ports, settings, deployment, undefined, cursorAt(8))).rejects.toThrow(
      'another release has taken checkout over',
    );
    expect(ports.router.splits).toEqual([]);
  });

  it('leaves traffic and slots alone when another release has taken the service over', async () => {
    await ports.store.claimIdleSlot('checkout', 'checkout-v3');

    const result = await rollBackRelease(
      ports,
      settings,
      deployment,
      { Error: 'BakeFailed', Cause: 'x' },
      undefined,
    );

    expect(result.outcome).toBe('rolled_back');
    expect(ports.router.splits).toEqual([]);
    expect(ports.deployer.scaled).toEqual([]);
    expect(ports.store.states.get('checkout')?.latestRelease).toBe('checkout-v3');
  });

  it('stays promoted, and tells nobody it rolled back, when an alarm after promotion finds a newer release in charge', async () => {
    await ports.store.claimIdleSlot('checkout', 'checkout-v3');
    const before = ports.store.record(V2_RELEASE_ID);

    const result = await rollBackRelease(
      ports,
      settings,
      deployment,
      { Error: 'AlarmAfterPromotion', Cause: 'alarm checkout-green-5xx went to ALARM after promotion' },
      undefined,
    );

    expect(result).toMatchObject({ kind: 'promoted', outcome: 'promoted' });
    expect(result.reason).toContain('nothing was rolled back');
    expect(ports.router.splits).toEqual([]);
    expect(ports.deployer.scaled).toEqual([]);
    expect(ports.notifier.published).toEqual([]);
    expect(ports.store.record(V2_RELEASE_ID)).toEqual(before);
  });

  it('stays promoted, and tells nobody it rolled back, when a person aborts its rollback window after a newer release took the service', async () => {
    await ports.store.claimIdleSlot('checkout', 'checkout-v3');
    const before = ports.store.record(V2_RELEASE_ID);

    // shipline abort --release, or the Roll back button on the release's thread, during its window.
    const result = await rollBackRelease(
      ports,
      settings,
      deployment,
      { Error: 'ReleaseAborted', Cause: 'aborted by a person: conversion dropped' },
      undefined,
      cursorAt(8),
    );

    expect(result).toMatchObject({ kind: 'promoted', outcome: 'promoted' });
    expect(result.reason).toBe(
      'aborted by a person: conversion dropped; a newer release has taken checkout over, so nothing was rolled back',
    );
    expect(ports.router.splits).toEqual([]);
    expect(ports.deployer.scaled).toEqual([]);
    expect(ports.notifier.published).toEqual([]);
    expect(ports.store.record(V2_RELEASE_ID)).toEqual(before);
  });

  it('fences the service while it rolls back after promotion: a newer release cannot claim a slot until it is done', async () => {
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 0, [GREEN_TG]: 100 });
    const alarm = {
      Error: 'AlarmAfterPromotion',
      Cause: 'alarm checkout-green-5xx went to ALARM after promotion',
    };
    // Attempt 1 puts the weights back, then ECS refuses the scale-down (the state retries it).
    const scale = ports.deployer.scale.bind(ports.deployer);
    let refusals = 1;
    ports.deployer.scale = async (cluster, service, desiredCount) => {
      if (refusals-- > 0) throw new TransientAwsError('ECS UpdateService throttled');
      return scale(cluster, service, desiredCount);
    };
    await expect(rollBackRelease(ports, settings, deployment, alarm, undefined)).rejects.toThrow(
      'ECS UpdateService throttled',
    );
    expect(ports.router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 100, [GREEN_TG]: 0 });

    // The hand-off after promotion woke v3; it may not take a slot while the rollback is under way.
    await expect(ports.store.claimIdleSlot('checkout', 'checkout-v3')).rejects.toThrow(ServiceBusyError);

    // The retry still owns the service: it finishes the rollback and says so (never "promoted").
    const result = await rollBackRelease(ports, settings, deployment, alarm, undefined);
    expect(result).toMatchObject({ kind: 'rolled_back', servingVersion: 'v1' });
    expect(ports.deployer.scaled).toEqual([{ cluster: 'prod', service: 'checkout-green', desiredCount: 0 }]);
    expect(ports.notifier.events()).toEqual(['rolled_back']);

    // Recording the stable slot again lifts the fence: v3 may now claim the idle slot.
    await ports.store.claimIdleSlot('checkout', 'checkout-v3');
    expect(ports.store.states.get('checkout')?.latestRelease).toBe('checkout-v3');
  });

  it('rolls a promoted release back to the warm old slot while it still owns the service', async () => {
    // Promoted: the new slot serves 100% and is recorded as stable.
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 0, [GREEN_TG]: 100 });
    const alarm = {
      Error: 'AlarmAfterPromotion',
      Cause: 'alarm checkout-green-5xx went to ALARM after promotion, during the rollback window',
    };

    const result = await rollBackRelease(ports, settings, deployment, alarm, undefined);

    expect(result).toMatchObject({ kind: 'rolled_back', reason: alarm.Cause, servingVersion: 'v1' });
    expect(ports.router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 100, [GREEN_TG]: 0 });
    expect(ports.deployer.scaled).toEqual([{ cluster: 'prod', service: 'checkout-green', desiredCount: 0 }]);
    expect(ports.store.states.get('checkout')).toMatchObject({ stableSlot: 'blue', stableVersion: 'v1' });
    // The subject shortens the reason to stay under SNS's 100 characters; the message keeps it whole.
    expect(ports.notifier.published[0]?.notification.subject).toBe(
      `[shipline] checkout: v2 rolled back to v1: ${alarm.Cause.slice(0, 53)}...`,
    );
    expect(ports.notifier.published[0]?.notification.message.reason).toBe(alarm.Cause);
  });
});
