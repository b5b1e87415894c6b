import { beforeEach, describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../../../lib/config/schema.ts';
import type { ReleaseRequest } from '../../../lib/domain/types.ts';
import type { ReleaseRecord } from '../../../lib/ports/release-history.ts';
import type {
  AbnormalEndStatus,
  EndedExecutionDetail,
  EndedExecutionSummary,
  ExecutionHistory,
} from '../../../lib/ports/workflow.ts';
import { handOffEndedExecution, pendingPushReporter } from '../../../lib/use-cases/finish-release.ts';
import { queueBehindHolder } from '../../../lib/use-cases/queue-push.ts';
import {
  RECONCILE_LOOK_BACK_SECONDS,
  RECONCILE_MAX_NOTIFICATION_AGE_SECONDS,
  RECONCILE_MAX_PAGES,
  ReconcileFailedError,
  reconcileEndedExecutions,
} from '../../../lib/use-cases/reconcile-ended-executions.ts';
import { acquireReleaseLock } from '../../../lib/use-cases/release-lock.ts';
import { startRelease } from '../../../lib/use-cases/start-release.ts';
import { endStoppedRelease } from '../../../lib/use-cases/stopped-release.ts';
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
  withFixedClock,
} from '../fixtures.ts';
import { HOLDER, NOW, NOW_EPOCH, nameOf, push } from './queue-fixtures.ts';

const config = repoConfig();
const settings = { region: 'us-east-1', defaultTopicArn: TOPIC_ARN };
const checkout = config.services.checkout as ServiceConfig;
const declared = { ...checkout, name: 'checkout', topicArn: TOPIC_ARN };
const executionArn = (name: string) =>
  `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
const HOLDER_INPUT = JSON.stringify({ service: 'checkout', requestedAt: '2025-03-04T10:00:00Z' });

/** The state machine's execution list as ListExecutions and DescribeExecution answer it. */
class FakeExecutionHistory implements ExecutionHistory {
  public readonly ended: Array<EndedExecutionSummary & EndedExecutionDetail> = [];
  public readonly listCalls: Array<{ status: AbnormalEndStatus; since: string; maxPages: number }> = [];
  public readonly described: string[] = [];
  public failDescribeOf: string | undefined;

  public end(
    name: string,
    status: AbnormalEndStatus,
    stopped: string,
    more: Partial<Pick<EndedExecutionDetail, 'input' | 'error' | 'cause'>> = {},
  ) {
    this.ended.push({
      input: HOLDER_INPUT,
      ...more,
      name,
      executionArn: executionArn(name),
      status,
      stopDate: new Date(stopped),
    });
  }

  public async listEnded(status: AbnormalEndStatus, since: Date, maxPages: number) {
    this.listCalls.push({ status, since: since.toISOString(), maxPages });
    const executions = this.ended
      .filter((e) => e.status === status && e.stopDate >= since)
      .map(({ name, executionArn, status, stopDate }) => ({ name, executionArn, status, stopDate }));
    return { executions, complete: true };
  }

  public async describe(arn: string): Promise<EndedExecutionDetail> {
    this.described.push(arn);
    const execution = this.ended.find((e) => e.executionArn === arn);
    if (!execution || arn === this.failDescribeOf)
      throw Object.assign(new Error(`Execution Does Not Exist: '${arn}'`), { name: 'ExecutionDoesNotExist' });
    const { name, status, input, error, cause } = execution;
    return { name, status, input, ...(error ? { error } : {}), ...(cause ? { cause } : {}) };
  }
}

/** v2's release (the lock's holder), planned and baking at 25% when its execution was stopped. */
const baking = (): ReleaseRecord => ({
  service: 'checkout',
  releaseId: HOLDER,
  requestedAt: '2025-03-04T10:00:00Z',
  status: 'in_progress',
  fromVersion: 'v1',
  toVersion: 'v2',
  image: { digest: `sha256:${'2'.repeat(64)}`, tag: 'v2' },
  executionArn: executionArn(HOLDER),
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

describe('Use case: reconcileEndedExecutions (the backstop of a lost execution status change event)', () => {
  let store: InMemoryReleaseStore;
  let tokens: FakeTaskTokens;
  let starter: FakeExecutionStarter;
  let notifier: FakeNotifier;
  let events: FakeReleaseEvents;
  let router: FakeTrafficRouter;
  let history: FakeExecutionHistory;

  withFixedClock(NOW);

  /** The ports the status-change event's function wires, plus the execution history. */
  const ports = () => {
    const supersedePending = pendingPushReporter(
      { store, notifier, events },
      () => settings,
      () => TOPIC_ARN,
    );
    const endStopped = async (service: string, change: Parameters<typeof endStoppedRelease>[3]) =>
      service === 'checkout'
        ? endStoppedRelease({ store, notifier, events, router }, settings, declared, change)
        : { ended: false };
    return { store, tokens, starter, supersedePending, endStopped, history };
  };

  const failedNotifications = () =>
    notifier.published.filter((p) => p.notification.message.event === 'failed');

  beforeEach(async () => {
    store = new InMemoryReleaseStore();
    tokens = new FakeTaskTokens();
    starter = new FakeExecutionStarter(STATE_MACHINE_ARN);
    notifier = new FakeNotifier();
    events = new FakeReleaseEvents();
    router = new FakeTrafficRouter();
    history = new FakeExecutionHistory();
    router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 75, [GREEN_TG]: 25 });
    // v2 holds the lock and bakes at 25%; v3, pushed at 10:05, waits behind it as data.
    await store.putRecord(baking());
    store.locks.set('checkout', {
      holder: HOLDER,
      requestedAt: '2025-03-04T10:00:00Z',
      acquiredAt: '2025-03-04T10:00:01.000Z',
      leaseExpiresAt: NOW_EPOCH + 3600,
    });
    starter.executions.set(HOLDER, {});
    const queue = (request: ReleaseRequest, name: string) =>
      queueBehindHolder(
        { store, starter, tokens, events, supersedePending: ports().supersedePending },
        request,
        name,
      );
    await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
    starter.ended.add(HOLDER);
    expect(starter.calls).toEqual([]);
  });

  it('ends a stopped release whose event was lost, tells people once what serves, and starts the push queued behind it', async () => {
    history.end(HOLDER, 'ABORTED', '2025-03-04T10:27:00Z', {
      error: 'StoppedByPerson',
      cause: 'stopped by on-call',
    });

    const result = await reconcileEndedExecutions(ports());

    expect(result).toEqual({
      since: '2025-03-04T09:30:00.000Z',
      executions: [
        { name: HOLDER, status: 'ABORTED', outcome: { released: true, woke: nameOf('a'), ended: true } },
      ],
      incomplete: [],
    });
    expect([...store.records.values()].find((r) => r.releaseId === HOLDER)?.status).toBe('failed');
    expect(failedNotifications().map((p) => p.notification.message.reason)).toEqual([
      'stopped outside Shipline at 25%, not rolled back: traffic is split: blue 75% / green 25% (StoppedByPerson: stopped by on-call)',
    ]);
    expect(store.locks.get('checkout')).toBeUndefined();
    expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
  });

  it('looks back one hour over each abnormal status, reading a bounded number of pages', async () => {
    await reconcileEndedExecutions(ports());

    expect(RECONCILE_LOOK_BACK_SECONDS).toBe(3600);
    expect(history.listCalls).toEqual(
      ['ABORTED', 'TIMED_OUT', 'FAILED'].map((status) => ({
        status,
        since: '2025-03-04T09:30:00.000Z',
        maxPages: RECONCILE_MAX_PAGES,
      })),
    );
    expect(history.described).toEqual([]);
    expect(store.locks.get('checkout')?.holder).toBe(HOLDER);
  });

  it('does nothing twice: a second notification (the OK action) tells nobody again and starts nothing again', async () => {
    history.end(HOLDER, 'TIMED_OUT', '2025-03-04T10:27:00Z');
    await reconcileEndedExecutions(ports());
    // v3 has started and taken the lock.
    await acquireReleaseLock({ store }, config, starter.calls[0]?.input as ReleaseRequest, nameOf('a'));

    await expect(reconcileEndedExecutions(ports())).resolves.toMatchObject({
      executions: [
        { name: HOLDER, status: 'TIMED_OUT', outcome: { released: false, woke: null, ended: false } },
      ],
    });
    expect(failedNotifications()).toHaveLength(1);
    expect(starter.calls).toHaveLength(1);
    expect(store.locks.get('checkout')?.holder).toBe(nameOf('a'));
  });

  it('changes nothing for an execution whose status change event did arrive', async () => {
    history.end(HOLDER, 'ABORTED', '2025-03-04T10:27:00Z', { error: 'StoppedByPerson' });
    await handOffEndedExecution(ports(), {
      name: HOLDER,
      status: 'ABORTED',
      input: HOLDER_INPUT,
      error: 'StoppedByPerson',
    });
    const told = notifier.published.length;

    await reconcileEndedExecutions(ports());

    expect(notifier.published).toHaveLength(told);
    expect(failedNotifications()).toHaveLength(1);
    expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
  });

  it('hands on a release that failed through its own states (rolled back) without ending or telling it again', async () => {
    await store.updateRecord('checkout', '2025-03-04T10:00:00Z', HOLDER, { status: 'rolled_back' });
    history.end(HOLDER, 'FAILED', '2025-03-04T10:27:00Z', { error: 'ReleaseRolledBack', cause: 'alarm' });

    await expect(reconcileEndedExecutions(ports())).resolves.toMatchObject({
      executions: [{ name: HOLDER, status: 'FAILED', outcome: { released: true, woke: nameOf('a') } }],
    });
    expect(failedNotifications()).toEqual([]);
  });

  it("looks back an hour from the alarm's state change, not from a late run: a notification Lambda's queue held back still finds the end before it", async () => {
    // The end at 07:40 moved the alarm at 07:42; Lambda's queue (throttled) ran the notification at 10:30.
    history.end(HOLDER, 'ABORTED', '2025-03-04T07:40:00Z', { error: 'StoppedByPerson' });

    const result = await reconcileEndedExecutions(ports(), {
      notifiedAt: new Date('2025-03-04T07:42:00.123Z'),
    });

    expect(result).toMatchObject({
      since: '2025-03-04T06:42:00.123Z',
      executions: [
        { name: HOLDER, status: 'ABORTED', outcome: { released: true, woke: nameOf('a'), ended: true } },
      ],
    });
    expect(history.listCalls.map((call) => call.since)).toEqual(Array(3).fill('2025-03-04T06:42:00.123Z'));
    expect(store.locks.get('checkout')).toBeUndefined();
  });

  it('never looks back further than the oldest notification Lambda still delivers (its maximum event age), nor from a state change in the future', async () => {
    expect(RECONCILE_MAX_NOTIFICATION_AGE_SECONDS).toBe(21_600);
    await reconcileEndedExecutions(ports(), { notifiedAt: new Date('2015-06-03T17:43:27.123Z') });
    await reconcileEndedExecutions(ports(), { notifiedAt: new Date('2025-03-04T10:35:00Z') });

    expect(history.listCalls.map((call) => call.since)).toEqual([
      ...Array(3).fill('2025-03-04T03:30:00.000Z'),
      ...Array(3).fill('2025-03-04T09:30:00.000Z'),
    ]);
  });

  it('leaves out executions that ended before the look-back', async () => {
    history.end(HOLDER, 'ABORTED', '2025-03-04T09:29:59Z');

    await expect(reconcileEndedExecutions(ports())).resolves.toMatchObject({ executions: [] });
    expect(store.locks.get('checkout')?.holder).toBe(HOLDER);
    expect(failedNotifications()).toEqual([]);
  });

  it('hands on the others when one fails, then fails naming it (the notification is retried)', async () => {
    history.end('checkout-gone', 'FAILED', '2025-03-04T10:20:00Z', { error: 'States.Runtime' });
    history.end(HOLDER, 'ABORTED', '2025-03-04T10:27:00Z');
    history.failDescribeOf = executionArn('checkout-gone');

    const reconciling = reconcileEndedExecutions(ports());

    await expect(reconciling).rejects.toThrow(ReconcileFailedError);
    await expect(reconciling).rejects.toThrow(
      `1 of 2 ended executions could not be handed on: checkout-gone (FAILED): ExecutionDoesNotExist: Execution Does Not Exist: '${executionArn('checkout-gone')}'`,
    );
    expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
  });

  it('skips an execution whose input names no service (no release of this pipeline) rather than failing every look', async () => {
    history.end('hand-started', 'FAILED', '2025-03-04T10:20:00Z', { input: '{"hello":"world"}' });

    await expect(reconcileEndedExecutions(ports())).resolves.toMatchObject({
      executions: [
        {
          name: 'hand-started',
          outcome: {
            skipped:
              'the input of execution hand-started names no service: it is not a release of this pipeline',
          },
        },
      ],
    });
  });
});
