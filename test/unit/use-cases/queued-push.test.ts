import { beforeEach, describe, expect, it } from 'vitest';
import type { ReleaseRequest } from '../../../lib/domain/types.ts';
import type { Waiter } from '../../../lib/ports/lock-store.ts';
import {
  handOffEndedExecution,
  handOffService,
  pendingPushReporter,
  reportRelease,
} from '../../../lib/use-cases/finish-release.ts';
import { queueBehindHolder } from '../../../lib/use-cases/queue-push.ts';
import {
  acquireReleaseLock,
  releaseLockAndWakeNext,
  type SupersedePendingPush,
  waitForReleaseLock,
} from '../../../lib/use-cases/release-lock.ts';
import { type StartReleaseResult, startRelease } from '../../../lib/use-cases/start-release.ts';
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
const executionArn = (name: string) =>
  `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;

describe('Use case: pushes queued as data (pending pushes)', () => {
  let store: InMemoryReleaseStore;
  let tokens: FakeTaskTokens;
  let starter: FakeExecutionStarter;
  let notifier: FakeNotifier;
  let events: FakeReleaseEvents;
  let supersedePending: SupersedePendingPush;
  /** The trigger's queueing, as functions/trigger.ts wires it. */
  let queue: (request: ReleaseRequest, executionName: string) => Promise<StartReleaseResult | undefined>;

  withFixedClock(NOW);

  /** StartExecution of `name` keeps failing (throttled past the SDK's retries); returns what restores it. */
  const throttleStartOf = (name: string): (() => void) => {
    const start = starter.start.bind(starter);
    starter.start = async (started, input) => {
      if (started === name) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return start(started, input);
    };
    return () => {
      starter.start = start;
    };
  };

  /** The running release (pushed at 10:00) holds the lock with a live lease. */
  const holdLock = (requestedAt = '2025-03-04T10:00:00Z') => {
    holdCheckoutLock(store, starter, requestedAt);
  };

  const superseded = () => [...store.records.values()].filter((record) => record.status === 'superseded');

  beforeEach(() => {
    store = new InMemoryReleaseStore();
    tokens = new FakeTaskTokens();
    starter = new FakeExecutionStarter(STATE_MACHINE_ARN);
    notifier = new FakeNotifier();
    events = new FakeReleaseEvents();
    supersedePending = pendingPushReporter(
      { store, notifier, events },
      () => ({ region: 'us-east-1', defaultTopicArn: TOPIC_ARN }),
      () => TOPIC_ARN,
    );
    queue = (request, executionName) =>
      queueBehindHolder({ store, starter, tokens, events, supersedePending }, request, executionName);
  });

  describe('Function: startRelease (the trigger)', () => {
    it('queues a push behind a running release as a pending push: no execution, its input kept', async () => {
      holdLock();

      const result = await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      expect(result).toEqual({
        status: 'queued',
        service: 'checkout',
        executionName: nameOf('a'),
        executionArn: executionArn(nameOf('a')),
        behind: HOLDER,
      });
      expect(starter.calls).toEqual([]);
      const waiter = store.waiters.get('checkout');
      expect(waiter).toMatchObject({ executionName: nameOf('a'), requestedAt: '2025-03-04T10:05:00Z' });
      expect(JSON.parse(waiter?.pendingInput ?? '')).toMatchObject({
        service: 'checkout',
        image: { digest: `sha256:${'a'.repeat(64)}`, tag: 'v3' },
        requestedAt: '2025-03-04T10:05:00Z',
      });
      // The release-events topic hears it waits, as a queued execution's wait tells it.
      expect(events.published.map((message) => message.text)).toEqual([`v3 is queued behind ${HOLDER}`]);
    });

    it('answers a push already told superseded as a duplicate, never started, once the lock is free', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      store.locks.delete('checkout');
      store.waiters.delete('checkout');

      // v3's push event delivered again (at least once), after v4's release ended.
      const again = await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      expect(again).toEqual({
        status: 'duplicate',
        service: 'checkout',
        executionName: nameOf('a'),
        executionArn: executionArn(nameOf('a')),
      });
      expect(starter.calls).toEqual([]);
      expect(notifier.published).toHaveLength(1);
    });

    it('starts the push on the retry when the lock re-read after its enqueue failed and the holder had handed off', async () => {
      holdLock();
      // The holder hands off between the trigger's first read and its enqueue (finding nobody queued), and
      // the re-read after the enqueue fails: Lambda retries the event, which must still start the push.
      const read = store.readQueueSnapshot.bind(store);
      let reads = 0;
      const wrapped: typeof store.readQueueSnapshot = async (service, request) => {
        reads += 1;
        if (reads === 2) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        const snapshot = await read(service, request);
        if (reads === 1) {
          // The hand-off's own reads are not the trigger's.
          store.readQueueSnapshot = read;
          await releaseLockAndWakeNext({ store, tokens, starter }, 'checkout', HOLDER);
          store.readQueueSnapshot = wrapped;
        }
        return snapshot;
      };
      store.readQueueSnapshot = wrapped;
      await expect(startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'))).rejects.toThrow(
        'Rate exceeded',
      );
      expect(starter.calls).toEqual([]);

      const retried = await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      expect(retried).toMatchObject({ status: 'started', executionName: nameOf('a') });
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
      // Its execution takes the lock and leaves the queue: nothing else starts it twice.
      const request = starter.calls[0]?.input as ReleaseRequest;
      await acquireReleaseLock({ store }, config, request, nameOf('a'));
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('still tells the pending push it replaced when a retried trigger finds its own push queued', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      notifier.failNext = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });

      // v4 replaces v3 in the queue, then fails to tell v3: Lambda retries the event.
      await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
        'Rate exceeded',
      );
      expect(notifier.published).toEqual([]);
      const retried = await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));

      expect(retried).toMatchObject({ status: 'duplicate', executionName: nameOf('b') });
      expect(
        notifier.published.map((p) => [p.notification.message.event, p.notification.message.release]),
      ).toEqual([['superseded', nameOf('a')]]);
      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('b'));
      expect(starter.calls).toEqual([]);
      // A third copy of the event tells nobody twice.
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      expect(notifier.published).toHaveLength(1);
    });

    it('records and publishes nothing again when the event of a push that replaced another is delivered again', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      const recordsWritten = store.calls.filter((call) => call === 'putRecord').length;

      // v4's event delivered again (at least once): it finds v4 queued, still carrying v3, told already.
      const again = await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));

      expect(again).toMatchObject({ status: 'duplicate', executionName: nameOf('b') });
      expect(store.calls.filter((call) => call === 'putRecord')).toHaveLength(recordsWritten);
      expect(
        events.published
          .filter((message) => message.kind === 'superseded')
          .map((message) => message.releaseId),
      ).toEqual([nameOf('a')]);
      expect(notifier.published).toHaveLength(1);
    });

    // The hand-off reads v3, starts its execution, and before it takes v3 out of the queue v4's trigger
    // replaces v3 (its conditional replace still finds v3). v3's execution exists, so v4's trigger leaves
    // it to settle its own fate: it takes the lock and releases v3, or ends superseded by v4, never both.
    // (A start still being retried, so no execution exists yet when v4 tells v3, is the next test's case.)
    it('never tells superseded a pending push the hand-off started while a newer push replaced it in the queue', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // v4's trigger reads the lease and v3 queued; then the holder hands off: it frees the lock, reads v3
      // and starts its execution, and before it takes v3 out of the queue, v4's trigger replaces v3.
      let enqueued: () => void = () => {};
      const v4Enqueued = new Promise<void>((resolve) => (enqueued = resolve));
      let reachedStart: () => void = () => {};
      const handOffStarting = new Promise<void>((resolve) => (reachedStart = resolve));
      const start = starter.start.bind(starter);
      starter.start = async (name, input) => {
        const result = await start(name, input);
        if (name === nameOf('a')) {
          reachedStart();
          await v4Enqueued;
        }
        return result;
      };
      const read = store.readQueueSnapshot.bind(store);
      let handOff: Promise<unknown> = Promise.resolve();
      store.readQueueSnapshot = async (service, request) => {
        const snapshot = await read(service, request);
        store.readQueueSnapshot = read;
        handOff = releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER);
        await handOffStarting;
        return snapshot;
      };
      const enqueue = store.enqueueWaiter.bind(store);
      store.enqueueWaiter = async (service, waiter, known) => {
        const result = await enqueue(service, waiter, known);
        enqueued();
        return result;
      };

      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      await handOff;
      starter.ended.add(HOLDER);

      // v3's execution was started: it either takes the lock and releases v3, or ends superseded by v4; it
      // is never told "skipped, superseded" and then released.
      const v3 = await acquireReleaseLock(
        { store },
        config,
        JSON.parse(JSON.stringify(starter.calls.find((call) => call.name === nameOf('a'))?.input)),
        nameOf('a'),
      );
      const v3Told = notifier.published.some((p) => p.notification.message.release === nameOf('a'));
      expect({ acquired: v3.acquired, told: v3Told }).not.toEqual({ acquired: true, told: true });
    });

    // The hand-off marks v3 as being started and sends StartExecution, which the SDK is still retrying
    // (throttled); meanwhile v4's trigger replaces v3, finds the lock free, starts v4 and, no execution of
    // v3 existing yet, tells v3 superseded. Then v3's StartExecution lands and its execution reaches the
    // lock before v4's: the told mark refuses it, and its own superseded report tells nobody twice.
    it('refuses the lock to a push told superseded while its start by the hand-off was still being retried', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      let land: () => void = () => {};
      const landed = new Promise<void>((resolve) => (land = resolve));
      let reachedStart: () => void = () => {};
      const handOffStarting = new Promise<void>((resolve) => (reachedStart = resolve));
      const start = starter.start.bind(starter);
      starter.start = async (name, input) => {
        if (name === nameOf('a')) {
          // The first attempts are throttled: no execution exists until the SDK's retry lands.
          reachedStart();
          await landed;
        }
        return start(name, input);
      };
      // v4's trigger reads the lease still held; then the holder hands off up to v3's StartExecution.
      const read = store.readQueueSnapshot.bind(store);
      let handOff: Promise<unknown> = Promise.resolve();
      store.readQueueSnapshot = async (service, request) => {
        const snapshot = await read(service, request);
        store.readQueueSnapshot = read;
        handOff = releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER);
        await handOffStarting;
        return snapshot;
      };

      const v4 = await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      expect(v4.status).toBe('started');
      // v3 was told superseded by v4 (its execution did not exist yet): recorded and notified once.
      expect(superseded().map((record) => [record.releaseId, record.reason])).toEqual([
        [nameOf('a'), `superseded by newer release ${nameOf('b')}`],
      ]);
      expect(notifier.events()).toEqual(['superseded']);
      const toldRecord = { ...superseded()[0] };
      // v3's StartExecution lands; its execution reaches the lock before v4's execution takes it.
      land();
      await handOff;
      starter.ended.add(HOLDER);
      const v3Request = starter.calls.find((call) => call.name === nameOf('a'))?.input as ReleaseRequest;
      expect(v3Request).toBeDefined();

      const v3 = await acquireReleaseLock({ store }, config, v3Request, nameOf('a'));

      expect(v3).toMatchObject({ acquired: false, superseded: true, by: nameOf('b') });
      expect(store.locks.get('checkout')).toBeUndefined();
      // Its "Record that a newer push superseded this one" state: nobody is told a second time, and the
      // record the telling wrote stays as it was.
      await reportRelease({ store, notifier, events }, SETTINGS, {
        kind: 'superseded',
        request: v3Request,
        releaseId: nameOf('a'),
        executionArn: executionArn(nameOf('a')),
        supersededBy: nameOf('b'),
        topicArn: TOPIC_ARN,
      });
      expect(notifier.events()).toEqual(['superseded']);
      expect(events.published.filter((message) => message.kind === 'superseded')).toHaveLength(1);
      expect(superseded()).toEqual([toldRecord]);
      // Its hand-off hands nothing on (it never held the lock); v4's execution then takes the lock.
      await expect(
        releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', nameOf('a')),
      ).resolves.toEqual({ released: false });
      const v4Request = starter.calls.find((call) => call.name === nameOf('b'))?.input as ReleaseRequest;
      expect(await acquireReleaseLock({ store }, config, v4Request, nameOf('b'))).toMatchObject({
        acquired: true,
      });
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('tells superseded, later, a push whose start by the hand-off failed after a newer push replaced it', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // The holder's hand-off marks v3 as being started, then StartExecution fails (past its retries).
      const restoreStart = throttleStartOf(nameOf('a'));
      await expect(
        releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER),
      ).rejects.toThrow('Rate exceeded');
      restoreStart();
      // v4 is pushed before the hand-off is retried: it replaces v3 (marked, so not told now: its execution
      // might have been starting) and, the lock being free, starts itself.
      holdLock();
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      expect(superseded()).toEqual([]);
      // v5 replaces v4: v3 never had an execution, so it is told superseded now, once; v4 is told too.
      await startRelease({ starter, queue }, config, push('10:09', 'c', 'v5'));

      expect(
        superseded()
          .map((record) => record.releaseId)
          .sort(),
      ).toEqual([nameOf('a'), nameOf('b')].sort());
      expect(starter.calls.map((call) => call.name)).not.toContain(nameOf('a'));
    });

    it('tells superseded a push whose start by the hand-off failed, replaced by a newer push that then started itself', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // v4's trigger reads the lease held; before it queues, the holder hands off: it frees the lock, marks
      // v3 as being started, and StartExecution keeps failing (every retry of the hand-off).
      throttleStartOf(nameOf('a'));
      const enqueue = store.enqueueWaiter.bind(store);
      store.enqueueWaiter = async (...args) => {
        store.enqueueWaiter = enqueue;
        await expect(
          releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER),
        ).rejects.toThrow('Rate exceeded');
        starter.ended.add(HOLDER);
        return enqueue(...args);
      };
      // v4 replaces v3 (marked: not told now) and, the lock being free, starts itself and leaves the queue.
      const v4 = await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      expect(v4.status).toBe('started');
      // The hand-off's retry finds the lock free and nothing queued; v4's execution takes the lock.
      await releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER);
      const v4Request = starter.calls.find((call) => call.name === nameOf('b'))?.input as ReleaseRequest;
      expect(await acquireReleaseLock({ store }, config, v4Request, nameOf('b'))).toMatchObject({
        acquired: true,
      });

      // v3 never had an execution and never will: it is told superseded by v4, once.
      expect(starter.calls.map((call) => call.name)).not.toContain(nameOf('a'));
      expect(superseded().map((record) => record.releaseId)).toEqual([nameOf('a')]);
    });

    it('tells superseded a push whose start by the hand-off failed, replaced by an execution that then took the free lock', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // v4's execution found the lock held and goes to wait; meanwhile the holder hands off: it frees the
      // lock, marks v3 as being started, and StartExecution keeps failing (every retry of the hand-off).
      throttleStartOf(nameOf('a'));
      await expect(
        releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER),
      ).rejects.toThrow('Rate exceeded');
      starter.ended.add(HOLDER);
      const v4 = await startRelease(
        { starter, queue: async () => undefined },
        config,
        push('10:08', 'b', 'v4'),
      );
      const v4Request = starter.calls.find((call) => call.name === nameOf('b'))?.input as ReleaseRequest;
      expect(v4.status).toBe('started');
      // v4 replaces v3 (marked: not told now) and, the lock being free, resumes itself and takes the lock.
      await waitForReleaseLock(
        { store, tokens, starter, events, supersedePending },
        v4Request,
        nameOf('b'),
        'token-b',
      );
      expect(tokens.succeeded).toEqual([{ token: 'token-b', output: { superseded: false } }]);
      expect(await acquireReleaseLock({ store }, config, v4Request, nameOf('b'))).toMatchObject({
        acquired: true,
      });
      // The hand-off's retry finds v4 holding the lock: it hands nothing on.
      await releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER);

      // v3 never had an execution and never will: it is told superseded by v4, once.
      expect(starter.calls.map((call) => call.name)).not.toContain(nameOf('a'));
      expect(superseded().map((record) => record.releaseId)).toEqual([nameOf('a')]);
    });

    it('does not tell superseded a push the hand-off did start when the wait that replaced it is retried', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // The hand-off marks v3 and starts it, and fails before taking it out of the queue.
      const dequeue = store.dequeueWaiter.bind(store);
      store.dequeueWaiter = async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      };
      await expect(
        releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER),
      ).rejects.toThrow('Rate exceeded');
      store.dequeueWaiter = dequeue;
      // v4's execution waits: it replaces v3 in the queue (marked: kept, not told), then fails reading the
      // lock; its state's Retry queues it again, with a new task token.
      const v4 = await startRelease(
        { starter, queue: async () => undefined },
        config,
        push('10:08', 'b', 'v4'),
      );
      expect(v4.status).toBe('started');
      const v4Request = starter.calls.find((call) => call.name === nameOf('b'))?.input as ReleaseRequest;
      const readLock = store.readLock.bind(store);
      store.readLock = async () => {
        store.readLock = readLock;
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      };
      const ports = { store, tokens, starter, events, supersedePending };
      await expect(waitForReleaseLock(ports, v4Request, nameOf('b'), 'token-b1')).rejects.toThrow(
        'Rate exceeded',
      );
      await waitForReleaseLock(ports, v4Request, nameOf('b'), 'token-b2');

      // v3's execution runs (it may take the lock first): it is never told it was skipped.
      expect(superseded()).toEqual([]);
    });

    it('tells the push it replaced and failed to tell when, its event retried, it starts itself from the queue', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // v4's first attempt replaces v3 and fails telling it (SNS denied): v4 keeps it, untold.
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
      await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
        'not authorized',
      );
      expect(store.waiters.get('checkout')?.supersedes?.executionName).toBe(nameOf('a'));
      // The holder's execution ends without handing off; v4's event is retried and starts v4 from the queue.
      starter.ended.add(HOLDER);
      await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).resolves.toMatchObject(
        {
          status: 'started',
        },
      );

      // v3 left the queue with v4: told now, once.
      expect(superseded().map((record) => record.releaseId)).toEqual([nameOf('a')]);
      expect(notifier.events()).toEqual(['superseded']);
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('does not tell superseded a replaced push whose execution the hand-off did start', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // The hand-off marks v3 and starts it, and fails before taking it out of the queue.
      const dequeue = store.dequeueWaiter.bind(store);
      store.dequeueWaiter = async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      };
      await expect(
        releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER),
      ).rejects.toThrow('Rate exceeded');
      store.dequeueWaiter = dequeue;
      // v3's execution runs and holds the lock; v4 and v5 queue behind it.
      store.locks.set('checkout', {
        holder: nameOf('a'),
        requestedAt: '2025-03-04T10:05:00Z',
        acquiredAt: '2025-03-04T10:06:00.000Z',
        leaseExpiresAt: NOW_EPOCH + 3600,
      });
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      await startRelease({ starter, queue }, config, push('10:09', 'c', 'v5'));

      // v4 is superseded by v5; v3, which runs, is never told it was skipped.
      expect(superseded().map((record) => record.releaseId)).toEqual([nameOf('b')]);
      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('c'));
    });

    it('answers started, not queued behind itself, when the hand-off started it and it took the lock', async () => {
      holdLock();
      // Between the trigger's enqueue and its second read of the lock, the holder hands off: the pending
      // push's execution starts and takes the lock.
      const read = store.readQueueSnapshot.bind(store);
      let reads = 0;
      store.readQueueSnapshot = async (service, request) => {
        reads += 1;
        if (reads === 2) {
          await releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER);
          await acquireReleaseLock({ store }, config, starter.calls[0]?.input as ReleaseRequest, nameOf('a'));
        }
        return read(service, request);
      };

      const result = await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      expect(result).toMatchObject({ status: 'started', executionName: nameOf('a') });
      expect(events.published.map((message) => message.text)).toEqual([]);
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
    });

    it('publishes each superseded push once on the release-events topic, the hand-off telling nobody again', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await startRelease({ starter, queue }, config, push('10:06', 'b', 'v4'));
      await startRelease({ starter, queue }, config, push('10:07', 'c', 'v5'));
      await releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER);

      const supersededEvents = events.published
        .filter((message) => message.kind === 'superseded')
        .map((message) => message.releaseId);
      expect(supersededEvents).toEqual([nameOf('a'), nameOf('b')]);
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('c')]);
    });

    it('tells the pending push an untold waiter carried when a newer push replaces that waiter before its retry', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      notifier.failNext = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
      // v4 replaces v3, then fails to tell v3; v5 replaces v4 before Lambda retries v4's event.
      await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
        'Rate exceeded',
      );

      await startRelease({ starter, queue }, config, push('10:09', 'c', 'v5'));
      const retried = await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));

      expect(retried).toMatchObject({ status: 'duplicate', executionName: nameOf('b') });
      expect(
        notifier.published.map((p) => [p.notification.message.event, p.notification.message.release]),
      ).toEqual([
        ['superseded', nameOf('a')],
        ['superseded', nameOf('b')],
      ]);
      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('c'));
      expect(starter.calls).toEqual([]);
    });

    it('supersedes the pending push a newer one replaces: recorded and told, never started', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      const result = await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));

      expect(result).toMatchObject({ status: 'queued', executionName: nameOf('b') });
      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('b'));
      expect(superseded()).toEqual([
        expect.objectContaining({
          releaseId: nameOf('a'),
          toVersion: 'v3',
          reason: `superseded by newer release ${nameOf('b')}`,
        }),
      ]);
      expect(notifier.published).toEqual([
        {
          topicArn: TOPIC_ARN,
          notification: expect.objectContaining({
            subject: '[shipline] checkout: v3 skipped, superseded by a newer push',
          }),
        },
      ]);
      expect(starter.calls).toEqual([]);
    });

    it('supersedes at once a push older than the queued one, and one older than the holder', async () => {
      holdLock('2025-03-04T10:02:00Z');
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));

      await expect(startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'))).resolves.toMatchObject(
        {
          status: 'superseded',
          by: nameOf('b'),
        },
      );
      await expect(startRelease({ starter, queue }, config, push('10:01', 'c', 'v2'))).resolves.toMatchObject(
        {
          status: 'superseded',
          by: HOLDER,
        },
      );

      expect(superseded().map((record) => [record.toVersion, record.reason])).toEqual([
        ['v3', `superseded by newer release ${nameOf('b')}`],
        ['v2', `superseded by newer release ${HOLDER}`],
      ]);
      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('b'));
      expect(starter.calls).toEqual([]);
    });

    it('answers a duplicate push of the pending digest as a duplicate, leaving the queued push as it was', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const queued = store.waiters.get('checkout');

      const again = await startRelease({ starter, queue }, config, push('10:06', 'a', 'v3-retagged'));

      expect(again).toMatchObject({ status: 'duplicate', executionName: nameOf('a') });
      expect(store.waiters.get('checkout')).toEqual(queued);
      expect(superseded()).toEqual([]);
      expect(notifier.published).toEqual([]);
    });

    it('answers a push of a digest whose execution exists (released before) as a duplicate, as StartExecution does', async () => {
      holdLock();
      starter.executions.set(nameOf('a'), { released: 'before' });
      starter.ended.add(nameOf('a'));

      const again = await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      expect(again).toMatchObject({ status: 'duplicate', executionName: nameOf('a') });
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('starts the pending push at once when the holder handed off between the read and the enqueue', async () => {
      holdLock();
      // The holder's hand-off runs right after the trigger read the lock: it finds nobody queued.
      const read = store.readQueueSnapshot.bind(store);
      let reads = 0;
      store.readQueueSnapshot = async (service, request) => {
        const snapshot = await read(service, request);
        reads += 1;
        if (reads === 1) await releaseLockAndWakeNext({ store, tokens, starter }, 'checkout', HOLDER);
        return snapshot;
      };

      const result = await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      expect(result).toMatchObject({ status: 'started', executionName: nameOf('a') });
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('starts an execution as before when the lock holder no longer runs (no hand-off would come)', async () => {
      holdLock();
      starter.ended.add(HOLDER);

      const result = await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));

      expect(result).toMatchObject({ status: 'started' });
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('starts an execution as before when the lease lapsed (it takes the lock over)', async () => {
      holdLock();
      const lease = store.locks.get('checkout');
      if (lease) store.locks.set('checkout', { ...lease, leaseExpiresAt: NOW_EPOCH - 1 });

      await expect(startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'))).resolves.toMatchObject(
        { status: 'started' },
      );
    });
  });

  describe('Function: releaseLockAndWakeNext (the hand-off)', () => {
    const handOff = () =>
      releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER);

    it("starts a pending push's execution with the name and input it was queued with", async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const queued = store.waiters.get('checkout');

      await expect(handOff()).resolves.toEqual({ released: true, woke: nameOf('a') });

      expect(starter.calls).toEqual([{ name: nameOf('a'), input: JSON.parse(queued?.pendingInput ?? '') }]);
      expect(store.locks.get('checkout')).toBeUndefined();
      expect(store.waiters.get('checkout')).toBeUndefined();
      // The started execution takes the lock like any push.
      const request = JSON.parse(queued?.pendingInput ?? '') as ReleaseRequest;
      await expect(acquireReleaseLock({ store }, config, request, nameOf('a'))).resolves.toEqual({
        acquired: true,
        superseded: false,
      });
    });

    it('starts the queued push even when telling the push it replaced keeps failing (the telling is logged)', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // v4 replaces v3 in the queue and never manages to tell it (its event dead-letters).
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
      await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
        'not authorized',
      );
      // SNS still refuses when the holder hands on.
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });

      await expect(handOff()).resolves.toEqual({
        released: true,
        woke: nameOf('b'),
        tellingLost: { push: nameOf('a'), error: 'AccessDeniedException: not authorized' },
      });
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('b')]);
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('counts the superseded push the hand-off could not tell as a lost notification (NotificationsLost), so the alarm pages', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
      await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
        'not authorized',
      );
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
      const counted: { metric: string; dimensions: Record<string, string> }[] = [];
      const logged: { message: string; data: Record<string, unknown> }[] = [];
      const ports = {
        store,
        tokens,
        starter,
        supersedePending,
        metrics: {
          count: async (metric: string, dimensions: Record<string, string>) =>
            void counted.push({ metric, dimensions }),
        },
        log: {
          error: (message: string, data: Record<string, unknown>) => void logged.push({ message, data }),
        },
      };

      await expect(handOffService(ports, 'checkout', HOLDER)).resolves.toEqual({
        released: true,
        woke: nameOf('b'),
      });

      expect(counted).toEqual([{ metric: 'NotificationsLost', dimensions: { Service: 'checkout' } }]);
      expect(logged.map((entry) => entry.data)).toEqual([
        { service: 'checkout', push: nameOf('a'), error: 'AccessDeniedException: not authorized' },
      ]);
      // Nothing is lost when every telling went out: nothing is counted.
      counted.length = 0;
      await handOffService(ports, 'checkout', HOLDER);
      expect(counted).toEqual([]);
    });

    it('logs a lost telling it cannot count either, and still hands the service on', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
      await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
        'not authorized',
      );
      notifier.failNext = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
      const logged: string[] = [];
      const ports = {
        store,
        tokens,
        starter,
        supersedePending,
        metrics: {
          count: async () => {
            throw Object.assign(new Error('CloudWatch down'), { name: 'InternalServiceFault' });
          },
        },
        log: { error: (message: string) => void logged.push(message) },
      };

      await expect(handOffService(ports, 'checkout', HOLDER)).resolves.toEqual({
        released: true,
        woke: nameOf('b'),
      });
      expect(logged).toEqual([
        'a superseded push could not be told; the queued push was woken anyway',
        'a superseded push could not be told, and the loss could not be counted either',
      ]);
    });

    it('starts it again when a retried hand-off follows a failed StartExecution', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const start = starter.start.bind(starter);
      let attempts = 0;
      starter.start = async (name, input) => {
        attempts += 1;
        if (attempts === 1) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        return start(name, input);
      };

      await expect(handOff()).rejects.toThrow('Rate exceeded');
      expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('a'));

      await expect(handOff()).resolves.toEqual({ released: false, woke: nameOf('a') });
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('tells, once and with its version, a replaced push whose input is over 64 KB when its first telling failed', async () => {
      holdLock();
      // v3's input carries a field too large to keep whole beside the push that replaces it (two inputs in
      // one 400 KB DynamoDB item): a trimmed copy is kept, enough to record and tell it.
      const large = 'ci-pipeline '.repeat(7000);
      await startRelease(
        { starter, queue: (request, name) => queue({ ...request, requestedBy: large }, name) },
        config,
        push('10:05', 'a', 'v3'),
      );
      expect(new TextEncoder().encode(store.waiters.get('checkout')?.pendingInput).length).toBeGreaterThan(
        64 * 1024,
      );
      // v4 replaces v3, and telling v3 fails on every attempt of v4's event (SNS throttled past the
      // retries): the event goes to the dead-letter queue.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        notifier.failNext = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
        await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4')).catch(() => undefined);
      }
      expect(notifier.published).toEqual([]);
      const kept = store.waiters.get('checkout')?.supersedes;
      expect(kept?.executionName).toBe(nameOf('a'));
      expect(new TextEncoder().encode(kept?.pendingInput).length).toBeLessThanOrEqual(64 * 1024);

      // The holder hands off: it tells v3 before v4 moves on, then starts v4.
      await expect(handOff()).resolves.toEqual({ released: true, woke: nameOf('b') });

      expect(
        notifier.published.map(({ notification }) => [
          notification.subject,
          notification.message.release,
          notification.message.supersededBy,
        ]),
      ).toEqual([['[shipline] checkout: v3 skipped, superseded by a newer push', nameOf('a'), nameOf('b')]]);
      expect(store.record(nameOf('a'))).toMatchObject({
        status: 'superseded',
        toVersion: 'v3',
        requestedAt: '2025-03-04T10:05:00Z',
        supersededBy: nameOf('b'),
      });
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('b')]);
      // Told once: v4's execution taking the lock and handing it on tells nobody again.
      const v4Request = starter.calls[0]?.input as ReleaseRequest;
      await acquireReleaseLock({ store }, config, v4Request, nameOf('b'));
      await releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', nameOf('b'));
      expect(notifier.events()).toEqual(['superseded']);
    });

    it('ends a pending push older than the holder as superseded: recorded, told, never started', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      // A newer push took the lock the failed hand-off left free, while the older one stayed queued.
      store.locks.set('checkout', {
        holder: HOLDER,
        requestedAt: '2025-03-04T10:20:00Z',
        acquiredAt: '2025-03-04T10:20:01.000Z',
        leaseExpiresAt: NOW_EPOCH + 3600,
      });

      await expect(handOff()).resolves.toEqual({ released: true });

      expect(starter.calls).toEqual([]);
      expect(superseded().map((record) => [record.releaseId, record.reason])).toEqual([
        [nameOf('a'), `superseded by newer release ${HOLDER}`],
      ]);
      expect(notifier.events()).toEqual(['superseded']);
      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('counts an execution that already exists as started and leaves the queue', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      starter.executions.set(nameOf('a'), { another: 'input' });

      await expect(handOff()).resolves.toEqual({ released: true, woke: nameOf('a') });
      expect(store.waiters.get('checkout')).toBeUndefined();
    });
  });

  describe('Function: handOffEndedExecution (the execution status change event)', () => {
    const ended = (status: string, name = HOLDER) => ({
      name,
      status,
      input: JSON.stringify({ service: 'checkout', image: { digest: `sha256:${'0'.repeat(64)}` } }),
    });
    const ports = () => ({ store, tokens, starter, supersedePending });

    it.each([
      ['behind a holder a person stopped: its lock released, the push started', 'ABORTED'],
      [
        'after a promoted release whose own hand-off failed past its retries (it ends SUCCEEDED)',
        'SUCCEEDED',
      ],
    ])('wakes the pending push %s', async (_, status) => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      starter.ended.add(HOLDER);

      await expect(handOffEndedExecution(ports(), ended(status))).resolves.toEqual({
        released: true,
        woke: nameOf('a'),
      });
      expect(starter.calls.map((call) => call.name)).toEqual([nameOf('a')]);
      expect(store.locks.get('checkout')).toBeUndefined();
    });

    it('changes nothing when a late or repeated event finds another release holding the lock', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      await handOffEndedExecution(ports(), ended('ABORTED'));
      // The started push takes the lock.
      await acquireReleaseLock({ store }, config, starter.calls[0]?.input as ReleaseRequest, nameOf('a'));

      await expect(handOffEndedExecution(ports(), ended('ABORTED'))).resolves.toEqual({
        released: false,
        woke: null,
      });
      expect(store.locks.get('checkout')?.holder).toBe(nameOf('a'));
      expect(starter.calls).toHaveLength(1);
    });

    it('changes nothing after a succeeded execution whose own hand-off worked', async () => {
      holdLock();
      await expect(handOffEndedExecution(ports(), ended('SUCCEEDED', 'checkout-earlier'))).resolves.toEqual({
        released: false,
        woke: null,
      });
      expect(store.locks.get('checkout')?.holder).toBe(HOLDER);
      expect(starter.calls).toEqual([]);
    });

    it('ignores a status change that is no end (RUNNING)', async () => {
      holdLock();
      await expect(handOffEndedExecution(ports(), ended('RUNNING'))).resolves.toEqual({
        ignored: `execution ${HOLDER} is RUNNING: it has not ended`,
      });
      expect(store.locks.get('checkout')?.holder).toBe(HOLDER);
    });

    it("frees the queue of a stopped execution's own wait, whose task token nobody can answer", async () => {
      holdLock();
      await store.enqueueWaiter('checkout', {
        executionName: 'checkout-stopped',
        requestedAt: '2025-03-04T10:05:00Z',
        taskToken: 'token-s',
      });

      await handOffEndedExecution(ports(), ended('TIMED_OUT', 'checkout-stopped'));

      expect(store.waiters.get('checkout')).toBeUndefined();
      expect(store.locks.get('checkout')?.holder).toBe(HOLDER);
    });

    it('refuses an event without the input, naming why its service is unknown', async () => {
      await expect(
        handOffEndedExecution(ports(), { name: HOLDER, status: 'FAILED', input: null }),
      ).rejects.toThrow('carries no input (too large for the event)');
    });
  });

  describe('Function: waitForReleaseLock (an execution started directly)', () => {
    it('still tells the pending push it replaced when its first attempt failed to (the Retry of the wait)', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const manual = {
        service: 'checkout',
        image: { repository: 'checkout', digest: `sha256:${'d'.repeat(64)}`, tag: 'v5' },
        requestedAt: '2025-03-04T10:20:00Z',
        source: 'manual',
      } satisfies ReleaseRequest;
      notifier.failNext = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
      const wait = (token: string) =>
        waitForReleaseLock({ store, tokens, events, supersedePending }, manual, 'checkout-manual', token);

      await expect(wait('token-m1')).rejects.toThrow('Rate exceeded');
      expect(notifier.published).toEqual([]);
      await expect(wait('token-m2')).resolves.toEqual({ queued: true, replaced: nameOf('a') });

      expect(
        notifier.published.map((p) => [p.notification.message.event, p.notification.message.release]),
      ).toEqual([['superseded', nameOf('a')]]);
      expect(store.waiters.get('checkout')).toMatchObject({
        executionName: 'checkout-manual',
        taskToken: 'token-m2',
      });
    });

    it('never queues a push told superseded meanwhile: its wait ends as superseded, by the push that superseded it', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const v3 = JSON.parse(store.waiters.get('checkout')?.pendingInput ?? '{}') as ReleaseRequest;
      // v4 replaces v3 in the queue and tells it superseded (its execution did not exist yet).
      await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));
      expect(superseded().map((record) => record.releaseId)).toEqual([nameOf('a')]);
      // A person withdraws v4; an execution of v3 (its start under way when it was told) goes to wait.
      store.waiters.delete('checkout');

      await expect(
        waitForReleaseLock({ store, tokens, starter, events, supersedePending }, v3, nameOf('a'), 'token-a'),
      ).resolves.toEqual({ queued: false, supersededBy: nameOf('b') });

      expect(tokens.succeeded).toEqual([{ token: 'token-a', output: { superseded: true, by: nameOf('b') } }]);
      expect(store.waiters.get('checkout')).toBeUndefined();
      expect(notifier.events()).toEqual(['superseded']);
    });

    it('supersedes the pending push it replaces in-process, and queues with its task token', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const manual = {
        service: 'checkout',
        image: { repository: 'checkout', digest: `sha256:${'d'.repeat(64)}`, tag: 'v5' },
        requestedAt: '2025-03-04T10:20:00Z',
        source: 'manual',
      } satisfies ReleaseRequest;

      await expect(
        waitForReleaseLock({ store, tokens, events, supersedePending }, manual, 'checkout-manual', 'token-m'),
      ).resolves.toEqual({ queued: true, replaced: nameOf('a') });

      const waiter: Waiter | undefined = store.waiters.get('checkout');
      expect(waiter).toMatchObject({ executionName: 'checkout-manual', taskToken: 'token-m' });
      expect(waiter?.pendingInput).toBeUndefined();
      expect(superseded().map((record) => record.releaseId)).toEqual([nameOf('a')]);
      expect(tokens.succeeded).toEqual([]);
    });

    it('refuses loudly to replace a pending push when it was given no way to report it', async () => {
      holdLock();
      await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
      const manual = {
        service: 'checkout',
        image: { repository: 'checkout', digest: `sha256:${'d'.repeat(64)}` },
        requestedAt: '2025-03-04T10:20:00Z',
        source: 'manual',
      } satisfies ReleaseRequest;

      await expect(
        waitForReleaseLock({ store, tokens }, manual, 'checkout-manual', 'token-m'),
      ).rejects.toThrow(`pending push ${nameOf('a')} must be recorded as superseded`);
    });
  });
});
