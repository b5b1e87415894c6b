import { beforeEach, describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../../../lib/config/schema.ts';
import type { ReleaseRecord } from '../../../lib/ports/release-history.ts';
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
  BLUE_TG,
  GREEN_TG,
  LISTENER_RULE_ARN,
  repoConfig,
  STATE_MACHINE_ARN,
  TOPIC_ARN,
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

describe('Use case: a release whose execution ended outside its own states (endStoppedRelease)', () => {
  let store: InMemoryReleaseStore;
  let notifier: FakeNotifier;
  let events: FakeReleaseEvents;
  let router: FakeTrafficRouter;

  withFixedClock(NOW);

  beforeEach(async () => {
    store = new InMemoryReleaseStore();
    notifier = new FakeNotifier();
    events = new FakeReleaseEvents();
    router = new FakeTrafficRouter();
    router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 75, [GREEN_TG]: 25 });
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
    const rolling = {
      ...declared,
      target: { type: 'ecs-rolling', cluster: 'prod', container: 'app', service: 'checkout-svc' },
    } as unknown as ServiceConfig;
    await expect(servingWords(rolling, router)).resolves.toBe(
      'the rolling update of ECS service checkout-svc may be part-way: check its deployments',
    );
  });

  it('hands the service on even when telling fails, then fails so the event is retried', async () => {
    const tokens = new FakeTaskTokens();
    const starter = new FakeExecutionStarter(STATE_MACHINE_ARN);
    store.locks.set('checkout', {
      holder: V2_RELEASE_ID,
      requestedAt: '2025-03-04T10:00:00Z',
      acquiredAt: '2025-03-04T10:00:01.000Z',
      leaseExpiresAt: Date.parse(NOW) / 1000 + 3600,
    });
    notifier.failNext = Object.assign(new Error('SNS down'), { name: 'InternalErrorException' });
    const change = { ...stopped, input: JSON.stringify({ service: 'checkout' }) };
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
