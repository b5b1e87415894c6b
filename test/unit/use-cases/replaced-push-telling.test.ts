import { beforeEach, describe, expect, it } from 'vitest';
import { useClock } from '../../../lib/clock.ts';
import type { ReleaseRequest } from '../../../lib/domain/types.ts';
import { pendingPushReporter } from '../../../lib/use-cases/finish-release.ts';
import { queueBehindHolder } from '../../../lib/use-cases/queue-push.ts';
import { releaseLockAndWakeNext, type SupersedePendingPush } from '../../../lib/use-cases/release-lock.ts';
import { type StartReleaseResult, startRelease } from '../../../lib/use-cases/start-release.ts';
import {
  FakeExecutionStarter,
  FakeNotifier,
  FakeReleaseEvents,
  FakeTaskTokens,
  InMemoryReleaseStore,
} from '../fakes.ts';
import { fixedClock, repoConfig, STATE_MACHINE_ARN, TOPIC_ARN, withFixedClock } from '../fixtures.ts';
import { HOLDER, holdCheckoutLock, NOW, NOW_EPOCH, nameOf, push } from './queue-fixtures.ts';

const config = repoConfig();
const SETTINGS = { region: 'us-east-1', defaultTopicArn: TOPIC_ARN };

/**
 * A pending push replaced by a newer one is told superseded by the trigger that replaced it; its telling
 * marks it told ('superseded') before SNS is called and takes the mark back when SNS fails, so the
 * trigger's retry tells it again (it finds the replaced push kept with the newer one in the queue). The
 * hand-off tells a push the waiter it wakes replaced only when it is not marked (tellReplaced ->
 * tellIfUntold), then starts that waiter and takes it, and the replaced push it carries, out of the queue;
 * so does a newer push's trigger that replaces the waiter. A retry that no longer finds the replaced push
 * in the queue tells it from its record (recorded superseded by the retried push, never notified).
 */
describe('Telling a replaced pending push while SNS fails and the hand-off runs', () => {
  let store: InMemoryReleaseStore;
  let tokens: FakeTaskTokens;
  let starter: FakeExecutionStarter;
  let notifier: FakeNotifier;
  let events: FakeReleaseEvents;
  let supersedePending: SupersedePendingPush;
  let queue: (request: ReleaseRequest, executionName: string) => Promise<StartReleaseResult | undefined>;

  withFixedClock(NOW);

  beforeEach(() => {
    store = new InMemoryReleaseStore();
    tokens = new FakeTaskTokens();
    starter = new FakeExecutionStarter(STATE_MACHINE_ARN);
    notifier = new FakeNotifier();
    events = new FakeReleaseEvents();
    supersedePending = pendingPushReporter(
      { store, notifier, events },
      () => SETTINGS,
      () => TOPIC_ARN,
    );
    queue = (request, executionName) =>
      queueBehindHolder({ store, starter, tokens, events, supersedePending }, request, executionName);
    holdCheckoutLock(store, starter);
  });

  const handOff = () =>
    releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER);

  /**
   * Runs `retry` as Lambda retries the trigger's failed asynchronous invocation: a minute later (the input
   * it builds says when it was received, so it is not the first attempt's).
   */
  const atRetry = async <T>(retry: () => Promise<T>, seconds = 60): Promise<T> => {
    const previous = useClock(fixedClock(new Date(Date.parse(NOW) + seconds * 1000).toISOString()));
    try {
      return await retry();
    } finally {
      useClock(previous);
    }
  };

  /** v4's first attempt replaces v3 and fails to tell it (SNS) while the hand-off starts v4, reading v3 as told. */
  const replaceWhileHandingOff = async () => {
    await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
    failNextPublishAfter(handOff);
    await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
      'Rate exceeded',
    );
    expect(store.waiters.get('checkout')).toBeUndefined();
    expect(notifier.events()).toEqual([]);
  };

  /** SNS fails the next publish (past the SDK's retries), after `meanwhile` ran while its mark was held. */
  const failNextPublishAfter = (meanwhile: () => Promise<unknown>) => {
    const publish = notifier.publish.bind(notifier);
    notifier.publish = async () => {
      notifier.publish = publish;
      await meanwhile();
      throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    };
  };

  it('tells the replaced push when SNS fails and the hand-off comes after the telling took its mark back', async () => {
    await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
    failNextPublishAfter(async () => undefined);
    await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
      'Rate exceeded',
    );

    // The mark was taken back: the hand-off tells v3 before it starts v4.
    await expect(handOff()).resolves.toMatchObject({ released: true, woke: nameOf('b') });

    expect(notifier.events()).toEqual(['superseded']);
    expect(store.record(nameOf('a'))?.status).toBe('superseded');
  });

  // The window: between the trigger's mark of v3 (notifyOnce: markNotified, then SNS) and its taking the
  // mark back after SNS failed, the hand-off reads the mark as "told" (tellIfUntold), starts v4 and takes it
  // out of the queue with the v3 it carried. The trigger's Lambda retry then finds v4 no longer queued, and
  // v3 only by its record (superseded by v4, never notified): its StartExecution of v4 answers that v4
  // exists (the retry's input says when it was received, a minute later), and the duplicate tells v3.
  it('tells the replaced push once when SNS fails exactly while the hand-off skips it on the trigger mark', async () => {
    await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
    let handedOff: Awaited<ReturnType<typeof handOff>> | undefined;
    failNextPublishAfter(async () => {
      handedOff = await handOff();
    });
    await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
      'Rate exceeded',
    );
    expect(handedOff).toMatchObject({ released: true, woke: nameOf('b') });
    expect(store.waiters.get('checkout')).toBeUndefined();

    // Lambda retries the trigger's asynchronous invocation (twice by default), the first a minute later.
    await atRetry(() => startRelease({ starter, queue }, config, push('10:08', 'b', 'v4')));

    // v4 runs (the retry's StartExecution of v4 answers it exists: a duplicate, v4 started once).
    expect(new Set(starter.calls.map((call) => call.name))).toEqual(new Set([nameOf('b')]));
    expect(store.record(nameOf('a'))?.status).toBe('superseded');
    expect(notifier.events()).toEqual(['superseded']);
    expect(notifier.published[0]).toMatchObject({
      topicArn: TOPIC_ARN,
      notification: {
        // The notification the first attempt would have sent, at when v3 was superseded.
        message: {
          event: 'superseded',
          service: 'checkout',
          release: nameOf('a'),
          toVersion: 'v3',
          reason: `superseded by newer release ${nameOf('b')}`,
          supersededBy: nameOf('b'),
          at: NOW,
        },
      },
    });
    // Its record and release event went out once, with the first attempt.
    expect(events.published.filter((event) => event.kind === 'superseded')).toHaveLength(1);
  });

  it('tells the replaced push on the retry once the push it carried holds the lock', async () => {
    await replaceWhileHandingOff();
    // v4's execution took the free lock before the retry came.
    store.locks.set('checkout', {
      holder: nameOf('b'),
      requestedAt: '2025-03-04T10:08:00Z',
      acquiredAt: '2025-03-04T10:30:01.000Z',
      leaseExpiresAt: NOW_EPOCH + 3600,
    });
    await expect(
      atRetry(() => startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))),
    ).resolves.toMatchObject({ status: 'duplicate', executionName: nameOf('b') });
    expect(notifier.events()).toEqual(['superseded']);
  });

  it('tells the replaced push on the retry while a newer release holds the lock and v4 ran before it', async () => {
    await replaceWhileHandingOff();
    // v4's execution ran and ended; a newer push's execution holds the lock and runs.
    starter.ended.add(nameOf('b'));
    starter.executions.set(nameOf('c'), {});
    store.locks.set('checkout', {
      holder: nameOf('c'),
      requestedAt: '2025-03-04T10:20:00Z',
      acquiredAt: '2025-03-04T10:30:30.000Z',
      leaseExpiresAt: NOW_EPOCH + 3600,
    });
    await expect(
      atRetry(() => startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))),
    ).resolves.toMatchObject({ status: 'duplicate', executionName: nameOf('b') });
    expect(notifier.events()).toEqual(['superseded']);
    expect(store.waiters.get('checkout')).toBeUndefined();
  });

  it('tells the replaced push on the last retry when SNS still failed on the first, and never twice', async () => {
    await replaceWhileHandingOff();
    notifier.failNext = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    await expect(
      atRetry(() => startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))),
    ).rejects.toThrow('Rate exceeded');
    expect(notifier.events()).toEqual([]);
    await atRetry(() => startRelease({ starter, queue }, config, push('10:08', 'b', 'v4')), 180);
    expect(notifier.events()).toEqual(['superseded']);
    // The event delivered again later (EventBridge delivers at least once): nobody is told twice.
    await atRetry(() => startRelease({ starter, queue }, config, push('10:08', 'b', 'v4')), 600);
    expect(notifier.events()).toEqual(['superseded']);
  });

  /** How many times people were told `name` was superseded. */
  const toldSuperseded = (name: string) =>
    notifier.published.filter(
      (entry) =>
        entry.notification.message.event === 'superseded' && entry.notification.message.release === name,
    ).length;

  it('tells the replaced push on the retry when a newer push replaced the retried one and read its mark meanwhile', async () => {
    await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
    // While v4's telling of v3 holds v3's mark, v5 replaces v4 (with v3 kept in it) and tells v4, taking v3
    // for told: v3 leaves the queue with v4.
    failNextPublishAfter(() => startRelease({ starter, queue }, config, push('10:09', 'c', 'v5')));
    await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
      'Rate exceeded',
    );
    expect(store.waiters.get('checkout')?.supersedes?.executionName).toBe(nameOf('b'));
    expect([toldSuperseded(nameOf('a')), toldSuperseded(nameOf('b'))]).toEqual([0, 1]);

    // v4's retry finds it was told superseded: a duplicate, which tells v3 from its record.
    await expect(
      atRetry(() => startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))),
    ).resolves.toMatchObject({ status: 'duplicate', executionName: nameOf('b') });
    expect([toldSuperseded(nameOf('a')), toldSuperseded(nameOf('b'))]).toEqual([1, 1]);
    expect(starter.calls).toEqual([]);
  });

  it('tells the replaced push on the retry when the newer push that replaced the retried one could not tell it either', async () => {
    await startRelease({ starter, queue }, config, push('10:05', 'a', 'v3'));
    // v5 replaces v4 while v4's telling of v3 holds v3's mark, and its own telling of v4 fails too.
    failNextPublishAfter(async () => {
      notifier.failNext = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
      await expect(startRelease({ starter, queue }, config, push('10:09', 'c', 'v5'))).rejects.toThrow(
        'Rate exceeded',
      );
    });
    await expect(startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))).rejects.toThrow(
      'Rate exceeded',
    );
    expect(notifier.events()).toEqual([]);

    // v4's retry finds v5 queued, carrying v4 as the push it replaced: it tells v3 from its record, then
    // ends superseded by v5 (told once); v5's retry is a duplicate that tells nobody twice.
    await expect(
      atRetry(() => startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))),
    ).resolves.toMatchObject({ status: 'superseded', by: nameOf('c') });
    await expect(
      atRetry(() => startRelease({ starter, queue }, config, push('10:09', 'c', 'v5'))),
    ).resolves.toMatchObject({ status: 'duplicate', executionName: nameOf('c') });
    expect([toldSuperseded(nameOf('a')), toldSuperseded(nameOf('b'))]).toEqual([1, 1]);
    expect(store.waiters.get('checkout')?.executionName).toBe(nameOf('c'));
    expect(starter.calls).toEqual([]);
  });

  it("counts the notification lost when the trigger's last retry still cannot tell the replaced push", async () => {
    const counted: Array<{ metric: string; dimensions: Record<string, string> }> = [];
    supersedePending = pendingPushReporter(
      {
        store,
        notifier,
        events,
        metrics: { count: async (metric, dimensions) => void counted.push({ metric, dimensions }) },
      },
      () => SETTINGS,
      () => TOPIC_ARN,
    );
    await replaceWhileHandingOff();
    const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });

    // SNS is down for minutes: Lambda's first retry (a minute later) fails too, and more will come.
    notifier.failNext = throttled();
    await expect(
      atRetry(() => startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'))),
    ).rejects.toThrow('Rate exceeded');
    expect(counted).toEqual([]);

    // Its last retry (two minutes after that) fails: the event goes to the dead-letter queue, and nothing
    // else will find v3, so the loss is counted for the alarm to page.
    notifier.failNext = throttled();
    await expect(
      atRetry(() => startRelease({ starter, queue }, config, push('10:08', 'b', 'v4')), 180),
    ).rejects.toThrow('Rate exceeded');
    expect(counted).toEqual([{ metric: 'NotificationsLost', dimensions: { Service: 'checkout' } }]);
    expect(notifier.events()).toEqual([]);
  });
});
