import { beforeEach, describe, expect, it } from 'vitest';
import { notifyOnce } from '../../../lib/use-cases/notify.ts';
import { FakeNotifier, InMemoryReleaseStore } from '../fakes.ts';
import { TOPIC_ARN, V2_RELEASE_ID, withFixedClock } from '../fixtures.ts';

const NOW = '2025-03-04T10:00:05.000Z';
const facts = {
  kind: 'started' as const,
  service: 'checkout',
  releaseId: V2_RELEASE_ID,
  fromVersion: 'v1',
  toVersion: 'v2',
  region: 'us-east-1',
};

describe('Function: notifyOnce', () => {
  let store: InMemoryReleaseStore;
  let notifier: FakeNotifier;

  withFixedClock(NOW);

  beforeEach(() => {
    store = new InMemoryReleaseStore();
    notifier = new FakeNotifier();
  });

  it('publishes the notification and marks it sent', async () => {
    await expect(notifyOnce({ store, notifier }, TOPIC_ARN, facts)).resolves.toBe(true);

    expect(notifier.published).toEqual([
      {
        topicArn: TOPIC_ARN,
        notification: {
          subject: '[shipline] checkout: releasing v2 (from v1)',
          message: {
            event: 'started',
            service: 'checkout',
            release: V2_RELEASE_ID,
            fromVersion: 'v1',
            toVersion: 'v2',
            reason: null,
            executionArn: null,
            consoleUrl: null,
            at: NOW,
          },
        },
      },
    ]);
    expect([...store.notified]).toEqual([`${V2_RELEASE_ID}#started`]);
  });

  it('publishes nothing on a retry', async () => {
    await notifyOnce({ store, notifier }, TOPIC_ARN, facts);

    await expect(notifyOnce({ store, notifier }, TOPIC_ARN, facts)).resolves.toBe(false);
    expect(notifier.published).toHaveLength(1);
  });

  it('publishes each kind once per release', async () => {
    await notifyOnce({ store, notifier }, TOPIC_ARN, facts);
    await notifyOnce({ store, notifier }, TOPIC_ARN, { ...facts, kind: 'promoted' });
    await notifyOnce({ store, notifier }, TOPIC_ARN, { ...facts, releaseId: 'checkout-other' });

    expect(notifier.events()).toEqual(['started', 'promoted', 'started']);
  });

  it('removes the marker when publishing fails, so the retry publishes', async () => {
    notifier.failNext = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });

    await expect(notifyOnce({ store, notifier }, TOPIC_ARN, facts)).rejects.toThrow('Rate exceeded');
    expect(store.notified.size).toBe(0);
    expect(store.calls).toEqual(['markNotified', 'unmarkNotified']);

    await expect(notifyOnce({ store, notifier }, TOPIC_ARN, facts)).resolves.toBe(true);
    expect(notifier.published).toHaveLength(1);
  });

  it('keeps an explicit time', async () => {
    await notifyOnce({ store, notifier }, TOPIC_ARN, { ...facts, at: '2025-01-01T00:00:00.000Z' });

    expect(notifier.published[0]?.notification.message.at).toBe('2025-01-01T00:00:00.000Z');
  });
});
