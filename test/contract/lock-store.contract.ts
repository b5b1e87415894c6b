import { beforeEach, describe, expect, it } from 'vitest';
import { serviceRef } from '../../lib/ports/service-ref.ts';
import type { StoreFactory, StoreSubject } from './subject.ts';
import { contractClock } from './subject.ts';

const CHECKOUT = serviceRef('checkout');
const START = '2025-03-04T10:00:00.000Z';

const waiter = (name: string, requestedAt: string, extra: object = {}) => ({
  executionName: name,
  requestedAt,
  taskToken: `token-${name}`,
  ...extra,
});

/** The lock part: a leased, re-entrant lock and a queue that keeps only the newest push. */
export const lockStoreContract = (name: string, factory: StoreFactory): void => {
  describe(`Contract: LockStore (${name})`, () => {
    const clock = contractClock(START);
    let subject: StoreSubject;

    beforeEach(async () => {
      clock.set(START);
      subject = await factory();
    });

    describe('Method: acquire', () => {
      it('takes a free lock, refuses another holder naming the holder, and is re-entrant', async () => {
        const { lock } = subject.store;

        await expect(lock.acquire(CHECKOUT, 'checkout-v2', '2025-03-04T09:59:00Z', 600)).resolves.toEqual({
          acquired: true,
        });
        const refused = await lock.acquire(CHECKOUT, 'checkout-v3', '2025-03-04T10:01:00Z', 600);
        expect(refused).toEqual({
          acquired: false,
          holder: {
            holder: 'checkout-v2',
            requestedAt: '2025-03-04T09:59:00Z',
            acquiredAt: START,
            leaseExpiresAt: clock.epoch() + 600,
          },
        });
        clock.advance(60);
        await expect(lock.acquire(CHECKOUT, 'checkout-v2', '2025-03-04T09:59:00Z', 600)).resolves.toEqual({
          acquired: true,
        });
        await expect(lock.read(CHECKOUT)).resolves.toMatchObject({
          holder: 'checkout-v2',
          leaseExpiresAt: clock.epoch() + 600,
        });
      });

      it('lets another holder take over a lapsed lease, and only then', async () => {
        const { lock } = subject.store;
        await lock.acquire(CHECKOUT, 'checkout-v2', START, 600, { receivedAt: START, receivedSeq: 1 });

        clock.advance(600);
        await expect(lock.acquire(CHECKOUT, 'checkout-v3', START, 600)).resolves.toMatchObject({
          acquired: false,
        });
        clock.advance(1);
        await expect(lock.acquire(CHECKOUT, 'checkout-v3', START, 600)).resolves.toEqual({ acquired: true });
        await expect(lock.read(CHECKOUT)).resolves.toMatchObject({ holder: 'checkout-v3' });
      });

      it('keeps the locks of one service in two environments apart', async () => {
        const { lock } = subject.store;
        await lock.acquire(CHECKOUT, 'checkout-v2', START, 600);

        await expect(
          lock.acquire(serviceRef('checkout', 'staging'), 'checkout-staging-v3', START, 600),
        ).resolves.toEqual({ acquired: true });
        await expect(lock.read(CHECKOUT)).resolves.toMatchObject({ holder: 'checkout-v2' });
      });
    });

    describe('Method: release', () => {
      it('releases only for the holder, and hands back the queued waiter', async () => {
        const { lock } = subject.store;
        await lock.acquire(CHECKOUT, 'checkout-v2', START, 600);
        await lock.enqueue(CHECKOUT, waiter('checkout-v3', '2025-03-04T10:05:00Z'));

        await expect(lock.release(CHECKOUT, 'checkout-v9')).resolves.toEqual({
          released: false,
          next: waiter('checkout-v3', '2025-03-04T10:05:00Z'),
        });
        await expect(lock.read(CHECKOUT)).resolves.toMatchObject({ holder: 'checkout-v2' });
        await expect(lock.release(CHECKOUT, 'checkout-v2')).resolves.toEqual({
          released: true,
          next: waiter('checkout-v3', '2025-03-04T10:05:00Z'),
        });
        await expect(lock.read(CHECKOUT)).resolves.toBeUndefined();
      });

      it('names no waiter when none is queued', async () => {
        await subject.store.lock.acquire(CHECKOUT, 'checkout-v2', START, 600);

        await expect(subject.store.lock.release(CHECKOUT, 'checkout-v2')).resolves.toEqual({
          released: true,
        });
      });
    });

    describe('Method: enqueue', () => {
      it('keeps only the newest push: a newer one replaces the queued one, an older one is refused', async () => {
        const { lock } = subject.store;
        const v3 = waiter('checkout-v3', '2025-03-04T10:03:00Z');
        const v4 = waiter('checkout-v4', '2025-03-04T10:04:00Z');

        await expect(lock.enqueue(CHECKOUT, v3)).resolves.toEqual({ queued: true });
        await expect(lock.enqueue(CHECKOUT, v4)).resolves.toEqual({ queued: true, replaced: v3 });
        // The replaced waiter stays with the newer one until it is told (a retried enqueue tells it still).
        await expect(lock.enqueue(CHECKOUT, v3)).resolves.toEqual({
          queued: false,
          newer: { ...v4, supersedes: v3 },
        });
        await expect(lock.queued(CHECKOUT)).resolves.toEqual({ ...v4, supersedes: v3 });
      });

      it('orders two pushes of the same second by when the trigger received them', async () => {
        const { lock } = subject.store;
        const later = waiter('checkout-a', START, { receivedAt: '2025-03-04T10:00:01.250Z', receivedSeq: 7 });
        const earlier = waiter('checkout-z', START, {
          receivedAt: '2025-03-04T10:00:01.100Z',
          receivedSeq: 9,
        });

        await lock.enqueue(CHECKOUT, earlier);
        await expect(lock.enqueue(CHECKOUT, later)).resolves.toEqual({ queued: true, replaced: earlier });
        await expect(lock.queued(CHECKOUT)).resolves.toEqual({ ...later, supersedes: earlier });
      });

      it('refreshes the token of a retried enqueue without reporting a replacement', async () => {
        const { lock } = subject.store;
        const v3 = waiter('checkout-v3', '2025-03-04T10:03:00Z');
        await lock.enqueue(CHECKOUT, v3);

        await expect(lock.enqueue(CHECKOUT, { ...v3, taskToken: 'token-retry' })).resolves.toEqual({
          queued: true,
        });
        await expect(lock.queued(CHECKOUT)).resolves.toEqual({ ...v3, taskToken: 'token-retry' });
      });

      it('keeps the pending push a waiter replaced with it, and reports it again to a retried enqueue', async () => {
        const { lock } = subject.store;
        const pending = waiter('checkout-v3', '2025-03-04T10:03:00Z', {
          taskToken: 'pending-push:checkout-v3:::r1',
          pendingInput: JSON.stringify({ service: 'checkout', requestedAt: '2025-03-04T10:03:00Z' }),
        });
        await lock.enqueue(CHECKOUT, pending);
        const v4 = waiter('checkout-v4', '2025-03-04T10:04:00Z');

        await expect(lock.enqueue(CHECKOUT, v4)).resolves.toEqual({ queued: true, replaced: pending });
        await expect(lock.queued(CHECKOUT)).resolves.toEqual({ ...v4, supersedes: pending });
        // The wait's Retry queues the same execution again: the replaced push is reported again.
        await expect(lock.enqueue(CHECKOUT, { ...v4, taskToken: 'token-retry' })).resolves.toEqual({
          queued: true,
          replaced: pending,
        });
        await expect(lock.queued(CHECKOUT)).resolves.toEqual({
          ...v4,
          taskToken: 'token-retry',
          supersedes: pending,
        });
      });

      it('keeps a trimmed copy of a replaced pending push whose input is too large to keep whole', async () => {
        const { lock } = subject.store;
        // Two inputs near Step Functions' 256 KB limit do not fit in one 400 KB DynamoDB item.
        const input = (name: string, tag: string) =>
          JSON.stringify({
            service: 'checkout',
            image: { repository: 'team/checkout', digest: `sha256:${'a'.repeat(64)}`, tag },
            requestedAt: '2025-03-04T10:03:00Z',
            receivedAt: '2025-03-04T10:03:00.123Z',
            source: 'ecr-push',
            requestedBy: `${name} `.repeat((200 * 1024) / (name.length + 1)),
          });
        const pending = waiter('checkout-v3', '2025-03-04T10:03:00Z', {
          taskToken: 'pending-push:checkout-v3:::r1',
          pendingInput: input('checkout-v3', 'v3'),
        });
        await lock.enqueue(CHECKOUT, pending);
        const v4 = waiter('checkout-v4', '2025-03-04T10:04:00Z', {
          taskToken: 'pending-push:checkout-v4:::r2',
          pendingInput: input('checkout-v4', 'v4'),
        });

        await expect(lock.enqueue(CHECKOUT, v4)).resolves.toEqual({ queued: true, replaced: pending });
        const kept = (await lock.queued(CHECKOUT))?.supersedes;
        expect(kept).toEqual({
          ...pending,
          pendingInput: JSON.stringify({
            service: 'checkout',
            image: { repository: 'team/checkout', digest: `sha256:${'a'.repeat(64)}`, tag: 'v3' },
            requestedAt: '2025-03-04T10:03:00Z',
            receivedAt: '2025-03-04T10:03:00.123Z',
            source: 'ecr-push',
          }),
        });
      });

      it('registers the queued push as a lock-queue wait, found from its release', async () => {
        const { lock, waits } = subject.store;
        await lock.enqueue(CHECKOUT, waiter('checkout-v3', '2025-03-04T10:03:00Z'));

        await expect(waits.findByRelease('checkout-v3')).resolves.toEqual([
          expect.objectContaining({
            kind: 'lock-queue',
            releaseId: 'checkout-v3',
            service: 'checkout',
            environment: 'default',
            taskToken: 'token-checkout-v3',
          }),
        ]);
      });
    });

    describe('Method: dequeue', () => {
      it('removes the queued waiter only if it is this execution', async () => {
        const { lock } = subject.store;
        const v4 = waiter('checkout-v4', '2025-03-04T10:04:00Z');
        await lock.enqueue(CHECKOUT, v4);

        await lock.dequeue(CHECKOUT, 'checkout-v3');
        await expect(lock.queued(CHECKOUT)).resolves.toEqual(v4);
        await lock.dequeue(CHECKOUT, 'checkout-v4');
        await expect(lock.queued(CHECKOUT)).resolves.toBeUndefined();
      });
    });
  });
};
