import { beforeEach, describe, expect, it } from 'vitest';
import type { StoreFactory, StoreSubject } from './subject.ts';
import { contractClock } from './subject.ts';

const START = '2025-03-04T10:00:00.000Z';

/** Today's ReleaseStore methods, kept on the parts: every wait they register is found from its release. */
export const releaseStoreContract = (name: string, factory: StoreFactory): void => {
  describe(`Contract: ReleaseStore on its parts (${name})`, () => {
    const clock = contractClock(START);
    let subject: StoreSubject;

    beforeEach(async () => {
      clock.set(START);
      subject = await factory();
    });

    it('registers alarm watches, slot waits and queued waiters in the wait registry, found from the release', async () => {
      const { store } = subject;
      await store.putAlarmWatches(
        ['checkout-5xx', 'checkout-latency'].map((alarmName) => ({
          alarmName,
          releaseId: 'r1',
          service: 'checkout',
          taskToken: 'token-bake',
          percent: 5,
          watchFrom: START,
        })),
        4200,
      );
      await store.putSlotWait(
        { deploymentId: 'ecs-svc/1', releaseId: 'r1', service: 'checkout', taskToken: 't' },
        60,
      );
      await store.enqueueWaiter('checkout', {
        executionName: 'r1',
        requestedAt: START,
        taskToken: 'token-queue',
      });

      const found = await store.waits.findByRelease('r1');

      expect(found.map(({ kind, key }) => `${kind}:${key}`).sort()).toEqual([
        'bake:checkout-5xx',
        'bake:checkout-latency',
        'lock-queue:default/checkout',
        'ready:ecs-svc/1',
      ]);
      expect(found.find((wait) => wait.key === 'checkout-5xx')?.expiresAt).toBe(clock.epoch() + 4200);
    });

    it('reads the lease, the queued waiter and a notification mark as one snapshot, each only when asked', async () => {
      const { store } = subject;
      expect(
        await store.readQueueSnapshot('checkout', {
          queued: true,
          told: { releaseId: 'r2', kind: 'superseded' },
        }),
      ).toEqual({ told: false });
      await store.acquireLock('checkout', 'r1', START, 1800);
      const waiter = {
        executionName: 'r2',
        requestedAt: START,
        taskToken: 'pending-push:r2:x',
        pendingInput: '{}',
      };
      await store.enqueueWaiter('checkout', waiter);
      await store.markNotified('r0', 'superseded');

      const all = await store.readQueueSnapshot('checkout', {
        queued: true,
        told: { releaseId: 'r0', kind: 'superseded' },
      });

      expect(all).toEqual({
        lease: await store.readLock('checkout'),
        queued: await store.readWaiter('checkout'),
        told: true,
      });
      expect(all.lease?.holder).toBe('r1');
      expect(all.queued).toMatchObject(waiter);
      // The lease alone; another release's mark, another kind.
      expect(await store.readQueueSnapshot('checkout')).toEqual({ lease: all.lease, told: false });
      expect(
        (await store.readQueueSnapshot('checkout', { told: { releaseId: 'r0', kind: 'promoted' } })).told,
      ).toBe(false);
      // Another service's lease and queue are not this one's.
      expect(await store.readQueueSnapshot('payments', { queued: true })).toEqual({ told: false });
    });

    it("enqueues from a snapshot's waiter, and reads again when the queue changed since", async () => {
      const { store } = subject;
      await store.acquireLock('checkout', 'r1', START, 1800);
      const { queued } = await store.readQueueSnapshot('checkout', { queued: true });
      const first = {
        executionName: 'r2',
        requestedAt: '2025-03-04T10:01:00.000Z',
        taskToken: 'pending-push:r2:x',
        pendingInput: '{}',
      };
      // Another push is queued after the snapshot was read: the conditional replace fails, and the queue is
      // read again (the newer push stays, this older one is refused).
      await store.enqueueWaiter('checkout', {
        executionName: 'r3',
        requestedAt: '2025-03-04T10:02:00.000Z',
        taskToken: 'pending-push:r3:x',
        pendingInput: '{}',
      });

      const result = await store.enqueueWaiter('checkout', first, { queued });

      expect(result).toMatchObject({ queued: false, newer: { executionName: 'r3' } });
      expect((await store.readWaiter('checkout'))?.executionName).toBe('r3');
    });

    it('replaces or removes the queued waiter only while it is the very waiter read (same release and token)', async () => {
      const { store } = subject;
      const pending = {
        executionName: 'r2',
        requestedAt: START,
        taskToken: 'pending-push:r2:x',
        pendingInput: '{"service":"checkout"}',
      };
      await store.enqueueWaiter('checkout', pending);
      const starting = { ...pending, taskToken: 'pending-push:r2:x:starting' };

      // Marked (as the hand-off marks a push it starts): the same waiter, another token.
      await expect(store.replaceWaiter('checkout', pending, starting)).resolves.toBe(true);
      await expect(store.readWaiter('checkout')).resolves.toEqual(starting);
      // A withdrawal conditional on the token it read before the mark finds the queue changed.
      await expect(store.replaceWaiter('checkout', pending)).resolves.toBe(false);
      await expect(store.replaceWaiter('checkout', { ...starting, executionName: 'r3' })).resolves.toBe(
        false,
      );
      await expect(store.readWaiter('checkout')).resolves.toEqual(starting);
      // Removed when it is still that waiter; then nothing is left to replace.
      await expect(store.replaceWaiter('checkout', starting)).resolves.toBe(true);
      await expect(store.readWaiter('checkout')).resolves.toBeUndefined();
      await expect(store.replaceWaiter('checkout', starting, pending)).resolves.toBe(false);
      await expect(store.readWaiter('checkout')).resolves.toBeUndefined();
    });

    it('reads back what it registered in the shapes the use cases know', async () => {
      const { store } = subject;
      const watch = {
        alarmName: 'checkout-5xx',
        releaseId: 'r1',
        service: 'checkout',
        taskToken: 'token-window',
        percent: 100,
        watchFrom: START,
        kind: 'rollback-window' as const,
      };
      await store.putAlarmWatches([watch], 600);
      await store.putSlotWait({ deploymentId: 'ecs-svc/1', releaseId: 'r1', taskToken: 't' }, 60);

      await expect(store.alarmWatches('checkout-5xx')).resolves.toEqual([watch]);
      await expect(store.readSlotWait('ecs-svc/1')).resolves.toEqual({
        deploymentId: 'ecs-svc/1',
        releaseId: 'r1',
        taskToken: 't',
      });
      await expect(store.claimAlarmWatch('checkout-5xx', 'r1', 'token-stale')).resolves.toBe(false);
      await expect(store.claimAlarmWatch('checkout-5xx', 'r1', 'token-window')).resolves.toBe(true);
      await expect(store.claimSlotWait('ecs-svc/1')).resolves.toMatchObject({ releaseId: 'r1' });
      await expect(store.claimSlotWait('ecs-svc/1')).resolves.toBeUndefined();
    });

    it('clears the watches of a release on the named alarms and leaves other releases watching', async () => {
      const { store } = subject;
      const watch = (releaseId: string) => ({
        alarmName: 'checkout-5xx',
        releaseId,
        service: 'checkout',
        taskToken: `token-${releaseId}`,
        percent: 5,
        watchFrom: START,
      });
      await store.putAlarmWatches([watch('r1'), watch('r2')], 600);

      await store.clearAlarmWatches(['checkout-5xx'], 'r1');

      await expect(store.alarmWatches('checkout-5xx')).resolves.toEqual([watch('r2')]);
    });
  });
};
