import { beforeEach, describe, expect, it } from 'vitest';
import { UnknownServiceError } from '../../../lib/errors.ts';
import {
  acquireReleaseLock,
  leaseSecondsFor,
  releaseLockAndWakeNext,
  waitForReleaseLock,
} from '../../../lib/use-cases/release-lock.ts';
import { FakeTaskTokens, InMemoryReleaseStore } from '../fakes.ts';
import { releaseRequest, repoConfig, withFixedClock } from '../fixtures.ts';

const config = repoConfig();
const NOW = '2025-03-04T10:30:00.000Z';
const NOW_EPOCH = Date.parse(NOW) / 1000;

/** Three pushes of checkout, oldest first. */
const v2 = { id: 'checkout-v2', request: releaseRequest({ requestedAt: '2025-03-04T10:00:00Z' }) };
const v3 = { id: 'checkout-v3', request: releaseRequest({ requestedAt: '2025-03-04T10:05:00Z' }) };
const v4 = { id: 'checkout-v4', request: releaseRequest({ requestedAt: '2025-03-04T10:10:00Z' }) };

describe('Function: leaseSecondsFor', () => {
  it('covers the steady timeout, every bake and the warm period, plus an hour', () => {
    // 20m steady + 3 x 10m bakes + 15m warm + 1h margin
    expect(leaseSecondsFor(config, 'checkout')).toBe(1200 + 1800 + 900 + 3600);
  });

  it('throws UnknownServiceError for an undeclared service', () => {
    expect(() => leaseSecondsFor(config, 'payments')).toThrow(UnknownServiceError);
  });
});

describe('Use case: release lock', () => {
  let store: InMemoryReleaseStore;
  let tokens: FakeTaskTokens;

  withFixedClock(NOW);

  beforeEach(() => {
    store = new InMemoryReleaseStore();
    tokens = new FakeTaskTokens();
  });

  describe('Function: acquireReleaseLock', () => {
    it('takes a free lock with a lease covering the whole release', async () => {
      const result = await acquireReleaseLock({ store }, config, v2.request, v2.id);

      expect(result).toEqual({ acquired: true, superseded: false });
      expect(store.locks.get('checkout')).toEqual({
        holder: 'checkout-v2',
        requestedAt: '2025-03-04T10:00:00Z',
        acquiredAt: NOW,
        leaseExpiresAt: NOW_EPOCH + 7500,
      });
    });

    it('keeps the lock for a retried holder even when a newer push has queued meanwhile', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
      await store.enqueueWaiter('checkout', {
        executionName: v3.id,
        requestedAt: v3.request.requestedAt,
        taskToken: 't3',
      });

      await expect(acquireReleaseLock({ store }, config, v2.request, v2.id)).resolves.toEqual({
        acquired: true,
        superseded: false,
      });
      expect(store.locks.get('checkout')?.holder).toBe(v2.id);
    });

    it('is re-entrant for the holder (a retried state)', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);

      await expect(acquireReleaseLock({ store }, config, v2.request, v2.id)).resolves.toEqual({
        acquired: true,
        superseded: false,
      });
    });

    it('reports the holder when an older release holds the lock, and waits at most until just past its lease, or an hour', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);

      await expect(acquireReleaseLock({ store }, config, v3.request, v3.id)).resolves.toEqual({
        acquired: false,
        superseded: false,
        holder: 'checkout-v2',
        // The lease covers the whole release (7500 s): woken by the hand-off; the timeout only catches a
        // lost wake-up, re-checking the lock at most an hour later.
        waitSeconds: 3600,
      });
    });

    it('waits at least a second behind a lease that lapses now', async () => {
      store.locks.set('checkout', {
        holder: 'checkout-v2',
        requestedAt: v2.request.requestedAt,
        acquiredAt: '2025-03-04T08:00:00.000Z',
        leaseExpiresAt: NOW_EPOCH,
      });

      await expect(acquireReleaseLock({ store }, config, v3.request, v3.id)).resolves.toMatchObject({
        acquired: false,
        waitSeconds: 1,
      });
    });

    it('waits no longer than Step Functions accepts as a task timeout behind a lease further away', async () => {
      // A lease written under another config (or another Shipline version) may lie beyond what
      // TimeoutSecondsPath accepts (99999999): the wait then re-checks at that bound instead of failing.
      store.locks.set('checkout', {
        holder: 'checkout-v2',
        requestedAt: v2.request.requestedAt,
        acquiredAt: NOW,
        leaseExpiresAt: NOW_EPOCH + 200_000_000,
      });

      await expect(acquireReleaseLock({ store }, config, v3.request, v3.id)).resolves.toMatchObject({
        acquired: false,
        waitSeconds: 3600,
      });
    });

    it('re-checks within the hour a lock a failed hand-off left free behind a long release', async () => {
      // A release with long bakes holds a 3-day lease; its hand-off deletes the lock but cannot wake the
      // queued push (SendTaskSuccess failing past its retries): the lock is free and nobody is woken.
      store.locks.set('checkout', {
        holder: 'checkout-v2',
        requestedAt: v2.request.requestedAt,
        acquiredAt: NOW,
        leaseExpiresAt: NOW_EPOCH + 72 * 3600,
      });
      const refused = await acquireReleaseLock({ store }, config, v3.request, v3.id);
      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');
      store.locks.delete('checkout');

      // The queued push's wait times out within the hour and it retries the lock, instead of after 72 hours.
      expect(refused).toMatchObject({ acquired: false, superseded: false });
      expect(refused.acquired === false && !refused.superseded && refused.waitSeconds).toBeLessThanOrEqual(
        3600,
      );
      await expect(acquireReleaseLock({ store }, config, v3.request, v3.id)).resolves.toEqual({
        acquired: true,
        superseded: false,
      });
    });

    it('supersedes a request older than the lock holder', async () => {
      await acquireReleaseLock({ store }, config, v3.request, v3.id);

      await expect(acquireReleaseLock({ store }, config, v2.request, v2.id)).resolves.toEqual({
        acquired: false,
        superseded: true,
        by: 'checkout-v3',
      });
    });

    it('supersedes a request older than the queued one without touching the lock', async () => {
      store.waiters.set('checkout', {
        executionName: v4.id,
        requestedAt: v4.request.requestedAt,
        taskToken: 't4',
      });

      await expect(acquireReleaseLock({ store }, config, v3.request, v3.id)).resolves.toEqual({
        acquired: false,
        superseded: true,
        by: 'checkout-v4',
      });
      expect(store.calls).not.toContain('acquireLock');
      expect(store.locks.size).toBe(0);
    });

    it('takes the lock when it is itself the queued waiter, and leaves the queue', async () => {
      store.waiters.set('checkout', {
        executionName: v3.id,
        requestedAt: v3.request.requestedAt,
        taskToken: 't3',
      });

      await expect(acquireReleaseLock({ store }, config, v3.request, v3.id)).resolves.toEqual({
        acquired: true,
        superseded: false,
      });
      expect(store.waiters.has('checkout')).toBe(false);
    });

    it('a woken waiter superseded by a newer push that took the lock first leaves the queue: no hand-off wakes it again', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');
      await releaseLockAndWakeNext({ store, tokens }, 'checkout', v2.id);
      // A newer push's execution, started at once on the free lock, takes it before the woken one.
      await acquireReleaseLock({ store }, config, v4.request, v4.id);

      await expect(acquireReleaseLock({ store }, config, v3.request, v3.id)).resolves.toEqual({
        acquired: false,
        superseded: true,
        by: 'checkout-v4',
      });

      expect(store.waiters.has('checkout')).toBe(false);
      expect(await releaseLockAndWakeNext({ store, tokens }, 'checkout', v4.id)).toEqual({ released: true });
    });

    it('queues behind a live lease on what it read, without a conditional write bound to fail', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
      store.calls.length = 0;

      await expect(acquireReleaseLock({ store }, config, v3.request, v3.id)).resolves.toMatchObject({
        acquired: false,
        superseded: false,
        holder: 'checkout-v2',
      });
      expect(store.calls).toEqual(['readQueueSnapshot']);
      expect(store.locks.get('checkout')?.holder).toBe('checkout-v2');
    });

    it('takes over a lock whose lease expired', async () => {
      store.locks.set('checkout', {
        holder: 'checkout-dead',
        requestedAt: '2025-03-04T09:00:00Z',
        acquiredAt: '2025-03-04T09:00:00.000Z',
        leaseExpiresAt: NOW_EPOCH - 1,
      });

      await expect(acquireReleaseLock({ store }, config, v2.request, v2.id)).resolves.toEqual({
        acquired: true,
        superseded: false,
      });
      expect(store.locks.get('checkout')?.holder).toBe('checkout-v2');
    });
  });

  describe('Function: waitForReleaseLock', () => {
    beforeEach(async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
    });

    it('queues behind the holder and keeps its token', async () => {
      const result = await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');

      expect(result).toEqual({ queued: true });
      expect(store.waiters.get('checkout')).toEqual({
        executionName: 'checkout-v3',
        requestedAt: '2025-03-04T10:05:00Z',
        taskToken: 't3',
      });
      expect(tokens.succeeded).toEqual([]);
    });

    it('resumes an older waiter as superseded by the newer one', async () => {
      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');

      const result = await waitForReleaseLock({ store, tokens }, v4.request, v4.id, 't4');

      expect(result).toEqual({ queued: true, replaced: 'checkout-v3' });
      expect(tokens.succeeded).toEqual([{ token: 't3', output: { superseded: true, by: 'checkout-v4' } }]);
      expect(store.waiters.get('checkout')?.executionName).toBe('checkout-v4');
    });

    it('a retried wait tells the waiter its first attempt replaced and failed to tell (SendTaskSuccess throttled)', async () => {
      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');
      const succeed = tokens.succeed.bind(tokens);
      tokens.succeed = async () => {
        tokens.succeed = succeed;
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      };
      await expect(waitForReleaseLock({ store, tokens }, v4.request, v4.id, 't4')).rejects.toThrow(
        'Rate exceeded',
      );

      // The wait state's Retry: a new attempt, with its own token.
      await waitForReleaseLock({ store, tokens }, v4.request, v4.id, 't4-2');

      expect(tokens.succeeded).toEqual([{ token: 't3', output: { superseded: true, by: 'checkout-v4' } }]);
      expect(store.waiters.get('checkout')).toMatchObject({
        executionName: 'checkout-v4',
        taskToken: 't4-2',
      });
      // Told once: the hand-off that wakes the newer push finds it told (its token spent) and wakes v4 only.
      await releaseLockAndWakeNext({ store, tokens }, 'checkout', v2.id);
      expect(tokens.succeeded).toEqual([
        { token: 't3', output: { superseded: true, by: 'checkout-v4' } },
        { token: 't4-2', output: { superseded: false } },
      ]);
    });

    it('resumes itself as superseded when a newer request is already queued', async () => {
      await waitForReleaseLock({ store, tokens }, v4.request, v4.id, 't4');

      const result = await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');

      expect(result).toEqual({ queued: false, supersededBy: 'checkout-v4' });
      expect(tokens.succeeded).toEqual([{ token: 't3', output: { superseded: true, by: 'checkout-v4' } }]);
      expect(store.waiters.get('checkout')?.executionName).toBe('checkout-v4');
    });

    it('resumes itself at once when the lock came free meanwhile (no lost wake-up)', async () => {
      store.locks.clear();

      const result = await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');

      expect(result).toEqual({ queued: true });
      expect(tokens.succeeded).toEqual([{ token: 't3', output: { superseded: false } }]);
    });

    it('a late copy of its wait (run again after the execution took the lock) leaves nothing queued behind it', async () => {
      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');
      await releaseLockAndWakeNext({ store, tokens }, 'checkout', v2.id);
      await acquireReleaseLock({ store }, config, v3.request, v3.id);
      expect(store.waiters.get('checkout')).toBeUndefined();

      const result = await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');

      expect(result).toEqual({ queued: false });
      expect(store.waiters.get('checkout')).toBeUndefined();
      // The release it holds is never told superseded by a newer push, nor woken again by its own hand-off.
      await waitForReleaseLock({ store, tokens }, v4.request, v4.id, 't4');
      expect(await releaseLockAndWakeNext({ store, tokens }, 'checkout', v3.id)).toEqual({
        released: true,
        woke: 'checkout-v4',
      });
      expect(tokens.succeeded).toEqual([
        { token: 't3', output: { superseded: false } },
        { token: 't4', output: { superseded: false } },
      ]);
    });

    it('a late copy of its wait queueing it while the execution takes the lock on a read without it leaves nothing queued', async () => {
      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');
      await releaseLockAndWakeNext({ store, tokens }, 'checkout', v2.id);
      // The woken execution's read of the lock shows no entry of it (its entry is gone, say), and a late copy
      // of its wait writes one between that read and the lock write.
      await store.dequeueWaiter('checkout', v3.id);
      const read = store.readQueueSnapshot.bind(store);
      store.readQueueSnapshot = async (service, request) => {
        store.readQueueSnapshot = read;
        const snapshot = await read(service, request);
        await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');
        return snapshot;
      };

      expect(await acquireReleaseLock({ store }, config, v3.request, v3.id)).toEqual({
        acquired: true,
        superseded: false,
      });

      expect(store.waiters.get('checkout')).toBeUndefined();
    });

    it('resumes itself at once when the lease of the holder expired', async () => {
      const lock = store.locks.get('checkout');
      if (lock) store.locks.set('checkout', { ...lock, leaseExpiresAt: NOW_EPOCH - 1 });

      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');

      expect(tokens.succeeded).toEqual([{ token: 't3', output: { superseded: false } }]);
    });
  });

  describe('Function: releaseLockAndWakeNext', () => {
    it('releases the lock and wakes the queued release', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');

      const result = await releaseLockAndWakeNext({ store, tokens }, 'checkout', v2.id);

      expect(result).toEqual({ released: true, woke: 'checkout-v3' });
      expect(store.locks.has('checkout')).toBe(false);
      expect(tokens.succeeded).toEqual([{ token: 't3', output: { superseded: false } }]);
    });

    it('releases the lock and wakes nobody when nobody waits', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);

      await expect(releaseLockAndWakeNext({ store, tokens }, 'checkout', v2.id)).resolves.toEqual({
        released: true,
      });
      expect(tokens.succeeded).toEqual([]);
    });

    it('does not release a lock another release holds', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);

      const result = await releaseLockAndWakeNext({ store, tokens }, 'checkout', 'checkout-other');

      expect(result.released).toBe(false);
      expect(store.locks.get('checkout')?.holder).toBe('checkout-v2');
    });

    it('a push that never held the lock (superseded) releases nothing and wakes nobody, reading the lock once', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
      await waitForReleaseLock({ store, tokens }, v4.request, v4.id, 't4');
      store.calls.length = 0;

      await expect(releaseLockAndWakeNext({ store, tokens }, 'checkout', v3.id)).resolves.toEqual({
        released: false,
      });
      expect(store.calls).toEqual(['readLock']);
      expect(store.locks.get('checkout')?.holder).toBe('checkout-v2');
      expect(tokens.succeeded).toEqual([]);
    });

    it('a retried hand-off whose first attempt already deleted the lock still wakes the waiter', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');
      store.locks.delete('checkout');

      await expect(releaseLockAndWakeNext({ store, tokens }, 'checkout', v2.id)).resolves.toEqual({
        released: false,
        woke: 'checkout-v3',
      });
      expect(tokens.succeeded).toEqual([{ token: 't3', output: { superseded: false } }]);
    });

    it('resumes a waiter older than the holder handing off as superseded: an older push never releases after a newer one', async () => {
      // v3 queues behind v2. v2's hand-off deletes the lock but fails before waking v3 (SendTaskSuccess
      // throttled); meanwhile v4 is pushed and takes the free lock, so v2's retried hand-off wakes nobody.
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');
      await store.releaseLock('checkout', v2.id);
      await expect(acquireReleaseLock({ store }, config, v4.request, v4.id)).resolves.toEqual({
        acquired: true,
        superseded: false,
      });
      await expect(releaseLockAndWakeNext({ store, tokens }, 'checkout', v2.id)).resolves.toEqual({
        released: false,
      });

      // When v4 hands off, v3 (older than v4, which released) ends as superseded instead of taking the lock.
      await releaseLockAndWakeNext({ store, tokens }, 'checkout', v4.id);
      expect(tokens.succeeded).toEqual([{ token: 't3', output: { superseded: true, by: 'checkout-v4' } }]);
    });

    it('does not wake itself', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
      store.waiters.set('checkout', {
        executionName: v2.id,
        requestedAt: v2.request.requestedAt,
        taskToken: 't2',
      });

      await expect(releaseLockAndWakeNext({ store, tokens }, 'checkout', v2.id)).resolves.toEqual({
        released: true,
      });
      expect(tokens.succeeded).toEqual([]);
    });
  });

  describe('Scenario: two pushes in the same second', () => {
    // ECR's `time` has second precision. The later-received push has the lexicographically smaller
    // execution name (its digest sorts first): it must still win, the name says nothing about order.
    const second = '2025-03-04T10:00:00Z';
    const early = {
      id: 'checkout-ffff',
      request: releaseRequest({
        requestedAt: second,
        receivedAt: '2025-03-04T10:00:00.100Z',
        receivedSeq: 1,
      }),
    };
    const late = {
      id: 'checkout-0000',
      request: releaseRequest({
        requestedAt: second,
        receivedAt: '2025-03-04T10:00:00.700Z',
        receivedSeq: 2,
      }),
    };

    it('supersedes the earlier-received push when the later one is queued', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
      await waitForReleaseLock({ store, tokens }, late.request, late.id, 'token-late');

      await expect(
        waitForReleaseLock({ store, tokens }, early.request, early.id, 'token-early'),
      ).resolves.toEqual({
        queued: false,
        supersededBy: late.id,
      });
      await expect(acquireReleaseLock({ store }, config, early.request, early.id)).resolves.toEqual({
        acquired: false,
        superseded: true,
        by: late.id,
      });
    });

    it('replaces the earlier-received waiter with the later one', async () => {
      await acquireReleaseLock({ store }, config, v2.request, v2.id);
      await waitForReleaseLock({ store, tokens }, early.request, early.id, 'token-early');

      await expect(
        waitForReleaseLock({ store, tokens }, late.request, late.id, 'token-late'),
      ).resolves.toEqual({
        queued: true,
        replaced: early.id,
      });
      expect(store.waiters.get('checkout')).toMatchObject({
        executionName: late.id,
        receivedAt: '2025-03-04T10:00:00.700Z',
        receivedSeq: 2,
      });
    });

    it('supersedes an earlier-received request when the later-received one holds the lock', async () => {
      await acquireReleaseLock({ store }, config, late.request, late.id);

      await expect(acquireReleaseLock({ store }, config, early.request, early.id)).resolves.toEqual({
        acquired: false,
        superseded: true,
        by: late.id,
      });
      expect(store.locks.get('checkout')).toMatchObject({ receivedAt: '2025-03-04T10:00:00.700Z' });
    });
  });

  describe('Scenario: two pushes during a release', () => {
    it('supersedes the middle push and releases the newest after the running one', async () => {
      await expect(acquireReleaseLock({ store }, config, v2.request, v2.id)).resolves.toMatchObject({
        acquired: true,
      });
      await expect(acquireReleaseLock({ store }, config, v3.request, v3.id)).resolves.toMatchObject({
        acquired: false,
      });
      await waitForReleaseLock({ store, tokens }, v3.request, v3.id, 't3');
      await expect(acquireReleaseLock({ store }, config, v4.request, v4.id)).resolves.toMatchObject({
        acquired: false,
      });
      await waitForReleaseLock({ store, tokens }, v4.request, v4.id, 't4');

      await releaseLockAndWakeNext({ store, tokens }, 'checkout', v2.id);
      // v3 wakes up late (its resume raced) and tries the lock again: the queued v4 is newer.
      const v3Again = await acquireReleaseLock({ store }, config, v3.request, v3.id);
      const v4Again = await acquireReleaseLock({ store }, config, v4.request, v4.id);

      expect(tokens.succeeded).toEqual([
        { token: 't3', output: { superseded: true, by: 'checkout-v4' } },
        { token: 't4', output: { superseded: false } },
      ]);
      expect(v3Again).toEqual({ acquired: false, superseded: true, by: 'checkout-v4' });
      expect(v4Again).toEqual({ acquired: true, superseded: false });
      expect(store.locks.get('checkout')?.holder).toBe('checkout-v4');
      expect(store.waiters.has('checkout')).toBe(false);
    });
  });
});
