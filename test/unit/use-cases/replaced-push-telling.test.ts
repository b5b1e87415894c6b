import { beforeEach, describe, expect, it } from 'vitest';
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
import { repoConfig, STATE_MACHINE_ARN, TOPIC_ARN, withFixedClock } from '../fixtures.ts';
import { HOLDER, NOW, NOW_EPOCH, nameOf, push } from './queue-fixtures.ts';

const config = repoConfig();
const SETTINGS = { region: 'us-east-1', defaultTopicArn: TOPIC_ARN };

/**
 * A pending push replaced by a newer one is told superseded by the trigger that replaced it; its telling
 * marks it told ('superseded') before SNS is called and takes the mark back when SNS fails, so the
 * trigger's retry tells it again (it finds the replaced push kept with the newer one in the queue). The
 * hand-off tells a push the waiter it wakes replaced only when it is not marked (tellReplaced ->
 * tellIfUntold), then starts that waiter and takes it, and the replaced push it carries, out of the queue.
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
    store.locks.set('checkout', {
      holder: HOLDER,
      requestedAt: '2025-03-04T10:00:00Z',
      acquiredAt: '2025-03-04T10:00:01.000Z',
      leaseExpiresAt: NOW_EPOCH + 3600,
    });
    starter.executions.set(HOLDER, {});
  });

  const handOff = () =>
    releaseLockAndWakeNext({ store, tokens, starter, supersedePending }, 'checkout', HOLDER);

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

  // Item B (2026-11-24): the window exists. Between the trigger's mark of v3 (notifyOnce: markNotified,
  // then SNS) and its taking the mark back after SNS failed, the hand-off reads the mark as "told"
  // (release-lock.ts tellIfUntold: `wasTold` -> return), starts v4 and takes it out of the queue with the
  // v3 it carried (startPendingPush -> dequeueWaiter). The trigger's Lambda retry then finds v4 no longer
  // queued (queue-push.ts startNow: `self?.executionName !== executionName` -> undefined), so it starts v4
  // again (a duplicate) and never sees v3: v3 is recorded superseded (its record and release event were
  // written before the mark) but nobody is ever told. The fix belongs in release-lock.ts / queue-push.ts,
  // which this change may not edit: see the report. Skipped until then; it fails today on the last lines.
  it.skip('tells the replaced push once when SNS fails exactly while the hand-off skips it on the trigger mark', async () => {
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

    // Lambda retries the trigger's asynchronous invocation (twice by default).
    await startRelease({ starter, queue }, config, push('10:08', 'b', 'v4'));

    // v4 runs (the retry's StartExecution of the same name and input is the same execution).
    expect(new Set(starter.calls.map((call) => call.name))).toEqual(new Set([nameOf('b')]));
    expect(store.record(nameOf('a'))?.status).toBe('superseded');
    expect(notifier.events()).toEqual(['superseded']);
  });
});
