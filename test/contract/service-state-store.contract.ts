import { beforeEach, describe, expect, it } from 'vitest';
import { serviceRef } from '../../lib/ports/service-ref.ts';
import type { ServiceState } from '../../lib/ports/service-state-store.ts';
import type { StoreFactory, StoreSubject } from './subject.ts';
import { contractClock } from './subject.ts';

const START = '2025-03-04T10:00:00.000Z';
const CHECKOUT = serviceRef('checkout');

const promoted = (latestRelease: string, stableVersion: string): ServiceState => ({
  service: 'checkout',
  stableSlot: 'green',
  stableVersion,
  stableTaskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:${stableVersion}`,
  latestRelease,
  updatedAt: START,
});

/** What serves a service, and the conditions that keep a slow older release from overwriting a newer one. */
export const serviceStateStoreContract = (name: string, factory: StoreFactory): void => {
  describe(`Contract: ServiceStateStore (${name})`, () => {
    const clock = contractClock(START);
    let subject: StoreSubject;

    beforeEach(async () => {
      clock.set(START);
      subject = await factory();
    });

    it('records the latest release on an idle-slot claim, and no state until a promotion', async () => {
      const { services } = subject.store;
      await services.claimIdleSlot(CHECKOUT, 'r1');

      await expect(services.isLatestRelease(CHECKOUT, 'r1')).resolves.toBe(true);
      await expect(services.isLatestRelease(CHECKOUT, 'r0')).resolves.toBe(false);
      await expect(services.read(CHECKOUT)).resolves.toBeUndefined();
    });

    it('records the promotion of the latest release', async () => {
      const { services } = subject.store;
      await services.claimIdleSlot(CHECKOUT, 'r1');

      await expect(services.recordPromotion(CHECKOUT, promoted('r1', 'v1'))).resolves.toBe(true);
      await expect(services.read(CHECKOUT)).resolves.toEqual(promoted('r1', 'v1'));
    });

    it('refuses the promotion of an older release once a newer one took the idle slot', async () => {
      const { services } = subject.store;
      await services.claimIdleSlot(CHECKOUT, 'r1');
      await services.recordPromotion(CHECKOUT, promoted('r1', 'v1'));
      await services.claimIdleSlot(CHECKOUT, 'r2');

      await expect(services.recordPromotion(CHECKOUT, promoted('r1', 'v1-again'))).resolves.toBe(false);
      await expect(services.read(CHECKOUT)).resolves.toMatchObject({
        stableVersion: 'v1',
        latestRelease: 'r2',
      });
    });

    it('fences the service for the rollback of the latest release: a newer claim is refused until the fence lapses', async () => {
      const { services } = subject.store;
      await services.claimIdleSlot(CHECKOUT, 'r1');

      await expect(services.fenceForRollback(CHECKOUT, 'r0', 600)).resolves.toBe(false);
      await expect(services.fenceForRollback(CHECKOUT, 'r1', 600)).resolves.toBe(true);
      await expect(services.claimIdleSlot(CHECKOUT, 'r2')).rejects.toMatchObject({
        name: 'ServiceBusyError',
      });
      await expect(services.claimIdleSlot(CHECKOUT, 'r1')).resolves.toBeUndefined();
      clock.advance(601);
      await expect(services.claimIdleSlot(CHECKOUT, 'r2')).resolves.toBeUndefined();
      await expect(services.isLatestRelease(CHECKOUT, 'r2')).resolves.toBe(true);
    });

    it('reads the state alone while the service is fenced, never the fence', async () => {
      const { services } = subject.store;
      await services.claimIdleSlot(CHECKOUT, 'r1');
      await services.recordPromotion(CHECKOUT, promoted('r1', 'v1'));

      await services.fenceForRollback(CHECKOUT, 'r1', 600);

      await expect(services.read(CHECKOUT)).resolves.toEqual(promoted('r1', 'v1'));
    });

    it('says a rollback of the latest release is under way while its fence holds, until it lapses or is cleared', async () => {
      const { services } = subject.store;
      await services.claimIdleSlot(CHECKOUT, 'r1');
      await services.recordPromotion(CHECKOUT, promoted('r1', 'v1'));
      await expect(services.isRollingBack(CHECKOUT, 'r1')).resolves.toBe(false);

      await services.fenceForRollback(CHECKOUT, 'r1', 600);

      await expect(services.isRollingBack(CHECKOUT, 'r1')).resolves.toBe(true);
      await expect(services.isRollingBack(CHECKOUT, 'r0')).resolves.toBe(false);
      clock.advance(601);
      await expect(services.isRollingBack(CHECKOUT, 'r1')).resolves.toBe(false);

      await services.fenceForRollback(CHECKOUT, 'r1', 600);
      await services.recordPromotion(CHECKOUT, promoted('r1', 'v0'));
      await expect(services.isRollingBack(CHECKOUT, 'r1')).resolves.toBe(false);
    });

    it('clears the fence when the rollback records the stable slot again', async () => {
      const { services } = subject.store;
      await services.claimIdleSlot(CHECKOUT, 'r1');
      await services.fenceForRollback(CHECKOUT, 'r1', 600);

      await services.recordPromotion(CHECKOUT, promoted('r1', 'v0'));

      await expect(services.claimIdleSlot(CHECKOUT, 'r2')).resolves.toBeUndefined();
    });

    it('keeps one service in two environments apart', async () => {
      const { services } = subject.store;
      await services.claimIdleSlot(CHECKOUT, 'r1');
      await services.fenceForRollback(CHECKOUT, 'r1', 600);

      await expect(services.claimIdleSlot(serviceRef('checkout', 'staging'), 's1')).resolves.toBeUndefined();
      await expect(services.isLatestRelease(CHECKOUT, 'r1')).resolves.toBe(true);
    });
  });
};
