import { beforeEach, describe, expect, it } from 'vitest';
import { useClock } from '../../../lib/clock.ts';
import type { ServiceConfig } from '../../../lib/config/schema.ts';
import type { ReleaseProgress } from '../../../lib/domain/progress.ts';
import { progressSequence } from '../../../lib/domain/release-progress.ts';
import { alarmStateChangeEventSchema } from '../../../lib/events/alarm-state-change.ts';
import type { ReleaseRecord } from '../../../lib/ports/release-history.ts';
import { onAlarmStateChange } from '../../../lib/use-cases/bake.ts';
import { handOffEndedExecution } from '../../../lib/use-cases/finish-release.ts';
import { endStoppedRelease, servingWords } from '../../../lib/use-cases/stopped-release.ts';
import {
  FakeExecutionStarter,
  FakeNotifier,
  FakeReleaseEvents,
  FakeTaskTokens,
  FakeTrafficRouter,
  InMemoryReleaseStore,
} from '../fakes.ts';
import {
  alarmStateChangeEvent,
  BLUE_TG,
  fixedClock,
  GREEN_TG,
  LISTENER_RULE_ARN,
  repoConfig,
  STATE_MACHINE_ARN,
  TOPIC_ARN,
  V1_DIGEST,
  V2_DIGEST,
  V2_RELEASE_ID,
  withFixedClock,
} from '../fixtures.ts';

const NOW = '2025-03-04T10:30:00.000Z';
const settings = { region: 'us-east-1', defaultTopicArn: TOPIC_ARN };
const checkout = repoConfig().services.checkout as ServiceConfig;
const declared = { ...checkout, name: 'checkout', topicArn: TOPIC_ARN };
const EXECUTION_ARN = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${V2_RELEASE_ID}`;

/** v2's release, planned and baking at 25% when its execution was stopped. */
const baking = (): ReleaseRecord => ({
  service: 'checkout',
  releaseId: V2_RELEASE_ID,
  requestedAt: '2025-03-04T10:00:00Z',
  status: 'in_progress',
  fromVersion: 'v1',
  toVersion: 'v2',
  image: { digest: V2_DIGEST, tag: 'v2' },
  executionArn: EXECUTION_ARN,
  startedAt: '2025-03-04T10:00:02.000Z',
  progress: {
    sequence: 22,
    step: 6,
    steps: 9,
    kind: 'bake',
    label: 'Bake 10m watching 2 alarms',
    state: 'baking',
    newPercent: 25,
    stepStartedAt: '2025-03-04T10:11:35.000Z',
    endsAt: '2025-03-04T10:21:35.000Z',
    watchedAlarms: ['checkout-green-5xx'],
    updatedAt: '2025-03-04T10:11:35.000Z',
  },
});

const stopped = {
  name: V2_RELEASE_ID,
  status: 'ABORTED',
  error: 'StoppedByPerson',
  cause: 'stopped by on-call',
};

/** `declared` moved to an ecs-rolling target (ECS service checkout-svc), with `rollbackWindow` seconds if given. */
const onRollingTarget = (rollbackWindow?: number): typeof declared =>
  ({
    ...declared,
    target: {
      type: 'ecs-rolling',
      cluster: 'prod',
      container: 'app',
      service: 'checkout-svc',
      ...(rollbackWindow === undefined ? {} : { rollbackWindow }),
    },
  }) as unknown as typeof declared;

/** v1's release, promoted yesterday: what shipline rollback would release again. */
const v1PromotedYesterday = (): ReleaseRecord => ({
  service: 'checkout',
  releaseId: 'checkout-v1',
  requestedAt: '2025-03-03T09:00:00Z',
  status: 'promoted',
  toVersion: 'v1',
  image: { digest: V1_DIGEST, tag: 'v1' },
  endedAt: '2025-03-03T09:32:00.000Z',
});

/**
 * v2 still holds checkout's lock and SNS refuses the next publish: the hand-off of its stopped execution
 * must hand the service on before telling fails. Returns the hand-off's other ports and the stop to hand off.
 */
const holdLockAndFailTelling = (store: InMemoryReleaseStore, notifier: FakeNotifier) => {
  store.locks.set('checkout', {
    holder: V2_RELEASE_ID,
    requestedAt: '2025-03-04T10:00:00Z',
    acquiredAt: '2025-03-04T10:00:01.000Z',
    leaseExpiresAt: Date.parse(NOW) / 1000 + 3600,
  });
  notifier.failNext = Object.assign(new Error('SNS down'), { name: 'InternalErrorException' });
  return {
    tokens: new FakeTaskTokens(),
    starter: new FakeExecutionStarter(STATE_MACHINE_ARN),
    change: { ...stopped, input: JSON.stringify({ service: 'checkout' }) },
  };
};

/** An empty table, nothing told yet, and the listener rule sending `blue`% to blue and `green`% to green. */
const freshPorts = (blue: number, green: number) => {
  const router = new FakeTrafficRouter();
  router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: blue, [GREEN_TG]: green });
  return {
    store: new InMemoryReleaseStore(),
    notifier: new FakeNotifier(),
    events: new FakeReleaseEvents(),
    router,
  };
};

describe('Use case: a release whose execution ended outside its own states (endStoppedRelease)', () => {
  let store: InMemoryReleaseStore;
  let notifier: FakeNotifier;
  let events: FakeReleaseEvents;
  let router: FakeTrafficRouter;

  withFixedClock(NOW);

  beforeEach(async () => {
    ({ store, notifier, events, router } = freshPorts(75, 25));
    await store.putRecord(baking());
  });

  const ports = () => ({ store, notifier, events, router });
  const record = () => [...store.records.values()].find((r) => r.releaseId === V2_RELEASE_ID);

  it('ends the record as failed and tells people it stopped part-way, with the weights it left', async () => {
    const result = await endStoppedRelease(ports(), settings, declared, stopped);

    const reason =
      'stopped outside Shipline at 25%, not rolled back: traffic is split: blue 75% / green 25% (StoppedByPerson: stopped by on-call)';
    expect(result).toEqual({ ended: true, reason });
    expect(record()).toMatchObject({
      status: 'failed',
      endedAt: NOW,
      reason,
      progress: { state: 'failed', newPercent: 25, step: 6, updatedAt: NOW },
    });
    // The wait it was in is over: no bake end, no watched alarms left on the record.
    expect(record()?.progress?.endsAt).toBeUndefined();
    expect(record()?.progress?.watchedAlarms).toBeUndefined();
    expect(notifier.published).toHaveLength(1);
    expect(notifier.published[0]?.topicArn).toBe(TOPIC_ARN);
    expect(notifier.published[0]?.notification.message).toMatchObject({
      event: 'failed',
      service: 'checkout',
      release: V2_RELEASE_ID,
      fromVersion: 'v1',
      toVersion: 'v2',
      reason,
      executionArn: EXECUTION_ARN,
    });
    expect(events.published).toEqual([
      expect.objectContaining({ kind: 'failed', outcome: 'failed', releaseId: V2_RELEASE_ID, reason }),
    ]);
  });

  it("does not describe a newer release's traffic as what the stopped one left (a late or retried event)", async () => {
    // v2 had claimed the idle slot; v3 was pushed later, planned and claimed it, and shifted 5% to blue.
    await store.claimIdleSlot('checkout', V2_RELEASE_ID);
    await store.putRecord({
      service: 'checkout',
      releaseId: 'checkout-v3',
      requestedAt: '2025-03-04T10:25:00Z',
      status: 'in_progress',
      fromVersion: 'v1',
      toVersion: 'v3',
      startedAt: '2025-03-04T10:25:02.000Z',
    });
    await store.claimIdleSlot('checkout', 'checkout-v3');
    router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 5, [GREEN_TG]: 95 });

    const result = await endStoppedRelease(ports(), settings, declared, stopped);

    const reason =
      'stopped outside Shipline at 25%, not rolled back: newer release checkout-v3 (v3) has taken checkout over since, and what serves now is its to tell (StoppedByPerson: stopped by on-call)';
    expect(result).toEqual({ ended: true, reason });
    expect(record()).toMatchObject({ status: 'failed', reason });
    expect(notifier.published[0]?.notification.message).toMatchObject({ event: 'failed', reason });
  });

  it('finds the stopped release behind more than 100 newer records (pushes superseded while it ran)', async () => {
    for (let index = 0; index < 120; index += 1) {
      const minute = String(index % 60).padStart(2, '0');
      await store.putRecord({
        service: 'checkout',
        releaseId: `checkout-push-${index}`,
        requestedAt: `2025-03-04T1${1 + Math.floor(index / 60)}:${minute}:00Z`,
        status: 'superseded',
        toVersion: `v${index + 3}`,
      });
    }

    const result = await endStoppedRelease(ports(), settings, declared, {
      ...stopped,
      input: JSON.stringify({ service: 'checkout', requestedAt: '2025-03-04T10:00:00Z' }),
    });

    expect(result.ended).toBe(true);
    expect(record()?.status).toBe('failed');
    expect(notifier.published).toHaveLength(1);
  });

  it('tells nobody twice when the event comes again (EventBridge delivers at least once)', async () => {
    await endStoppedRelease(ports(), settings, declared, stopped);
    const again = await endStoppedRelease(ports(), settings, declared, stopped);

    expect(again).toEqual({ ended: false });
    expect(notifier.published).toHaveLength(1);
  });

  it('says a timed-out execution timed out, and that the weights could not be read when ELB fails', async () => {
    router.readWeights = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };

    const result = await endStoppedRelease(ports(), settings, declared, {
      name: V2_RELEASE_ID,
      status: 'TIMED_OUT',
      error: null,
      cause: null,
    });

    expect(result.reason).toBe(
      `timed out at 25%, not rolled back: the weights could not be read (ThrottlingException): traffic may be split between blue and green; check listener rule ${LISTENER_RULE_ARN}`,
    );
    expect(notifier.published).toHaveLength(1);
  });

  it('leaves an ended release as it is (its own states recorded how it ended)', async () => {
    await store.updateRecord('checkout', '2025-03-04T10:00:00Z', V2_RELEASE_ID, { status: 'rolled_back' });

    await expect(endStoppedRelease(ports(), settings, declared, stopped)).resolves.toEqual({ ended: false });
    expect(record()?.status).toBe('rolled_back');
    expect(notifier.published).toEqual([]);
  });

  it('ends and tells only a release that ended outside its own states', async () => {
    const tokens = new FakeTaskTokens();
    const starter = new FakeExecutionStarter(STATE_MACHINE_ARN);
    const told: string[] = [];
    const endStopped = async (_service: string, change: { status: string }) => {
      told.push(change.status);
      return { ended: true };
    };
    const input = JSON.stringify({ service: 'checkout' });
    const end = (status: string, error?: string) =>
      handOffEndedExecution(
        { store, tokens, starter, endStopped },
        { name: V2_RELEASE_ID, status, input, ...(error ? { error } : {}) },
      );

    await end('SUCCEEDED');
    await end('FAILED', 'ReleaseRolledBack');
    await end('FAILED', 'States.Runtime');
    await end('TIMED_OUT');
    await end('ABORTED');

    expect(told).toEqual(['FAILED', 'TIMED_OUT', 'ABORTED']);
  });

  it('says what to check for a rolling service (no weights to read)', async () => {
    const rolling = onRollingTarget();
    await expect(servingWords(rolling, router)).resolves.toBe(
      'the rolling update of ECS service checkout-svc may be part-way: check its deployments',
    );
  });

  describe('on an ecs-rolling target (no weights: the rolling update is the shift)', () => {
    const rolling = onRollingTarget(0);
    /** v2's rolling release, at `kind` (step `step` of 4: deploy, await-ready, bake, retire) when stopped. */
    const rollingAt = (
      step: number,
      kind: 'deploy' | 'await-ready' | 'bake',
      label: string,
    ): ReleaseRecord => ({
      ...baking(),
      progress: {
        sequence: 2 + (step - 1) * 4,
        step,
        steps: 4,
        kind,
        label,
        state: kind === 'bake' ? 'baking' : kind === 'deploy' ? 'deploying' : 'waiting-ready',
        newPercent: 0,
        stepStartedAt: '2025-03-04T10:03:00.000Z',
        updatedAt: '2025-03-04T10:03:00.000Z',
      },
    });

    it('tells a release stopped during its bake that its rolling update completed and v2 serves: never "0%"', async () => {
      await store.putRecord(v1PromotedYesterday());
      await store.putRecord(rollingAt(3, 'bake', 'Bake 10m watching 1 alarm'));

      const result = await endStoppedRelease(ports(), settings, rolling, stopped);

      const reason =
        'stopped outside Shipline during step 3 of 4 (Bake 10m watching 1 alarm), after its rolling update completed (StoppedByPerson: stopped by on-call), not rolled back: v2 serves (the rolling update of ECS service checkout-svc replaced the old tasks); no alarm rolls v2 back automatically any more: watch its alarms yourself, and to go back to v1, run shipline rollback checkout --reason TEXT (it releases it again)';
      expect(result).toEqual({ ended: true, reason });
      expect(result.reason).not.toContain('0%');
      expect(result.reason).not.toContain('part-way');
      // What shipline status and the report read: the new version takes all the traffic.
      expect(record()).toMatchObject({
        status: 'failed',
        reason,
        progress: { state: 'failed', newPercent: 100 },
      });
      expect(notifier.published[0]?.notification.message).toMatchObject({ event: 'failed', reason });
      expect(events.published).toEqual([expect.objectContaining({ kind: 'failed', reason })]);
    });

    it('tells a release stopped during its rollout that the rolling update may be part-way (no percent)', async () => {
      await store.putRecord(
        rollingAt(2, 'await-ready', 'Wait until the rollout completes (at most 20m), watching 1 alarm'),
      );

      const result = await endStoppedRelease(ports(), settings, rolling, stopped);

      expect(result.reason).toBe(
        'stopped outside Shipline during step 2 of 4 (Wait until the rollout completes (at most 20m), watching 1 alarm) (StoppedByPerson: stopped by on-call), not rolled back: the rolling update of ECS service checkout-svc may be part-way: check its deployments',
      );
      expect(record()?.progress?.newPercent).toBe(0);
    });
  });

  it('hands the service on even when telling fails, then fails so the event is retried', async () => {
    const { tokens, starter, change } = holdLockAndFailTelling(store, notifier);
    const endStopped = () => endStoppedRelease(ports(), settings, declared, change);

    await expect(handOffEndedExecution({ store, tokens, starter, endStopped }, change)).rejects.toThrow(
      'SNS down',
    );
    expect(store.locks.get('checkout')).toBeUndefined();

    expect(record()?.status).toBe('in_progress');

    // The retried event tells people (once) and hands nothing on twice.
    await expect(handOffEndedExecution({ store, tokens, starter, endStopped }, change)).resolves.toEqual({
      released: false,
      woke: null,
      ended: true,
    });
    expect(notifier.published.map((p) => p.notification.message.event)).toEqual(['failed']);
    expect(record()?.status).toBe('failed');
  });
});

/** v2's release, promoted at 10:32:00 and in its 15-minute rollback window (until 10:47:00). */
const inWindow = (): ReleaseRecord => ({
  ...baking(),
  status: 'promoted',
  endedAt: '2025-03-04T10:32:00.000Z',
  promotedAt: '2025-03-04T10:32:00.000Z',
  currentPercent: 100,
  peakPercent: 100,
  progress: {
    sequence: progressSequence('window', 8),
    step: 9,
    steps: 9,
    kind: 'retire',
    label: 'Promote green, watch the 15m rollback window, scale blue down after 15m',
    state: 'rollback-window',
    newPercent: 100,
    stepStartedAt: '2025-03-04T10:32:00.000Z',
    endsAt: '2025-03-04T10:47:00.000Z',
    watchedAlarms: ['checkout-latency-p99', 'checkout-green-5xx'],
    updatedAt: '2025-03-04T10:32:00.000Z',
  },
});

/** Runs `run` on a clock stopped at `iso`, then puts the previous clock back. */
const withClock = async <T>(iso: string, run: () => Promise<T>): Promise<T> => {
  const previous = useClock(fixedClock(iso));
  try {
    return await run();
  } finally {
    useClock(previous);
  }
};

const SCALE_DOWN_BLUE =
  'aws ecs update-service --region us-east-1 --cluster prod --service checkout-blue --desired-count 0';

describe('Use case: a promoted release whose execution was stopped before its retire step ended', () => {
  let store: InMemoryReleaseStore;
  let notifier: FakeNotifier;
  let events: FakeReleaseEvents;
  let router: FakeTrafficRouter;

  withFixedClock(NOW);

  beforeEach(async () => {
    ({ store, notifier, events, router } = freshPorts(0, 100));
    await store.putRecord(v1PromotedYesterday());
    await store.putRecord(inWindow());
    await store.claimIdleSlot('checkout', V2_RELEASE_ID);
    await store.recordPromotion({
      service: 'checkout',
      stableSlot: 'green',
      stableVersion: 'v2',
      stableTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:8',
      latestRelease: V2_RELEASE_ID,
      updatedAt: '2025-03-04T10:32:00.000Z',
    });
    await store.putAlarmWatches(
      ['checkout-latency-p99', 'checkout-green-5xx'].map((alarmName) => ({
        alarmName,
        releaseId: V2_RELEASE_ID,
        service: 'checkout',
        taskToken: 'token-window',
        percent: 100,
        watchFrom: '2025-03-04T10:00:02.000Z',
        kind: 'rollback-window' as const,
      })),
      900,
    );
  });

  const ports = () => ({ store, notifier, events, router });
  const record = () => [...store.records.values()].find((r) => r.releaseId === V2_RELEASE_ID);
  const STOPPED_IN_WINDOW =
    'stopped outside Shipline during its rollback window (due to end at 2025-03-04T10:47:00.000Z) (StoppedByPerson: stopped by on-call)';

  it('tells once that v2 serves 100%, that no alarm rolls it back, and which slot is left warm with the command to scale it down', async () => {
    const result = await endStoppedRelease(ports(), settings, declared, stopped);

    const reason = `${STOPPED_IN_WINDOW}: v2 serves 100% on green (blue 0% / green 100%); no alarm rolls v2 back automatically any more, and the old slot blue (ECS service checkout-blue, v1) is still warm and Shipline will not scale it down: scale it down with ${SCALE_DOWN_BLUE}; to go back to v1, run shipline rollback checkout --reason TEXT (it releases it again)`;
    expect(result).toEqual({ ended: true, reason });
    expect(notifier.published).toHaveLength(1);
    expect(notifier.published[0]?.topicArn).toBe(TOPIC_ARN);
    expect(notifier.published[0]?.notification.subject).toBe(
      '[shipline] ACTION NEEDED checkout: v2 serves, its rollback window was stopped; blue left warm',
    );
    expect(notifier.published[0]?.notification.message).toMatchObject({
      event: 'stopped',
      release: V2_RELEASE_ID,
      fromVersion: 'v1',
      toVersion: 'v2',
      reason,
      executionArn: EXECUTION_ARN,
      servingVersion: 'v2',
      oldSlot: {
        slot: 'blue',
        ecsService: 'checkout-blue',
        cluster: 'prod',
        version: 'v1',
        scaleDownCommand: SCALE_DOWN_BLUE,
      },
    });
    expect(events.published).toEqual([
      expect.objectContaining({
        kind: 'stopped',
        releaseId: V2_RELEASE_ID,
        reason,
        text: `The release of v2 was stopped during its rollback window (due to end at 2025-03-04T10:47:00.000Z): blue is left warm`,
      }),
    ]);
    // It did promote: the record stays promoted, and its reason says what happened after.
    expect(record()).toMatchObject({
      status: 'promoted',
      endedAt: '2025-03-04T10:32:00.000Z',
      reason,
      progress: {
        state: 'promoted',
        sequence: progressSequence('window-closed', 8),
        step: 9,
        newPercent: 100,
        label: 'Stopped during its rollback window (due to end at 2025-03-04T10:47:00.000Z): blue left warm',
        updatedAt: NOW,
      },
    });
    expect(record()?.progress?.endsAt).toBeUndefined();
    expect(record()?.progress?.watchedAlarms).toBeUndefined();
    // The window's watches went with its execution.
    expect(await store.alarmWatches('checkout-green-5xx')).toEqual([]);
    expect(await store.alarmWatches('checkout-latency-p99')).toEqual([]);
  });

  it('tells nobody twice when the event comes again, and an alarm after the stop resumes nothing', async () => {
    await endStoppedRelease(ports(), settings, declared, stopped);
    const again = await endStoppedRelease(ports(), settings, declared, stopped);

    expect(again).toEqual({ ended: false });
    expect(notifier.published).toHaveLength(1);
    expect(events.published).toHaveLength(1);
    const tokens = new FakeTaskTokens();
    await expect(
      onAlarmStateChange(
        { store, tokens },
        alarmStateChangeEventSchema.parse(
          alarmStateChangeEvent('checkout-green-5xx', 'ALARM', '2025-03-04T10:35:00.000+0000'),
        ),
      ),
    ).resolves.toEqual({ failedReleases: [] });
    expect(tokens.failed).toEqual([]);
  });

  it("treats a window watch the stop's event has not cleared yet as nothing to do: the stopped execution's token is refused", async () => {
    // The alarm's event comes before the status change's: the watch is still there, its token dead.
    const tokens = new FakeTaskTokens();
    await tokens.fail('token-window', 'States.Aborted', 'the execution was stopped');

    await expect(
      onAlarmStateChange(
        { store, tokens },
        alarmStateChangeEventSchema.parse(
          alarmStateChangeEvent('checkout-green-5xx', 'ALARM', '2025-03-04T10:35:00.000+0000'),
        ),
      ),
    ).resolves.toEqual({ failedReleases: [] });
    expect(tokens.failed).toHaveLength(1);
    expect(await store.alarmWatches('checkout-green-5xx')).toEqual([]);

    // The late status change still tells people what the stop left.
    await expect(endStoppedRelease(ports(), settings, declared, stopped)).resolves.toMatchObject({
      ended: true,
    });
    expect(notifier.published).toHaveLength(1);
  });

  it('leaves the record as it was when telling fails, so the retried event tells (once)', async () => {
    notifier.failNext = Object.assign(new Error('SNS down'), { name: 'InternalErrorException' });

    await expect(endStoppedRelease(ports(), settings, declared, stopped)).rejects.toThrow('SNS down');
    expect(record()).toMatchObject({ status: 'promoted' });
    expect(record()?.reason).toBeUndefined();
    expect(record()?.progress?.state).toBe('rollback-window');

    await expect(endStoppedRelease(ports(), settings, declared, stopped)).resolves.toMatchObject({
      ended: true,
    });
    expect(notifier.published).toHaveLength(1);
    expect(record()?.progress?.state).toBe('promoted');
  });

  it('names the old slot from the recorded promotion when the weights cannot be read', async () => {
    router.readWeights = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };

    const result = await endStoppedRelease(ports(), settings, declared, {
      name: V2_RELEASE_ID,
      status: 'TIMED_OUT',
      error: null,
      cause: null,
    });

    expect(result.reason).toBe(
      `timed out during its rollback window (due to end at 2025-03-04T10:47:00.000Z): v2 was promoted, but the weights could not be read (ThrottlingException): traffic may be split between blue and green; check listener rule ${LISTENER_RULE_ARN}; no alarm rolls v2 back automatically any more, and the old slot blue (ECS service checkout-blue, v1) is still warm and Shipline will not scale it down: once listener rule ${LISTENER_RULE_ARN} shows blue takes no traffic, scale it down with ${SCALE_DOWN_BLUE}; to go back to v1, run shipline rollback checkout --reason TEXT (it releases it again)`,
    );
  });

  it('after a person ended the window early, says only that the old slot may be left warm (its scale-down comes next)', async () => {
    await store.updateRecord('checkout', '2025-03-04T10:00:00Z', V2_RELEASE_ID, {
      progress: {
        ...(inWindow().progress as ReleaseProgress),
        sequence: progressSequence('window-ended', 8),
        state: 'promoted',
      },
    });

    const result = await endStoppedRelease(ports(), settings, declared, stopped);

    expect(result.reason).toBe(
      `stopped outside Shipline after a person ended its rollback window, before it retired the old version (StoppedByPerson: stopped by on-call): v2 serves 100% on green (blue 0% / green 100%); the old slot blue (ECS service checkout-blue, v1) was not recorded as scaled down, and the stop may have come while Shipline scaled it down: if it still runs tasks, scale it down with ${SCALE_DOWN_BLUE}; to go back to v1, run shipline rollback checkout --reason TEXT (it releases it again)`,
    );
  });

  it('tells nothing once the old version was retired (the window closed)', async () => {
    await store.updateRecord('checkout', '2025-03-04T10:00:00Z', V2_RELEASE_ID, {
      progress: {
        ...(inWindow().progress as ReleaseProgress),
        sequence: progressSequence('window-closed', 8),
        state: 'promoted',
      },
    });

    await expect(endStoppedRelease(ports(), settings, declared, stopped)).resolves.toEqual({ ended: false });
    expect(notifier.published).toEqual([]);
    expect(events.published).toEqual([]);
  });

  it('never tells to scale down a slot that takes traffic: a person moved the traffic back to blue after the promotion', async () => {
    router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 100, [GREEN_TG]: 0 });

    const result = await endStoppedRelease(ports(), settings, declared, stopped);

    // Blue runs v1, not v2: the weights alone do not say which version serves, the promotion's record does.
    expect(result.reason).not.toContain('v2 serves 100% on blue');
    expect(result.reason).not.toContain('the old slot green');
    expect(result.reason).toBe(
      `${STOPPED_IN_WINDOW}: v2 was promoted on green, but green takes 0% of the traffic now (blue 100% / green 0%); no alarm rolls v2 back automatically any more, and the old slot blue (ECS service checkout-blue, v1) is still running and takes 100% of the traffic: do not scale it down while it takes traffic (${SCALE_DOWN_BLUE} once it takes none); to go back to v1, run shipline rollback checkout --reason TEXT (it releases it again)`,
    );
  });

  it('gives the scale-down command only on condition when the weights cannot be read', async () => {
    router.readWeights = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };

    const result = await endStoppedRelease(ports(), settings, declared, stopped);

    expect(result.reason).toContain(
      `the old slot blue (ECS service checkout-blue, v1) is still warm and Shipline will not scale it down: once listener rule ${LISTENER_RULE_ARN} shows blue takes no traffic, scale it down with ${SCALE_DOWN_BLUE}`,
    );
  });

  it('does not name the slot of a promotion still being recorded (the stable slot is still the old one) as the new one', async () => {
    // The stop came as the promotion ran: the record says promoted, the service state still names blue (v1).
    await store.recordPromotion({
      service: 'checkout',
      stableSlot: 'blue',
      stableVersion: 'v1',
      stableTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7',
      latestRelease: V2_RELEASE_ID,
      updatedAt: '2025-03-03T09:32:00.000Z',
    });
    router.readWeights = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };

    const result = await endStoppedRelease(ports(), settings, declared, stopped);

    expect(result.reason).not.toContain('the old slot green');
    expect(result.reason).toContain('the old slot (blue or green, whichever does not serve');
  });

  it('says the old slot may already be scaled down when the stop came after its rollback window (the scale-down may have been under way)', async () => {
    const result = await withClock('2025-03-04T10:47:05.000Z', () =>
      endStoppedRelease(ports(), settings, declared, stopped),
    );

    expect(result.reason).toBe(
      `stopped outside Shipline after its rollback window, before it retired the old version (StoppedByPerson: stopped by on-call): v2 serves 100% on green (blue 0% / green 100%); the old slot blue (ECS service checkout-blue, v1) was not recorded as scaled down, and the stop may have come while Shipline scaled it down: if it still runs tasks, scale it down with ${SCALE_DOWN_BLUE}; to go back to v1, run shipline rollback checkout --reason TEXT (it releases it again)`,
    );
    expect(notifier.published[0]?.notification.subject).toBe(
      '[shipline] ACTION NEEDED checkout: v2 serves, stopped after its rollback window; blue may be warm',
    );
  });

  it('tells nothing when a newer release has started since, before it claimed the old slot (it deploys there next)', async () => {
    await store.putRecord({
      service: 'checkout',
      releaseId: 'checkout-v3',
      requestedAt: '2025-03-04T10:33:00Z',
      status: 'in_progress',
      fromVersion: 'v2',
      toVersion: 'v3',
      startedAt: '2025-03-04T10:33:01.000Z',
    });

    await expect(endStoppedRelease(ports(), settings, declared, stopped)).resolves.toEqual({ ended: false });
    expect(notifier.published).toEqual([]);
    expect(await store.alarmWatches('checkout-green-5xx')).toEqual([]);
  });

  it('tells a rollback from the window that was stopped before it finished as a failed rollback: traffic may be split', async () => {
    // An alarm fired in the window; moving traffic back failed once and the state retried it when stopped.
    await store.updateRecord('checkout', '2025-03-04T10:00:00Z', V2_RELEASE_ID, {
      progress: {
        ...(inWindow().progress as ReleaseProgress),
        sequence: progressSequence('rolling-back'),
        state: 'rolling-back',
        label: 'Rolling back to v1',
      },
    });
    router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 40, [GREEN_TG]: 60 });

    const result = await endStoppedRelease(ports(), settings, declared, stopped);

    const reason =
      'stopped outside Shipline while it rolled back to v1 after its promotion, before the rollback finished (StoppedByPerson: stopped by on-call): traffic is split: blue 40% / green 60%; Shipline no longer retries the rollback: finish it by hand';
    expect(result).toEqual({ ended: true, reason });
    expect(notifier.published).toHaveLength(1);
    expect(notifier.published[0]?.notification.message).toMatchObject({
      event: 'rollback_failed',
      reason,
    });
    expect(notifier.published[0]?.notification.subject).toContain('ACTION NEEDED');
    expect(record()).toMatchObject({ status: 'failed', reason, progress: { state: 'failed' } });

    // Told once.
    await expect(endStoppedRelease(ports(), settings, declared, stopped)).resolves.toEqual({ ended: false });
    expect(notifier.published).toHaveLength(1);
  });

  it('tells nothing yet while the rollback from the window runs (its Lambda outlives the stop): the event is retried', async () => {
    // An alarm fired in the window and the rollback took the fence; its first attempt still runs.
    await store.fenceForRollback('checkout', V2_RELEASE_ID, 1200);

    await expect(endStoppedRelease(ports(), settings, declared, stopped)).rejects.toMatchObject({
      name: 'ServiceBusyError',
    });
    expect(notifier.published).toEqual([]);
    expect(record()?.progress?.state).toBe('rollback-window');

    // The rollback finished (the stable slot recorded again, the record rolled back): nothing left to tell.
    await store.recordPromotion({
      service: 'checkout',
      stableSlot: 'blue',
      stableVersion: 'v1',
      stableTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7',
      latestRelease: V2_RELEASE_ID,
      updatedAt: NOW,
    });
    await store.updateRecord('checkout', '2025-03-04T10:00:00Z', V2_RELEASE_ID, { status: 'rolled_back' });
    await expect(endStoppedRelease(ports(), settings, declared, stopped)).resolves.toEqual({ ended: false });
    expect(notifier.published).toEqual([]);
  });

  it('tells nothing when a newer release has taken the service (and the old slot) over since', async () => {
    await store.claimIdleSlot('checkout', 'checkout-v3');

    await expect(endStoppedRelease(ports(), settings, declared, stopped)).resolves.toEqual({ ended: false });
    expect(notifier.published).toEqual([]);
    expect(record()).toMatchObject({ status: 'promoted' });
    expect(record()?.reason).toBeUndefined();
    // Its own watches still go: nothing of its window is left to resume.
    expect(await store.alarmWatches('checkout-green-5xx')).toEqual([]);
  });

  it('on a rolling service tells that the window was cut short and that nothing was kept warm', async () => {
    const rolling = onRollingTarget(900);

    // v1 was never released through Shipline here: shipline rollback would have nothing to roll back to.
    store.records.delete([...store.records.keys()].find((key) => key.includes('checkout-v1')) ?? '');

    const result = await endStoppedRelease(ports(), settings, rolling, stopped);

    expect(result.reason).toBe(
      `${STOPPED_IN_WINDOW}: v2 serves (its rolling update of ECS service checkout-svc completed), and no alarm rolls v2 back automatically any more: watch its alarms yourself, and to go back to v1, release its image with shipline deploy checkout --image DIGEST; nothing was kept warm (the rolling update replaced the old tasks)`,
    );
    expect(notifier.published[0]?.notification.subject).toBe(
      '[shipline] checkout: v2 serves, its rollback window was stopped',
    );
    expect(record()?.progress?.label).toBe(
      'Stopped during its rollback window (due to end at 2025-03-04T10:47:00.000Z)',
    );
  });

  it('tells nothing of a rolling service stopped after its rollback window, but no longer records it as in its window', async () => {
    const rolling = onRollingTarget(900);

    // The window ended at 10:47; the stop came as its alarms were confirmed, before the retire step closed.
    const result = await withClock('2025-03-04T10:47:05.000Z', () =>
      endStoppedRelease(ports(), settings, rolling, stopped),
    );

    expect(result).toEqual({ ended: false });
    expect(notifier.published).toEqual([]);
    // shipline status and deploy read a record in state rollback-window as still watched: it is not.
    expect(record()?.progress).toMatchObject({
      state: 'promoted',
      sequence: progressSequence('window-closed', 8),
    });
    expect(record()?.progress?.endsAt).toBeUndefined();
    expect(record()?.progress?.watchedAlarms).toBeUndefined();
    expect(record()?.status).toBe('promoted');
  });

  it('tells nothing of a rolling service without a rollback window stopped after its promotion: nothing was cut short, nothing kept warm', async () => {
    const rolling = onRollingTarget(0);
    await store.updateRecord('checkout', '2025-03-04T10:00:00Z', V2_RELEASE_ID, {
      progress: {
        sequence: progressSequence('promoted', 4),
        step: 5,
        steps: 5,
        kind: 'retire',
        label: 'Promote',
        state: 'promoted',
        newPercent: 100,
        stepStartedAt: '2025-03-04T10:32:00.000Z',
        updatedAt: '2025-03-04T10:32:00.000Z',
      },
    });

    await expect(endStoppedRelease(ports(), settings, rolling, stopped)).resolves.toEqual({ ended: false });
    expect(notifier.published).toEqual([]);
  });

  it('hands the service on even when telling fails, then fails so the event is retried', async () => {
    const { tokens, starter, change } = holdLockAndFailTelling(store, notifier);
    const endStopped = () => endStoppedRelease(ports(), settings, declared, change);

    await expect(handOffEndedExecution({ store, tokens, starter, endStopped }, change)).rejects.toThrow(
      'SNS down',
    );
    expect(store.locks.get('checkout')).toBeUndefined();

    await expect(
      handOffEndedExecution({ store, tokens, starter, endStopped }, change),
    ).resolves.toMatchObject({ released: false, ended: true });
    expect(notifier.published).toHaveLength(1);
  });
});
