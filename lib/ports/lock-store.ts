import type { RequestOrder } from '../domain/request-order.ts';
import type { ServiceRef } from './service-ref.ts';

/** When the trigger received a request: orders two pushes of the same second (see request-order.ts). */
export type Receipt = Omit<RequestOrder, 'requestedAt'>;

/** Who holds a service's lock, and until when the lease protects it from a take-over. */
export interface LockLease {
  holder: string;
  /** When the holder's image was pushed (or requested): an older request never overtakes it. */
  requestedAt: string;
  receivedAt?: string;
  receivedSeq?: number;
  acquiredAt: string;
  leaseExpiresAt: number;
}

/**
 * The release queued behind the lock holder: an execution waiting on the task token that resumes it, or a
 * pending push (`pendingInput` set) whose execution is started only when the lock is handed on to it.
 */
export interface Waiter {
  executionName: string;
  requestedAt: string;
  receivedAt?: string;
  receivedSeq?: number;
  /**
   * The task token that resumes a waiting execution. A pending push has no execution to resume: its token
   * is a marker unique to that enqueue ({@link pendingTokenOf}), so a conditional replace or claim still
   * names exactly the waiter it read.
   */
  taskToken: string;
  /**
   * A pending push: the execution input exactly as StartExecution will send it (JSON text), so every start
   * of it (the trigger's, any hand-off's, a retried one) sends the same input and Step Functions treats
   * them as one idempotent start.
   */
  pendingInput?: string;
  /**
   * The waiter this one replaced in the queue (a pending push, or an execution waiting on its task token),
   * kept with it so that a retried queueing (the trigger's Lambda retry, the wait state's Retry) or the
   * hand-off still tells it it was superseded when the first attempt failed after the replace and before
   * telling it.
   */
  supersedes?: Omit<Waiter, 'supersedes'>;
}

/** The prefix of a pending push's marker token: never a Step Functions task token. */
export const PENDING_TOKEN_PREFIX = 'pending-push:';

/** True when the waiter is a pending push (no execution yet), not an execution waiting on a task token. */
export const isPendingPush = (waiter: Waiter): waiter is Waiter & { pendingInput: string } =>
  waiter.pendingInput !== undefined;

/**
 * What a pending push's marker token ends with once a hand-off (or the trigger) is starting its execution:
 * the queue entry names the same push, with another token, so a person's withdrawal (conditional on the
 * token it read) can no longer take it out, and a withdrawal that came first makes this mark fail. A newer
 * push replacing it in the queue does not tell it superseded: its execution may be starting this moment.
 */
export const STARTING_SUFFIX = ':starting';

/** True when a hand-off has marked this pending push as being started (see {@link STARTING_SUFFIX}). */
export const isStartingPush = (waiter: Pick<Waiter, 'taskToken'>): boolean =>
  waiter.taskToken.endsWith(STARTING_SUFFIX);

/** A pending push's marker token: unique to the request as the trigger received it. */
export const pendingTokenOf = (
  executionName: string,
  received: { receivedAt?: string; receivedSeq?: number; receiptId?: string },
): string =>
  `${PENDING_TOKEN_PREFIX}${executionName}:${received.receivedAt ?? ''}:${received.receivedSeq ?? ''}:${received.receiptId ?? ''}`;

/**
 * One release at a time per service (and environment): a leased lock, and a queue that keeps only the
 * newest waiting push. The queued waiter is a `lock-queue` wait of the wait registry, so it is found from
 * its release like every other wait.
 */
export interface LockStore {
  /** Takes the lock, or returns the current holder. Re-entrant for the same holder; a lapsed lease is taken over. */
  acquire(
    ref: ServiceRef,
    holder: string,
    requestedAt: string,
    leaseSeconds: number,
    received?: Receipt,
  ): Promise<{ acquired: true } | { acquired: false; holder: LockLease }>;
  /** The current lease, if any (a consistent read). */
  read(ref: ServiceRef): Promise<LockLease | undefined>;
  /** Releases the lock if `holder` holds it; returns the queued waiter to wake, if any. */
  release(ref: ServiceRef, holder: string): Promise<{ released: boolean; next?: Waiter }>;
  /**
   * Queues a waiter. Only the newest request (by push time, then receipt time) is kept: returns the waiter
   * it replaced, or `newer` when a newer request is already queued (then this one is superseded). A pending
   * push finding its own execution name queued (a duplicate push) leaves it there: `newer` is that waiter.
   */
  enqueue(
    ref: ServiceRef,
    waiter: Waiter,
    /** The queued waiter as the caller just read it: the first attempt's conditional replace expects it. */
    known?: { queued: Waiter | undefined },
  ): Promise<{ queued: true; replaced?: Waiter } | { queued: false; newer: Waiter }>;
  /** The queued waiter, if any. */
  queued(ref: ServiceRef): Promise<Waiter | undefined>;
  /**
   * Removes the queued waiter if it is this execution (a later waiter stays queued); with `taskToken`, only
   * if it still holds that token.
   */
  dequeue(ref: ServiceRef, executionName: string, taskToken?: string): Promise<void>;
}
