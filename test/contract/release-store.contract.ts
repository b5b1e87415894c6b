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
