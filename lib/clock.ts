/** Source of "now". Injectable so the sandbox can run handlers on its virtual clock. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

let current: Clock = systemClock;

/** Replaces the clock used by use cases (the sandbox installs its virtual clock). Returns the previous one. */
export const useClock = (next: Clock): Clock => {
  const previous = current;
  current = next;
  return previous;
};

/** The current time on the installed clock. */
export const now = (): Date => current.now();

/** Current time as epoch seconds (DynamoDB TTL and lease arithmetic). */
export const nowEpochSeconds = (): number => Math.floor(current.now().getTime() / 1000);
