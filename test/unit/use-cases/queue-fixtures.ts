import type { FakeExecutionStarter, InMemoryReleaseStore } from '../fakes.ts';
import { ecrPushEvent } from '../fixtures.ts';

/**
 * What the tests of pushes queued as data share: the clock they run at, the release holding checkout's
 * lock, and pushes named by one digit.
 */

/** The tests' clock: half an hour after the holder (pushed at 10:00) started. */
export const NOW = '2025-03-04T10:30:00.000Z';
export const NOW_EPOCH = Date.parse(NOW) / 1000;
/** The running release that holds checkout's lock. */
export const HOLDER = 'checkout-holder';

/** A push of checkout at `time` (HH:MM), of an image whose digest is `digit` repeated. */
export const push = (time: string, digit: string, tag: string) =>
  ecrPushEvent({ time: `2025-03-04T${time}:00Z`, digest: `sha256:${digit.repeat(64)}`, tag });

/** The execution name the trigger derives for a push of that digest. */
export const nameOf = (digit: string): string => `checkout-${digit.repeat(32)}`;

/**
 * The running release (pushed at `requestedAt`, 10:00 unless said) holds checkout's lock with a live lease,
 * and its execution runs.
 */
export const holdCheckoutLock = (
  store: InMemoryReleaseStore,
  starter: FakeExecutionStarter,
  requestedAt = '2025-03-04T10:00:00Z',
): void => {
  store.locks.set('checkout', {
    holder: HOLDER,
    requestedAt,
    acquiredAt: '2025-03-04T10:00:01.000Z',
    leaseExpiresAt: NOW_EPOCH + 3600,
  });
  starter.executions.set(HOLDER, {});
};
