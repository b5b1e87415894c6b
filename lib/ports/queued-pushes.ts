import type { Actor } from '../domain/progress.ts';

/** A person's withdrawal of a push queued as data (a pending push) before its release starts. */
export interface WithdrawRequest {
  service: string;
  /** The queued push's release id (the execution name it will have). */
  releaseId: string;
  /** Why (required, as for every abort): the record and the notification name it. */
  reason: string;
  actor: Actor;
}

/**
 * What the withdrawal came to:
 * - `withdrawn`: taken out of the queue, recorded as failed with who withdrew it, and told; it never starts.
 *   `told` is false when people could not be told (`toldError` says why), `recorded` false when even its
 *   record could not be written;
 * - `started`: it left the queue because the hand-off is starting (or started) its execution: abort it as a
 *   running release;
 * - `not-queued`: it is not the queued push: a newer push superseded it, a person already withdrew it, or it
 *   was never queued (`why`).
 */
export type WithdrawResult =
  | {
      status: 'withdrawn';
      releaseId: string;
      toVersion: string;
      /** The release it was queued behind, when one held the service. */
      behind?: string;
      reason: string;
      told: boolean;
      /**
       * False when its record could not be written (then nobody was told either): it is out of the queue
       * and never starts, but its history says nothing of it. Absent when it was recorded.
       */
      recorded?: false;
      toldError?: string;
    }
  | { status: 'started'; releaseId: string }
  | { status: 'not-queued'; releaseId: string; why: string };

/**
 * Takes a queued push out of the queue: in-process where the function has the config and the topics (the
 * trigger), and through the trigger function from the CLI (the same use case).
 */
export interface QueuedPushes {
  withdraw(request: WithdrawRequest): Promise<WithdrawResult>;
}
