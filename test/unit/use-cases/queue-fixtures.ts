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
