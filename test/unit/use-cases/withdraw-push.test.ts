import { beforeEach, describe, expect, it } from 'vitest';
import type { OperationRequest } from '../../../lib/domain/operations.ts';
import type { ReleaseRequest } from '../../../lib/domain/types.ts';
import type { ReleaseRecord } from '../../../lib/ports/release-history.ts';
import { handOffService, pendingPushReporter, reportRelease } from '../../../lib/use-cases/finish-release.ts';
import { type OperatePorts, operate } from '../../../lib/use-cases/operate.ts';
import { queueBehindHolder } from '../../../lib/use-cases/queue-push.ts';
import {
  acquireReleaseLock,
  releaseLockAndWakeNext,
  type SupersedePendingPush,
} from '../../../lib/use-cases/release-lock.ts';
import { type StartReleaseResult, startRelease } from '../../../lib/use-cases/start-release.ts';
import { inProcessQueuedPushes, withdrawQueuedPush } from '../../../lib/use-cases/withdraw-push.ts';
import {
  FakeExecutionStarter,
  FakeNotifier,
  FakeReleaseEvents,
  FakeTaskTokens,
  InMemoryReleaseStore,
} from '../fakes.ts';
import { repoConfig, STATE_MACHINE_ARN, TOPIC_ARN, withFixedClock } from '../fixtures.ts';
import { HOLDER, holdCheckoutLock, NOW, NOW_EPOCH, nameOf, push } from './queue-fixtures.ts';

const config = repoConfig();
const SETTINGS = { region: 'us-east-1', defaultTopicArn: TOPIC_ARN };
const ALICE = { via: 'cli', id: 'arn:aws:sts::123456789012:assumed-role/operator/alice' } as const;

/**
 * Sends every call of `methods` on `store` through `around` with its 1-based number across all of them, so
 * a test can fail or lose the n-th call; `original` makes the real call. Returns how many calls were made.
 */
const throughStoreCalls = <M extends keyof InMemoryReleaseStore>(
  store: InMemoryReleaseStore,
  methods: readonly M[],
  around: (call: number, method: M, original: () => Promise<unknown>, args: never[]) => Promise<unknown>,
): (() => number) => {
  let call = 0;
  for (const method of methods) {
    const original = (store[method] as (...args: never[]) => Promise<unknown>).bind(store);
    Object.assign(store, {
      [method]: async (...args: never[]) => {
        call += 1;
        return around(call, method, () => original(...args), args);
      },
    });
  }
  return () => call;
};

describe('Use case: withdrawing a push queued as data', () => {
  let store: InMemoryReleaseStore;
  let tokens: FakeTaskTokens;
  let starter: FakeExecutionStarter;
  let notifier: FakeNotifier;
  let events: FakeReleaseEvents;
  let supersedePending: SupersedePendingPush;
  let queue: (request: ReleaseRequest, executionName: string) => Promise<StartReleaseResult | undefined>;

  withFixedClock(NOW);

  /** The running release (pushed at 10:00) holds the lock with a live lease. */
  const holdLock = () => {
    holdCheckoutLock(store, starter);
  };

  const withdraw = (releaseId: string, reason = 'bad build') =>
    withdrawQueuedPush({ store, notifier, events, starter }, SETTINGS, () => TOPIC_ARN, {
      service: 'checkout',
      releaseId,
      reason,
      actor: ALICE,
    });

  const handOff = () =>
    releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER);

  /** An empty table, no execution, nothing published: what each test (and each fault's attempt) starts from. */
  const freshAccount = () => {
    store = new InMemoryReleaseStore();
    starter = new FakeExecutionStarter(STATE_MACHINE_ARN);
    notifier = new FakeNotifier();
    events = new FakeReleaseEvents();
    supersedePending = pendingPushReporter(
      { store, notifier, events },
      () => SETTINGS,
      () => TOPIC_ARN,
    );
  };

  /**
   * Runs `between` once, just before the next removal from checkout's queue (a replaceWaiter that puts no
   * waiter back) is applied: what another call does between the withdrawal's read and its removal.
   */
  const beforeQueueRemoval = (between: () => Promise<void>) => {
    const replace = store.replaceWaiter.bind(store);
    store.replaceWaiter = async (service, expected, next) => {
      if (next !== undefined) return replace(service, expected, next);
      store.replaceWaiter = replace;
      await between();
      return replace(service, expected, next);
    };
  };

  /** A fresh account where push a (v3, at 10:05) is queued behind the holder: each fault's attempt starts here. */
  const queueOnFreshAccount = async () => {
    freshAccount();
    holdLock();
    await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
  };

  beforeEach(() => {
    tokens = new FakeTaskTokens();
    freshAccount();
    queue = (request, executionName) =>
      queueBehindHolder({ store, starter, tokens, events, supersedePending }, request, executionName);
  });

  describe('Function: withdrawQueuedPush', () => {
    it('takes the queued push out, records it failed naming who withdrew it, and tells it once', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      events.published.length = 0;

      await expect(withdraw(nameOf('a'))).resolves.toEqual({
        status: 'withdrawn',
        releaseId: nameOf('a'),
        toVersion: 'v3',
        behind: HOLDER,
        reason: 'aborted while queued by alice via the CLI: bad build',
        told: true,
      });

      expect(store.waiters.get('checkout')).toBeUndefined();
      expect(store.record(nameOf('a'))).toMatchObject({
        status: 'failed',
        toVersion: 'v3',
        requestedAt: '2025-03-04T10:05:00Z',
        reason: 'aborted while queued by alice via the CLI: bad build',
        progress: { state: 'failed', newPercent: 0 },
      });
      expect(
        notifier.published.map(({ topicArn, notification }) => [topicArn, notification.subject]),
      ).toEqual([
        [
          TOPIC_ARN,
          '[shipline] checkout: release of v3 failed: aborted while queued by alice via the CLI: bad build',
        ],
      ]);
      expect(events.published).toEqual([
        expect.objectContaining({
          kind: 'failed',
          releaseId: nameOf('a'),
          reason: 'aborted while queued by alice via the CLI: bad build',
          actor: ALICE,
        }),
      ]);
      // Never started: the hand-off finds nothing queued and wakes nobody.
      await expect(handOff()).resolves.toEqual({ released: true });
      expect(starter.calls).toEqual([]);
    });

    it('never lets a withdrawn push take the lock, even when an execution of it was started anyway', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const request = store.waiters.get('checkout')?.pendingInput;
      await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'withdrawn', told: true });
      const withdrawnRecord = store.record(nameOf('a'));
      // An execution of it starts all the same (its start was already under way when the person withdrew
      // it), and reaches the lock once the holder has handed the service on.
      await starter.start(nameOf('a'), JSON.parse(request ?? '{}'));
      await expect(handOff()).resolves.toEqual({ released: true });
      const v3 = JSON.parse(request ?? '{}') as ReleaseRequest;

      await expect(acquireReleaseLock({ store }, config, v3, nameOf('a'))).resolves.toMatchObject({
        acquired: false,
        superseded: true,
      });
      expect(store.locks.get('checkout')).toBeUndefined();
      // Its superseded report neither rewrites the withdrawal's record nor tells anyone again.
      await reportRelease({ store, notifier, events }, SETTINGS, {
        kind: 'superseded',
        request: v3,
        releaseId: nameOf('a'),
        executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${nameOf('a')}`,
        supersededBy: HOLDER,
        topicArn: TOPIC_ARN,
      });
      expect(store.record(nameOf('a'))).toEqual(withdrawnRecord);
      expect(notifier.published).toHaveLength(1);
    });

    it('says a person on Slack by their name', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const result = await withdrawQueuedPush(
        { store, notifier, events, starter },
        SETTINGS,
        () => TOPIC_ARN,
        {
          service: 'checkout',
          releaseId: nameOf('a'),
          reason: 'wrong flags',
          actor: { via: 'slack', id: 'slack:T1/U1', name: 'bob' },
        },
      );
      expect(result).toMatchObject({ reason: 'aborted while queued by bob via Slack: wrong flags' });
    });

    it('never queues the withdrawn push again: the same digest pushed again (another tag) is a duplicate', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await withdraw(nameOf('a'));

      await expect(
        startRelease({ starter, queue }, config, push('10:05', 'a', 'latest')),
      ).resolves.toMatchObject({
        status: 'duplicate',
        executionName: nameOf('a'),
      });
      expect(store.waiters.get('checkout')).toBeUndefined();
      // Also once the service is free.
      store.locks.delete('checkout');
      await expect(startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'))).resolves.toMatchObject(
        {
          status: 'duplicate',
        },
      );
      expect(starter.calls).toEqual([]);
    });

    it('withdraws nothing when the hand-off read the push first and withdrawal comes before its start: nothing starts', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // The hand-off frees the lock and reads the queued push; the withdrawal lands before it starts it.
      const release = store.releaseLock.bind(store);
      let withdrawn: Awaited<ReturnType<typeof withdraw>> | undefined;
      store.releaseLock = async (service, holder) => {
        const result = await release(service, holder);
        withdrawn = await withdraw(nameOf('a'));
        return result;
      };

      await expect(handOff()).resolves.toEqual({ released: true });

      expect(withdrawn).toMatchObject({ status: 'withdrawn' });
      expect(starter.calls).toEqual([]);
      expect(store.record(nameOf('a'))?.status).toBe('failed');
    });

    it('leaves a push the hand-off is starting alone, and says it started: its execution is aborted instead', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // The withdrawal lands while the hand-off starts the push (it marked it as being started first).
      const start = starter.start.bind(starter);
      let withdrawn: Awaited<ReturnType<typeof withdraw>> | undefined;
      starter.start = async (name, input) => {
        withdrawn = await withdraw(nameOf('a'));
        return start(name, input);
      };

      await expect(handOff()).resolves.toEqual({ released: true, woke: nameOf('a') });

      expect(withdrawn).toEqual({ status: 'started', releaseId: nameOf('a') });
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
      expect(store.record(nameOf('a'))).toBeUndefined();
      expect(notifier.published).toEqual([]);
      // Once started and out of the queue, a later withdrawal says so too (its execution runs).
      await expect(withdraw(nameOf('a'))).resolves.toEqual({ status: 'started', releaseId: nameOf('a') });
    });

    // A hand-off that marks the push as being started between the withdrawal's read and its removal (so
    // the removal fails and the withdrawal answers `started`) starts it, and its execution reaches the lock
    // while the withdrawal is still under way (its removal throttled and retried for a second or so). A
    // withdrawal that marked the push before its removal (as it once did) made the lock refuse it as told:
    // the push was never released and nobody was told. It marks only a push its removal took out.
    it('a push the hand-off starts while the withdrawal holds its mark takes the lock once the withdrawal says it started', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const request = JSON.parse(store.waiters.get('checkout')?.pendingInput ?? '{}') as ReleaseRequest;
      let acquired: Awaited<ReturnType<typeof acquireReleaseLock>> | undefined;
      // The withdrawal's removal, after its mark: the hand-off marks the push as being started, starts
      // it and takes it out of the queue, and its execution reaches the lock, all before the removal.
      beforeQueueRemoval(async () => {
        await handOff();
        acquired = await acquireReleaseLock({ store }, config, request, nameOf('a'));
      });

      await expect(withdraw(nameOf('a'))).resolves.toEqual({ status: 'started', releaseId: nameOf('a') });

      // Said started, and nothing told: it is released, as if nobody had tried to withdraw it.
      expect(acquired).toEqual({ acquired: true, superseded: false });
      expect(store.locks.get('checkout')?.holder).toBe(nameOf('a'));
      expect(notifier.published).toEqual([]);
    });

    it('never says withdrawn a push that took the lock while DescribeExecution does not show its execution yet (eventually consistent)', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const request = JSON.parse(store.waiters.get('checkout')?.pendingInput ?? '{}') as ReleaseRequest;
      // DescribeExecution "is eventually consistent. The results are best effort and may not reflect very
      // recent updates" (Step Functions API reference): the execution just started is not found yet.
      starter.executionState = async () => 'none';
      // Between the withdrawal's read of the queue and its removal: the hand-off starts the push and its
      // execution takes the lock, so the removal fails.
      beforeQueueRemoval(async () => {
        await handOff();
        await expect(acquireReleaseLock({ store }, config, request, nameOf('a'))).resolves.toEqual({
          acquired: true,
          superseded: false,
        });
      });

      await expect(withdraw(nameOf('a'))).resolves.toEqual({ status: 'started', releaseId: nameOf('a') });

      expect(store.locks.get('checkout')?.holder).toBe(nameOf('a'));
      expect(store.record(nameOf('a'))).toBeUndefined();
      expect(notifier.published).toEqual([]);
      expect(store.notified.has(`${nameOf('a')}#superseded`)).toBe(false);
      // Asked again (DescribeExecution still behind), it says the same: the lock names it.
      await expect(withdraw(nameOf('a'))).resolves.toEqual({ status: 'started', releaseId: nameOf('a') });
    });

    it('never says withdrawn a push that took the lock between its look at the lock and its mark (DescribeExecution behind)', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const request = JSON.parse(store.waiters.get('checkout')?.pendingInput ?? '{}') as ReleaseRequest;
      starter.executionState = async () => 'none';
      // Before the removal: the hand-off marks the push as being started, starts it and takes it out of
      // the queue, so the removal fails, and the look after it finds neither the push nor its execution.
      beforeQueueRemoval(async () => {
        await handOff();
      });
      const mark = store.markNotified.bind(store);
      store.markNotified = async (releaseId, kind) => {
        // Its execution takes the lock after that look, before the withdrawal's mark.
        store.markNotified = mark;
        await expect(acquireReleaseLock({ store }, config, request, nameOf('a'))).resolves.toEqual({
          acquired: true,
          superseded: false,
        });
        return mark(releaseId, kind);
      };

      await expect(withdraw(nameOf('a'))).resolves.toEqual({ status: 'started', releaseId: nameOf('a') });

      expect(store.locks.get('checkout')?.holder).toBe(nameOf('a'));
      expect(store.record(nameOf('a'))).toBeUndefined();
      expect(notifier.published).toEqual([]);
      expect(store.notified.has(`${nameOf('a')}#superseded`)).toBe(false);
    });

    const lostMarkAnswers = {
      false: 'the retry met its condition no more',
      timeout: 'the retries ran out: the mark is read',
      unread:
        'the retries ran out and the mark cannot be read: the push is out of the queue, so withdrawn at once',
    } as const;
    for (const [answer, how] of Object.entries(lostMarkAnswers))
      it(`withdraws the push when DynamoDB applied its mark and the answer was lost (${how})`, async () => {
        holdLock();
        await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
        const mark = store.markNotified.bind(store);
        store.markNotified = async (releaseId, kind) => {
          store.markNotified = mark;
          await mark(releaseId, kind);
          if (answer === 'false') return mark(releaseId, kind);
          throw Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });
        };
        if (answer === 'unread') {
          const read = store.wasNotified.bind(store);
          store.wasNotified = async () => {
            store.wasNotified = read;
            throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
          };
        }

        await expect(withdraw(nameOf('a'))).resolves.toMatchObject({
          status: 'withdrawn',
          releaseId: nameOf('a'),
          told: true,
        });

        expect(store.waiters.get('checkout')).toBeUndefined();
        expect(store.record(nameOf('a'))?.status).toBe('failed');
        expect(notifier.events()).toEqual(['failed']);
        await expect(handOff()).resolves.toEqual({ released: true });
        expect(starter.calls).toEqual([]);
        // Asked again, it says it was withdrawn already, and tells nobody again.
        await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'not-queued' });
        expect(notifier.events()).toEqual(['failed']);
      });

    it('two people withdrawing the push at once: withdrawn once, its mark kept, told once', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const replace = store.replaceWaiter.bind(store);
      let second: Awaited<ReturnType<typeof withdraw>> | undefined;
      store.replaceWaiter = async (service, expected, next) => {
        // Bob's withdrawal runs whole between Alice's mark and her removal.
        store.replaceWaiter = replace;
        second = await withdraw(nameOf('a'), 'broken migration');
        return replace(service, expected, next);
      };

      const first = await withdraw(nameOf('a'));

      expect([first.status, second?.status].filter((status) => status === 'withdrawn')).toHaveLength(1);
      expect(store.waiters.get('checkout')).toBeUndefined();
      expect(store.record(nameOf('a'))?.status).toBe('failed');
      expect(store.notified.has(`${nameOf('a')}#superseded`)).toBe(true);
      expect(notifier.events()).toEqual(['failed']);
      await expect(handOff()).resolves.toEqual({ released: true });
      expect(starter.calls).toEqual([]);
    });

    it('starts the push again on a retried hand-off after a failed start (it stays queued, marked)', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const start = starter.start.bind(starter);
      starter.start = async () => {
        starter.start = start;
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      };
      await expect(handOff()).rejects.toThrow('Rate exceeded');
      // A withdrawal between the two attempts finds it being started.
      await expect(withdraw(nameOf('a'))).resolves.toEqual({ status: 'started', releaseId: nameOf('a') });

      await expect(handOff()).resolves.toEqual({ released: false, woke: nameOf('a') });
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('leaves a push a newer one replaced alone: it was superseded, and the newer push stays queued', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));

      await expect(withdraw(nameOf('a'))).resolves.toEqual({
        status: 'not-queued',
        releaseId: nameOf('a'),
        why: `push ${nameOf('a')} is no longer queued: it was superseded by a newer push or withdrawn already`,
      });
      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('b'));
      expect(store.record(nameOf('a'))?.status).toBe('superseded');
      expect(notifier.events()).toEqual(['superseded']);
    });

    it('withdraws once: a second withdrawal (a double click) finds it withdrawn already and tells nobody again', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await withdraw(nameOf('a'));

      await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'not-queued' });
      expect(notifier.events()).toEqual(['failed']);
    });

    it('says when nothing of that name is queued', async () => {
      holdLock();
      await expect(withdraw(nameOf('c'))).resolves.toEqual({
        status: 'not-queued',
        releaseId: nameOf('c'),
        why: `push ${nameOf('c')} is not queued for checkout: nothing is queued`,
      });
    });

    it('still withdraws when people cannot be told, and says why in the answer', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AuthorizationErrorException' });

      await expect(withdraw(nameOf('a'))).resolves.toMatchObject({
        status: 'withdrawn',
        told: false,
        toldError: 'AuthorizationErrorException: not authorized',
      });
      expect(store.waiters.get('checkout')).toBeUndefined();
      expect(store.record(nameOf('a'))?.status).toBe('failed');
      await handOff();
      expect(starter.calls).toEqual([]);
    });

    it('counts a notification the withdrawal could not send as NotificationsLost, so the alarm on it pages', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AuthorizationErrorException' });
      const counted: { metric: string; dimensions: Record<string, string> }[] = [];
      const metrics = {
        count: async (metric: string, dimensions: Record<string, string>) =>
          void counted.push({ metric, dimensions }),
      };

      await expect(
        withdrawQueuedPush({ store, notifier, events, starter, metrics }, SETTINGS, () => TOPIC_ARN, {
          service: 'checkout',
          releaseId: nameOf('a'),
          reason: 'bad build',
          actor: ALICE,
        }),
      ).resolves.toMatchObject({ status: 'withdrawn', told: false });

      expect(counted).toEqual([{ metric: 'NotificationsLost', dimensions: { Service: 'checkout' } }]);
    });

    it('tells nothing lost when every notification of the withdrawal went out, and a count that fails changes no answer', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await startRelease({ starter, queue }, config, push('10:06', 'b', 'v4'));
      const counted: string[] = [];
      const ok = { count: async (metric: string) => void counted.push(metric) };
      await expect(
        withdrawQueuedPush({ store, notifier, events, starter, metrics: ok }, SETTINGS, () => TOPIC_ARN, {
          service: 'checkout',
          releaseId: nameOf('b'),
          reason: 'bad build',
          actor: ALICE,
        }),
      ).resolves.toMatchObject({ status: 'withdrawn', told: true });
      expect(counted).toEqual([]);

      await startRelease({ starter, queue }, config, push('10:07', 'c', 'v5'));
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AuthorizationErrorException' });
      const denied = {
        count: async () => {
          throw Object.assign(new Error('not authorized to perform: cloudwatch:PutMetricData'), {
            name: 'AccessDenied',
          });
        },
      };
      await expect(
        withdrawQueuedPush({ store, notifier, events, starter, metrics: denied }, SETTINGS, () => TOPIC_ARN, {
          service: 'checkout',
          releaseId: nameOf('c'),
          reason: 'bad build',
          actor: ALICE,
        }),
      ).resolves.toMatchObject({
        status: 'withdrawn',
        told: false,
        toldError: 'AuthorizationErrorException: not authorized',
      });
    });

    it('tells the untold push the withdrawn one had replaced (its trigger dead-lettered before telling it)', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
      await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
        'not authorized',
      );

      await expect(withdraw(nameOf('b'))).resolves.toMatchObject({ status: 'withdrawn', told: true });

      expect(store.record(nameOf('a'))).toMatchObject({
        status: 'superseded',
        reason: `superseded by newer release ${nameOf('b')}`,
      });
      expect(notifier.events()).toEqual(['superseded', 'failed']);
    });

    it('never tells superseded the push the withdrawn one had replaced while the hand-off started it (it runs)', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // The hand-off marks v3 and starts it, and fails before taking it out of the queue.
      const dequeue = store.dequeueWaiter.bind(store);
      store.dequeueWaiter = async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      };
      await expect(handOff()).rejects.toThrow('Rate exceeded');
      store.dequeueWaiter = dequeue;
      // Another release holds the lock again; v4 replaces v3 in the queue (marked: kept, not told).
      holdLock();
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      expect(store.waiters.get('checkout')?.supersedes?.executionName).toBe(nameOf('a'));

      await expect(withdraw(nameOf('b'))).resolves.toMatchObject({ status: 'withdrawn', told: true });

      // v3's execution runs, and with v4 withdrawn nothing supersedes it: it is never told it was skipped.
      expect(store.record(nameOf('a'))).toBeUndefined();
      expect(notifier.events()).toEqual(['failed']);
    });

    it('tells superseded the push the withdrawn one had replaced while the hand-off failed to start it', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const start = starter.start.bind(starter);
      starter.start = async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      };
      await expect(handOff()).rejects.toThrow('Rate exceeded');
      starter.start = start;
      holdLock();
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));

      await expect(withdraw(nameOf('b'))).resolves.toMatchObject({ status: 'withdrawn', told: true });

      // v3 has no execution and leaves the queue with v4: told now, or never.
      expect(store.record(nameOf('a'))).toMatchObject({ status: 'superseded' });
      expect(notifier.events()).toEqual(['superseded', 'failed']);
    });

    it('leaves no mark when the removal fails (throttled): a retry withdraws it, and nothing is half-done', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const replace = store.replaceWaiter.bind(store);
      store.replaceWaiter = async () => {
        store.replaceWaiter = replace;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
          name: 'ThrottlingException',
        });
      };

      await expect(withdraw(nameOf('a'))).rejects.toThrow('Rate of requests exceeds');
      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('a'));
      expect(store.notified.has(`${nameOf('a')}#superseded`)).toBe(false);

      // Asked again, it is withdrawn (not answered as superseded or withdrawn already).
      await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'withdrawn', told: true });
      expect(notifier.events()).toEqual(['failed']);
    });

    it('a push whose withdrawal failed (its removal denied) and that a newer push then replaced is told superseded', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const replace = store.replaceWaiter.bind(store);
      store.replaceWaiter = async () => {
        store.replaceWaiter = replace;
        throw Object.assign(new Error('not authorized to perform: dynamodb:DeleteItem'), {
          name: 'AccessDeniedException',
        });
      };
      await expect(withdraw(nameOf('a'))).rejects.toThrow('not authorized');

      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));

      expect(store.record(nameOf('a'))?.status).toBe('superseded');
      expect(notifier.events()).toEqual(['superseded']);
    });

    it('a newer push replacing it between the mark and the removal: it is told superseded now, not when the service is handed on', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      beforeQueueRemoval(async () => {
        // The trigger queues a newer push while the withdrawal holds its mark: its telling finds it marked.
        await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      });

      await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'not-queued' });

      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('b'));
      expect(store.record(nameOf('a'))?.status).toBe('superseded');
      expect(notifier.events()).toEqual(['superseded']);
      // Told once: the hand-off that later starts the newer push tells it no more.
      await handOff();
      expect(notifier.events()).toEqual(['superseded']);
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('b')]);
    });

    describe('when DynamoDB applied the removal and its answer was lost', () => {
      /**
       * The next removal is applied, then its answer is lost: the SDK's retry meets a condition that no longer
       * holds (ConditionalCheckFailed, so the store answers false), or its retries run out (a timeout).
       * `between` runs after the write and before the withdrawal hears back.
       */
      const loseRemovalAnswer = (answer: 'false' | 'timeout', between?: () => Promise<unknown>) => {
        const replace = store.replaceWaiter.bind(store);
        store.replaceWaiter = async (service, expected, next) => {
          store.replaceWaiter = replace;
          await replace(service, expected, next);
          await between?.();
          if (answer === 'false') return replace(service, expected, next);
          throw Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });
        };
      };

      for (const answer of ['false', 'timeout'] as const) {
        it(`is a withdrawal (${answer === 'false' ? 'the retry met its condition no more' : 'the retries ran out'}): recorded, told once, never started`, async () => {
          holdLock();
          await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
          events.published.length = 0;
          loseRemovalAnswer(answer);

          await expect(withdraw(nameOf('a'))).resolves.toEqual({
            status: 'withdrawn',
            releaseId: nameOf('a'),
            toVersion: 'v3',
            behind: HOLDER,
            reason: 'aborted while queued by alice via the CLI: bad build',
            told: true,
          });

          expect(store.waiters.get('checkout')).toBeUndefined();
          expect(store.record(nameOf('a'))).toMatchObject({
            status: 'failed',
            reason: 'aborted while queued by alice via the CLI: bad build',
          });
          expect(notifier.events()).toEqual(['failed']);
          expect(events.published.map((event) => event.kind)).toEqual(['failed']);
          // Marked: its event delivered again is a duplicate, and the hand-off wakes nobody.
          await expect(
            startRelease({ starter, queue }, config, push('10:05', 'a', 'v3')),
          ).resolves.toMatchObject({ status: 'duplicate' });
          await expect(handOff()).resolves.toEqual({ released: true });
          expect(starter.calls).toEqual([]);
          // A second withdrawal finds it withdrawn already, and tells nobody again.
          await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'not-queued' });
          expect(notifier.events()).toEqual(['failed']);
        });
      }

      it('is a withdrawal when the hand-off came between the write and the answer: it found nothing to start', async () => {
        holdLock();
        await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
        let handedOff: Awaited<ReturnType<typeof handOff>> | undefined;
        loseRemovalAnswer('false', async () => {
          handedOff = await handOff();
        });

        await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'withdrawn', told: true });

        expect(handedOff).toEqual({ released: true });
        expect(starter.calls).toEqual([]);
        expect(store.record(nameOf('a'))?.status).toBe('failed');
        expect(notifier.events()).toEqual(['failed']);
      });

      it('is a withdrawal when a newer push was queued into the emptied queue before the answer: the newer push stays queued and starts', async () => {
        holdLock();
        await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
        loseRemovalAnswer('timeout', () =>
          startRelease({ starter, queue }, config, push('10:08', 'b', 'v4')),
        );

        await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'withdrawn', told: true });

        expect(store.waiters.get('checkout')).toMatchObject({ executionName: nameOf('b') });
        expect(store.waiters.get('checkout')?.supersedes).toBeUndefined();
        expect(store.record(nameOf('a'))?.status).toBe('failed');
        expect(notifier.events()).toEqual(['failed']);
        await handOff();
        expect(starter.calls.map((call) => call.name)).toEqual([nameOf('b')]);
        expect(notifier.events()).toEqual(['failed']);
      });

      it('is no withdrawal when the removal truly failed because the hand-off marked the push first, even once it started it and took it out', async () => {
        holdLock();
        await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
        // The whole hand-off (mark, start, dequeue) lands between the withdrawal's read and its removal.
        const replace = store.replaceWaiter.bind(store);
        let handedOff: Awaited<ReturnType<typeof handOff>> | undefined;
        store.replaceWaiter = async (service, expected, next) => {
          if (next === undefined) {
            store.replaceWaiter = replace;
            handedOff = await handOff();
          }
          return replace(service, expected, next);
        };

        await expect(withdraw(nameOf('a'))).resolves.toEqual({ status: 'started', releaseId: nameOf('a') });

        expect(handedOff).toEqual({ released: true, woke: nameOf('a') });
        expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
        expect(store.record(nameOf('a'))).toBeUndefined();
        expect(store.notified.has(`${nameOf('a')}#superseded`)).toBe(false);
        expect(notifier.events()).toEqual([]);
      });

      it('is no withdrawal when the removal failed because a newer push replaced the push (it carries it): told superseded at once, once', async () => {
        holdLock();
        await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
        const replace = store.replaceWaiter.bind(store);
        store.replaceWaiter = async (service, expected, next) => {
          store.replaceWaiter = replace;
          await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
          // The removal, refused, then throws as a timeout would (the SDK's retries ran out).
          await replace(service, expected, next);
          throw Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });
        };

        await expect(withdraw(nameOf('a'))).rejects.toThrow('Connection timed out');

        expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('b'));
        expect(store.record(nameOf('a'))?.status).toBe('superseded');
        // The newer push's telling found the mark: told by the withdrawal that took its mark back, not
        // when the service is handed on; and once (neither a retried withdrawal nor the hand-off tells it again).
        expect(notifier.events()).toEqual(['superseded']);
        await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'not-queued' });
        await handOff();
        expect(notifier.events()).toEqual(['superseded']);
        expect(starter.calls.map((call) => call.name)).toEqual([nameOf('b')]);
      });

      it('is no withdrawal when a newer push replaced the push and the hand-off already started it: told superseded once, from its record', async () => {
        holdLock();
        await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
        const replace = store.replaceWaiter.bind(store);
        store.replaceWaiter = async (service, expected, next) => {
          if (next === undefined) {
            store.replaceWaiter = replace;
            // v4's trigger replaces v3 (its telling finds the withdrawal's mark: recorded, no notification);
            // the hand-off skips v3 on that mark, starts v4 and takes it (and v3 with it) out of the queue.
            await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
            await handOff();
          }
          return replace(service, expected, next);
        };
        events.published.length = 0;

        await expect(withdraw(nameOf('a'))).resolves.toEqual({
          status: 'not-queued',
          releaseId: nameOf('a'),
          why: `push ${nameOf('a')} is no longer queued: it was superseded by a newer push or withdrawn already`,
        });

        expect(starter.calls.map((call) => call.name)).toEqual([nameOf('b')]);
        expect(store.record(nameOf('a'))).toMatchObject({
          status: 'superseded',
          reason: `superseded by newer release ${nameOf('b')}`,
        });
        expect(notifier.published.map(({ notification }) => notification.message)).toEqual([
          expect.objectContaining({
            event: 'superseded',
            release: nameOf('a'),
            reason: `superseded by newer release ${nameOf('b')}`,
            supersededBy: nameOf('b'),
            toVersion: 'v3',
          }),
        ]);
        // Its release event went out once, when it was recorded.
        expect(
          events.published.filter((event) => event.releaseId === nameOf('a')).map((event) => event.kind),
        ).toEqual(['superseded']);
      });

      it('never tells superseded a push the hand-off was starting when a newer push replaced it (kept): it may start this moment', async () => {
        holdLock();
        await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
        const replace = store.replaceWaiter.bind(store);
        store.replaceWaiter = async (service, expected, next) => {
          if (next === undefined) {
            store.replaceWaiter = replace;
            // A hand-off marks v3 as being started (its StartExecution not sent yet); v4 replaces it, kept.
            const queued = store.waiters.get('checkout');
            if (!queued) throw new Error('not queued');
            await replace(service, queued, { ...queued, taskToken: `${queued.taskToken}:starting` });
            await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
          }
          return replace(service, expected, next);
        };

        await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'not-queued' });

        expect(store.waiters.get('checkout')?.supersedes?.executionName).toBe(nameOf('a'));
        expect(store.record(nameOf('a'))).toBeUndefined();
        expect(notifier.events()).toEqual([]);
      });

      it('is no withdrawal when a hand-off superseded the push (older than its holder) meanwhile: its record says so', async () => {
        holdLock();
        await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
        // The holder now is newer than the queued push (it took a lock its predecessor's hand-off left free).
        store.locks.set('checkout', {
          holder: HOLDER,
          requestedAt: '2025-03-04T10:06:00Z',
          acquiredAt: '2025-03-04T10:06:01.000Z',
          leaseExpiresAt: NOW_EPOCH + 3600,
        });
        starter.executions.set(HOLDER, {});
        const queued = store.waiters.get('checkout');
        if (!queued) throw new Error('not queued');
        beforeQueueRemoval(async () => {
          // The hand-off records the push superseded by its holder and takes it out; the removal finds it gone.
          await handOff();
        });

        await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'not-queued' });

        expect(store.record(nameOf('a'))).toMatchObject({
          status: 'superseded',
          reason: `superseded by newer release ${HOLDER}`,
        });
        expect(starter.calls).toEqual([]);
        expect(events.published.filter((event) => event.kind === 'failed')).toEqual([]);
        // The hand-off's telling found the withdrawal's mark: told by the withdrawal, once.
        expect(notifier.events()).toEqual(['superseded']);
      });
    });

    it('a newer push replacing it between the mark and the removal and started at once by the hand-off: it is told superseded still', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      beforeQueueRemoval(async () => {
        // While the withdrawal holds its mark, a newer push replaces the queued one (its telling and the
        // hand-off's find the mark), and the hand-off starts it and takes it out of the queue: no queued
        // push carries the replaced one when the withdrawal takes its mark back.
        await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
        await handOff();
      });

      await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'not-queued' });

      expect(store.waiters.get('checkout')).toBeUndefined();
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('b')]);
      expect(store.record(nameOf('a'))).toMatchObject({ status: 'superseded', supersededBy: nameOf('b') });
      expect(notifier.events()).toEqual(['superseded']);
      // Told once: a second look (a retried withdrawal) tells nobody again.
      await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'not-queued' });
      expect(notifier.events()).toEqual(['superseded']);
    });

    it('says so when the withdrawn push could not be recorded (its record write throttled), not that it was', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const put = store.putRecord.bind(store);
      store.putRecord = async () => {
        store.putRecord = put;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
          name: 'ThrottlingException',
        });
      };

      await expect(withdraw(nameOf('a'))).resolves.toMatchObject({
        status: 'withdrawn',
        told: false,
        recorded: false,
        toldError: 'ThrottlingException: Rate of requests exceeds the allowed throughput',
      });
      // Out of the queue all the same: it never starts.
      expect(store.waiters.get('checkout')).toBeUndefined();
      expect(store.record(nameOf('a'))).toBeUndefined();
      await handOff();
      expect(starter.calls).toEqual([]);
    });

    it('a fault at any one call of the withdrawal leaves it whole: withdrawn and never started, or nothing done and withdrawn on a retry', async () => {
      const methods = [
        'readWaiter',
        'markNotified',
        'replaceWaiter',
        'unmarkNotified',
        'readLock',
        'wasNotified',
        'putRecord',
      ] as const;
      // Count the calls one fault-free withdrawal makes, then fail each of them in turn.
      const inject = (failAt: number) =>
        throughStoreCalls(store, methods, async (call, method, original) => {
          if (call === failAt)
            throw Object.assign(new Error(`${method} throttled`), { name: 'ThrottlingException' });
          return original();
        });
      await queueOnFreshAccount();
      const calls = inject(0);
      await withdraw(nameOf('a'));
      const total = calls();
      expect(total).toBeGreaterThan(3);

      for (let failAt = 1; failAt <= total; failAt += 1) {
        await queueOnFreshAccount();
        inject(failAt);
        const first = await withdraw(nameOf('a')).catch((error: Error) => error);
        if (first instanceof Error) {
          // Nothing done: still queued, not marked, nobody told; a retry withdraws it.
          expect(store.waiters.get('checkout')?.executionName, `fault at call ${failAt}`).toBe(nameOf('a'));
          expect(notifier.events(), `fault at call ${failAt}`).toEqual([]);
          await expect(withdraw(nameOf('a')), `fault at call ${failAt}`).resolves.toMatchObject({
            status: 'withdrawn',
            told: true,
          });
        } else expect(first, `fault at call ${failAt}`).toMatchObject({ status: 'withdrawn' });
        // Either way it never starts, and it ended failed (told once) unless its record is said to be missing.
        await handOff();
        expect(starter.calls, `fault at call ${failAt}`).toEqual([]);
        const withdrawn = first instanceof Error ? undefined : first;
        if (withdrawn?.status === 'withdrawn' && withdrawn.recorded === false)
          expect(store.record(nameOf('a')), `fault at call ${failAt}`).toBeUndefined();
        else expect(store.record(nameOf('a'))?.status, `fault at call ${failAt}`).toBe('failed');
        expect(notifier.events().length, `fault at call ${failAt}`).toBeLessThanOrEqual(1);
      }
    });

    it('an answer lost at any one call of the withdrawal (applied, then a timeout) leaves it whole: withdrawn and never started, or nothing done and withdrawn on a retry', async () => {
      const methods = [
        'readWaiter',
        'markNotified',
        'replaceWaiter',
        'unmarkNotified',
        'readLock',
        'wasNotified',
        'putRecord',
        'readRecord',
      ] as const;
      const inject = (loseAt: number) => {
        const lost: string[] = [];
        const calls = throughStoreCalls(store, methods, async (call, method, original, args) => {
          const result = await original();
          if (call === loseAt) {
            lost.push(typeof args[1] === 'string' ? `${method}(${args[1]})` : method);
            throw Object.assign(new Error(`${method}: connection timed out`), { name: 'TimeoutError' });
          }
          return result;
        });
        return { calls, lost };
      };
      await queueOnFreshAccount();
      const { calls } = inject(0);
      await withdraw(nameOf('a'));
      const total = calls();
      expect(total).toBeGreaterThan(3);

      for (let loseAt = 1; loseAt <= total; loseAt += 1) {
        await queueOnFreshAccount();
        const { lost } = inject(loseAt);
        const first = await withdraw(nameOf('a')).catch((error: Error) => error);
        const at = `answer lost at call ${loseAt} (${lost.join(', ')})`;
        if (first instanceof Error) {
          expect(store.waiters.get('checkout')?.executionName, at).toBe(nameOf('a'));
          expect(notifier.events(), at).toEqual([]);
          await expect(withdraw(nameOf('a')), at).resolves.toMatchObject({ status: 'withdrawn', told: true });
        } else expect(first, at).toMatchObject({ status: 'withdrawn' });
        await handOff();
        expect(starter.calls, at).toEqual([]);
        expect(store.waiters.get('checkout'), at).toBeUndefined();
        expect(store.record(nameOf('a'))?.status, at).toBe('failed');
        // Told once, unless the answer says it was not (the person reads it; NotificationsLost pages).
        const told = first instanceof Error || first.status !== 'withdrawn' || first.told;
        expect(notifier.events(), at).toEqual(told ? ['failed'] : []);
        const failedEvents = events.published.filter((event) => event.kind === 'failed').length;
        if (told) expect(failedEvents, at).toBe(1);
        else expect(failedEvents, at).toBeLessThanOrEqual(1);
      }
    });

    it('a push the trigger starts itself while it is still queued (its event again, once the lock is free) is never said withdrawn', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // The holder's hand-off freed the lock and failed before it read the queue (a lost wake-up); the
      // push's event is delivered again (EventBridge delivers at least once): the trigger starts it.
      store.locks.delete('checkout');
      await expect(startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'))).resolves.toMatchObject(
        {
          status: 'started',
        },
      );
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);

      // Its execution has not taken the lock yet: a person's withdrawal finds it started, not queued.
      await expect(withdraw(nameOf('a'))).resolves.toEqual({ status: 'started', releaseId: nameOf('a') });
      expect(store.record(nameOf('a'))).toBeUndefined();
      expect(notifier.events()).toEqual([]);
    });

    it('a withdrawal that comes first keeps the trigger from starting the push on its event again', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      store.locks.delete('checkout');
      // The trigger reads the queue and the lock (the push not yet withdrawn), then the withdrawal lands.
      const snapshot = store.readQueueSnapshot.bind(store);
      store.readQueueSnapshot = async (service, request) => {
        const read = await snapshot(service, request);
        store.readQueueSnapshot = snapshot;
        await withdraw(nameOf('a'));
        return read;
      };

      await expect(startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'))).resolves.toMatchObject(
        {
          status: 'duplicate',
        },
      );
      expect(starter.calls).toEqual([]);
      expect(store.record(nameOf('a'))?.status).toBe('failed');
    });

    it("the push its event queues again between the withdrawal's removal and its mark leaves the queue with it, never started", async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const mark = store.markNotified.bind(store);
      let again: StartReleaseResult | undefined;
      store.markNotified = async (releaseId, kind) => {
        // The push's event delivered again (EventBridge delivers at least once) right after the removal:
        // the push is out of the queue and not marked yet, so the trigger queues it again.
        store.markNotified = mark;
        again = await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
        return mark(releaseId, kind);
      };

      await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'withdrawn', told: true });

      expect(again).toMatchObject({ status: 'queued' });
      expect(store.waiters.get('checkout')).toBeUndefined();
      await expect(handOff()).resolves.toEqual({ released: true });
      expect(starter.calls).toEqual([]);
      expect(store.record(nameOf('a'))?.status).toBe('failed');
      expect(notifier.events()).toEqual(['failed']);
    });

    it('never says withdrawn a push its event queued again after the removal and the hand-off started before the mark: it took the lock', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const request = JSON.parse(store.waiters.get('checkout')?.pendingInput ?? '{}') as ReleaseRequest;
      const mark = store.markNotified.bind(store);
      store.markNotified = async (releaseId, kind) => {
        // The removal was answered. Before the mark, the push's event is delivered again (EventBridge
        // delivers at least once) and queues it again behind the running release; that release hands the
        // service on, starting it, and its execution takes the lock: nothing refused it, no mark stood yet.
        store.markNotified = mark;
        await expect(
          startRelease({ starter, queue }, config, push('10:05', 'a', 'v3')),
        ).resolves.toMatchObject({
          status: 'queued',
        });
        await expect(handOff()).resolves.toMatchObject({ released: true });
        await expect(acquireReleaseLock({ store }, config, request, nameOf('a'))).resolves.toEqual({
          acquired: true,
          superseded: false,
        });
        return mark(releaseId, kind);
      };

      // It is released: the person is told to abort its execution, and nobody is told it was withdrawn.
      await expect(withdraw(nameOf('a'))).resolves.toEqual({ status: 'started', releaseId: nameOf('a') });

      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
      expect(store.locks.get('checkout')?.holder).toBe(nameOf('a'));
      expect(store.record(nameOf('a'))).toBeUndefined();
      expect(notifier.published).toEqual([]);
      expect(store.notified.has(`${nameOf('a')}#superseded`)).toBe(false);
    });

    // Known gap: the mark is the only commitment the trigger and the lock read. A withdrawal whose mark
    // write fails past the SDK's retries (and cannot be read) after its removal still records and tells the
    // push withdrawn, unmarked: its event delivered again queues it, and it is released. Closing it needs
    // the trigger and the lock to refuse a push recorded failed as withdrawn too (its record is written
    // before anyone is told), or the withdrawal to keep the mark's write as a retried step of its own.
    it.skip('never releases a push told withdrawn whose mark write failed past its retries, when its event comes again', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const request = JSON.parse(store.waiters.get('checkout')?.pendingInput ?? '{}') as ReleaseRequest;
      const mark = store.markNotified.bind(store);
      const read = store.wasNotified.bind(store);
      const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      store.markNotified = async (releaseId, kind) => {
        if (kind === 'superseded') throw throttled();
        return mark(releaseId, kind);
      };
      store.wasNotified = async (releaseId, kind) => {
        if (kind === 'superseded') throw throttled();
        return read(releaseId, kind);
      };
      await expect(withdraw(nameOf('a'))).resolves.toMatchObject({ status: 'withdrawn', told: true });
      store.markNotified = mark;
      store.wasNotified = read;

      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await handOff();
      if (starter.calls.length > 0)
        await expect(acquireReleaseLock({ store }, config, request, nameOf('a'))).resolves.toMatchObject({
          acquired: false,
        });
      expect(notifier.events()).toEqual(['failed']);
    });

    it('refuses an empty reason', async () => {
      await expect(withdraw(nameOf('a'), '  ')).rejects.toThrow(/needs a reason/);
    });
  });

  describe('Function: operate (abort and rollback of a queued push)', () => {
    const running: ReleaseRecord = {
      service: 'checkout',
      releaseId: HOLDER,
      requestedAt: '2025-03-04T10:00:00Z',
      status: 'in_progress',
      fromVersion: 'v1',
      toVersion: 'v2',
    };
    const operatePorts = (withQueue = true): OperatePorts => ({
      waits: store.waits,
      tokens,
      history: store.history,
      services: store.services,
      releases: { start: async () => ({ status: 'ignored', reason: 'not in this test' }) },
      ...(withQueue
        ? {
            queue: inProcessQueuedPushes(
              { store, notifier, events, starter },
              () => SETTINGS,
              () => TOPIC_ARN,
            ),
          }
        : {}),
    });
    const run = (extra: Partial<OperationRequest> = {}, withQueue = true) =>
      operate(operatePorts(withQueue), {
        command: 'abort',
        service: 'checkout',
        actor: ALICE,
        reason: 'bad build',
        ...extra,
      });

    /** The holder, paused (a wait an abort can end), with v3 pushed and queued behind it. */
    const pausedHolderWithV3Queued = async () => {
      holdLock();
      await store.putRecord(running);
      await store.waits.register(
        [
          {
            kind: 'pause',
            key: HOLDER,
            releaseId: HOLDER,
            service: 'checkout',
            environment: 'default',
            taskToken: 'tok-pause',
          },
        ],
        3600,
      );
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
    };

    it('withdraws the push --release names, records who asked on its record, and leaves the running release alone', async () => {
      await pausedHolderWithV3Queued();

      await expect(run({ releaseId: nameOf('a') })).resolves.toEqual({
        command: 'abort',
        service: 'checkout',
        status: 'done',
        releaseId: nameOf('a'),
        message: `withdrew queued push ${nameOf('a')} (v3): it was queued behind release ${HOLDER} and will not start; recorded as failed (aborted while queued by alice via the CLI: bad build)`,
      });
      expect(tokens.failed).toEqual([]);
      expect(store.record(nameOf('a'))?.actions).toMatchObject([
        {
          command: 'abort',
          actor: ALICE,
          reason: 'bad build',
          result: expect.stringMatching(/^withdrew queued push/),
        },
      ]);
    });

    it('by service while a release runs aborts that release, and says the queued push still follows it', async () => {
      await pausedHolderWithV3Queued();

      const result = await run();

      expect(result).toMatchObject({
        status: 'done',
        releaseId: HOLDER,
        message: `aborted release ${HOLDER}: it rolls back to v1; push ${nameOf('a')} stays queued and starts once it has rolled back (withdraw it with shipline abort checkout --release ${nameOf('a')})`,
      });
      expect(tokens.failed.map((failed) => failed.token)).toEqual(['tok-pause']);
      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('a'));
    });

    it('says the withdrawn push could not be recorded when its record write failed, and records no action on it', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const put = store.putRecord.bind(store);
      store.putRecord = async () => {
        store.putRecord = put;
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      };

      await expect(run({ releaseId: nameOf('a') })).resolves.toEqual({
        command: 'abort',
        service: 'checkout',
        status: 'done',
        releaseId: nameOf('a'),
        message: `withdrew queued push ${nameOf('a')} (v3): it was queued behind release ${HOLDER} and will not start; but it could not be recorded as failed (aborted while queued by alice via the CLI: bad build), and people could not be told: ThrottlingException: Rate exceeded`,
      });
      expect(store.record(nameOf('a'))).toBeUndefined();
    });

    it('by service when no release of it runs withdraws the queued push', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      await expect(run()).resolves.toMatchObject({ status: 'done', releaseId: nameOf('a') });
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('says the push started when the hand-off is starting it, and that it waits on nothing to abort yet', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const queued = store.waiters.get('checkout');
      if (!queued) throw new Error('not queued');
      // Marked as being started by the hand-off, not yet started.
      await store.replaceWaiter('checkout', queued, { ...queued, taskToken: `${queued.taskToken}:starting` });

      await expect(run({ releaseId: nameOf('a') })).resolves.toEqual({
        command: 'abort',
        service: 'checkout',
        status: 'nothing-to-act-on',
        releaseId: nameOf('a'),
        message: `nothing to abort right now: push ${nameOf('a')} has just left the queue: the hand-off started its release as the one before it ended, and it waits on nothing a command can end yet; run shipline abort checkout --release ${nameOf('a')} again in a few seconds`,
      });
      expect(store.record(nameOf('a'))).toBeUndefined();
    });

    it('answers a queued push it cannot withdraw (no queue port) with the command that can', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      await expect(run({ command: 'rollback', releaseId: nameOf('a') }, false)).resolves.toMatchObject({
        status: 'nothing-to-act-on',
        message: `nothing to roll back here: push ${nameOf('a')} of checkout is queued behind the running release, and this caller cannot withdraw queued pushes; run shipline abort checkout --release ${nameOf('a')} --reason TEXT`,
      });
      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('a'));
    });

    it('rollback of a named queued push (the button of its thread) withdraws it', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      await expect(run({ command: 'rollback', releaseId: nameOf('a') })).resolves.toMatchObject({
        status: 'done',
        releaseId: nameOf('a'),
      });
      expect(store.record(nameOf('a'))?.status).toBe('failed');
    });

    it('a push superseded before the withdrawal is answered as no longer queued', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // The index still lists v3's queue wait for a moment after v4 replaced it.
      const stale = await store.waits.findByRelease(nameOf('a'));
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      const find = store.waits.findByRelease.bind(store.waits);
      store.waits.findByRelease = async (releaseId) => (releaseId === nameOf('a') ? stale : find(releaseId));

      await expect(run({ releaseId: nameOf('a') })).resolves.toMatchObject({
        status: 'nothing-to-act-on',
        message: `nothing to abort: release ${nameOf('a')} of checkout (v3) was superseded at ${NOW}: superseded by newer release ${nameOf('b')}`,
      });
    });

    it('a second abort of a withdrawn push says how it ended, and tells nobody again', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await run({ releaseId: nameOf('a') });

      await expect(run({ releaseId: nameOf('a'), reason: 'again' })).resolves.toMatchObject({
        status: 'nothing-to-act-on',
        message: `nothing to abort: release ${nameOf('a')} of checkout (v3) failed at ${NOW}: aborted while queued by alice via the CLI: bad build`,
      });
      expect(notifier.events()).toEqual(['failed']);
    });
  });

  describe('Function: releaseLockAndWakeNext with a fault at any one call', () => {
    it('starts the queued push exactly once on the retried hand-off, and a withdrawal between the attempts never both withdraws and starts it', async () => {
      const methods = ['readLock', 'releaseLock', 'readWaiter', 'replaceWaiter', 'dequeueWaiter'] as const;
      const inject = (failAt: number) => {
        let call = 0;
        const fault = (name: string) => {
          call += 1;
          if (call === failAt)
            throw Object.assign(new Error(`${name} denied`), { name: 'AccessDeniedException' });
        };
        throughStoreCalls(store, methods, async (_call, method, original) => {
          fault(method);
          return original();
        });
        const start = starter.start.bind(starter);
        starter.start = async (name, input) => {
          fault('StartExecution');
          return start(name, input);
        };
        return () => call;
      };
      await queueOnFreshAccount();
      const calls = inject(0);
      await handOff();
      const total = calls();
      // readLock, releaseLock, replaceWaiter (the mark), StartExecution, dequeueWaiter.
      expect(total).toBe(5);

      for (const withdrawBetween of [false, true, 'its removal applied, its response lost'] as const) {
        for (let failAt = 1; failAt <= total; failAt += 1) {
          const at = `fault at call ${failAt}${withdrawBetween ? `, withdrawal between${withdrawBetween === true ? '' : ` (${withdrawBetween})`}` : ''}`;
          await queueOnFreshAccount();
          inject(failAt);
          const first = await handOff().catch((error: Error) => error);
          let withdrawn: Awaited<ReturnType<typeof withdraw>> | undefined;
          if (first instanceof Error) {
            if (withdrawBetween !== false) {
              const replace = store.replaceWaiter;
              if (withdrawBetween !== true)
                // Applied, then the SDK's retry of the conditional delete meets its condition no more.
                store.replaceWaiter = async (service, expected, next) => {
                  store.replaceWaiter = replace;
                  await replace(service, expected, next);
                  return replace(service, expected, next);
                };
              withdrawn = await withdraw(nameOf('a'));
              store.replaceWaiter = replace;
            }
            await handOff();
          }
          const startedNames = new Set(starter.calls.map((call) => call.name));
          if (withdrawn?.status === 'withdrawn') {
            expect(startedNames.size, at).toBe(0);
            expect(store.record(nameOf('a'))?.status, at).toBe('failed');
          } else {
            expect([...startedNames], at).toEqual([nameOf('a')]);
            expect(store.record(nameOf('a')), at).toBeUndefined();
          }
          expect(store.waiters.get('checkout'), at).toBeUndefined();
        }
      }
    });
  });

  describe('Function: handOffService after a withdrawal', () => {
    it('releases the lock and wakes nobody', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await withdraw(nameOf('a'));

      await expect(
        handOffService({ store, tokens, starter, supersedePending }, 'checkout', HOLDER),
      ).resolves.toEqual({
        released: true,
        woke: null,
      });
      expect(starter.calls).toEqual([]);
    });
  });
});
