/**
 * Which of two release requests is newer. The newest push is the one with the latest push time; ECR
 * reports that time to the second, so pushes in the same second are ordered by when the trigger received
 * them. Never by digest or execution name: a digest says nothing about which image came last.
 */
export interface RequestOrder {
  /** Push time (ECR event `time`) or manual request time. */
  requestedAt: string;
  /** When the trigger received it (ISO with milliseconds); absent on requests from older triggers. */
  receivedAt?: string;
  /** Tie-breaker within one millisecond of one trigger container. */
  receivedSeq?: number;
}

/** Milliseconds since the epoch; timestamps are compared as instants, not as strings ("10:00:00Z" vs "10:00:00.5Z"). */
const instant = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
};

/**
 * Negative when `a` is older than `b`, positive when newer, 0 when nothing tells them apart (then the
 * request already holding the lock or queued keeps its place).
 */
export const compareRequests = (a: RequestOrder, b: RequestOrder): number => {
  const byPush = (instant(a.requestedAt) ?? 0) - (instant(b.requestedAt) ?? 0);
  if (byPush !== 0) return Math.sign(byPush);
  const aReceived = instant(a.receivedAt);
  const bReceived = instant(b.receivedAt);
  if (aReceived === undefined || bReceived === undefined) return 0;
  if (aReceived !== bReceived) return Math.sign(aReceived - bReceived);
  return Math.sign((a.receivedSeq ?? 0) - (b.receivedSeq ?? 0));
};

/** True when `a` was pushed (or, in the same second, received) after `b`. */
export const isNewerRequest = (a: RequestOrder, b: RequestOrder): boolean => compareRequests(a, b) > 0;

/** The ordering fields of a request, as the lock and the waiter queue store them. */
export const requestOrderOf = (request: RequestOrder): RequestOrder => ({
  requestedAt: request.requestedAt,
  ...(request.receivedAt !== undefined ? { receivedAt: request.receivedAt } : {}),
  ...(request.receivedSeq !== undefined ? { receivedSeq: request.receivedSeq } : {}),
});
