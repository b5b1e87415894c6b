/** Source of "now". Injectable so the sandbox can run handlers on its virtual clock. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

let current: Clock = systemClock;
let source: (() => Clock | undefined) | undefined;

/** Replaces the clock used by use cases (tests install a fixed one). Returns the previous one. */
export const useClock = (next: Clock): Clock => {
  const previous = current;
  current = next;
  return previous;
};

/**
 * Installs a source asked for the clock on every read, before the installed clock: the sandbox answers
 * with the virtual clock of the world the caller runs in (several worlds share one process), and with
 * undefined outside any world. `undefined` removes the source.
 */
export const useClockSource = (next: (() => Clock | undefined) | undefined): void => {
  source = next;
};

const active = (): Clock => source?.() ?? current;

/** The current time on the active clock. */
export const now = (): Date => active().now();

/** Current time as epoch seconds (DynamoDB TTL and lease arithmetic). */
export const nowEpochSeconds = (): number => Math.floor(active().now().getTime() / 1000);
