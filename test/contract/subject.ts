import { afterAll, beforeAll } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import type { ReleaseRef, ReleaseStore, ReleaseStoreParts } from '../../lib/ports/index.ts';

/** What every store contract runs against: the parts (and the old methods composed on them). */
export interface StoreSubject {
  store: ReleaseStore & ReleaseStoreParts;
  /** The TTL (`expiresAt`, epoch seconds) the store set on a release record. */
  recordExpiresAt(ref: ReleaseRef): Promise<number | undefined>;
}

/** Builds a fresh, empty store for each test. */
export type StoreFactory = () => Promise<StoreSubject>;

/** A clock the contracts move by hand (leases and fences expire; TTLs are computed from it). */
export const contractClock = (startIso: string) => {
  let at = Date.parse(startIso);
  let previous: Clock | undefined;
  beforeAll(() => {
    previous = useClock({ now: () => new Date(at) });
  });
  afterAll(() => {
    if (previous) useClock(previous);
  });
  return {
    epoch: () => Math.floor(at / 1000),
    advance: (seconds: number) => {
      at += seconds * 1000;
    },
    set: (iso: string) => {
      at = Date.parse(iso);
    },
  };
};
