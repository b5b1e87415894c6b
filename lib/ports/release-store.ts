import type { StepShift } from '../domain/types.ts';
import type { LockLease, LockStore, Receipt, Waiter } from './lock-store.ts';
import type { NotificationMarks } from './notification-marks.ts';
import type { ReleaseHistory, ReleaseRecord } from './release-history.ts';
import type { ServiceState, ServiceStateStore } from './service-state-store.ts';
import type { WaitRegistry } from './wait-registry.ts';

export type { LockLease, Receipt, Waiter } from './lock-store.ts';
export type { ReleaseRecord } from './release-history.ts';
export type { ServiceState } from './service-state-store.ts';

/** A bake waiting for alarm events: resumed by the alarm function through its task token. */
export interface AlarmWatch {
  alarmName: string;
  releaseId: string;
  service: string;
  taskToken: string;
  percent: number;
  /** The release's shifts so far: an alarm's event names the step during which it transitioned. */
  shifts?: StepShift[];
  /** Only alarm transitions at or after this instant fail the release (see README: pre-existing alarms). */
  watchFrom: string;
  /**
   * What waits on the alarm: a bake (the default when absent), the rollback window after promotion,
   * which an alarm resumes as failed (AlarmAfterPromotion) so the release rolls back to the warm old slot,
   * or a rolling update's rollout (its await-ready step), which an alarm resumes as not ready.
   */
  kind?: 'bake' | 'rollback-window' | 'rollout';
  /** A rollout's: the ECS deployment its task also waits on (that `ready` wait ends with it). */
  deploymentId?: string;
}

/** A wait for an ECS deployment to reach a steady state, resumed by the ECS event function. */
export interface SlotWait {
  deploymentId: string;
  releaseId: string;
  /** The service the release deploys (recorded with the wait so a command finds it; optional for old callers). */
  service?: string;
  taskToken: string;
}

/**
 * What the trigger decides a push on, read together (one BatchGetItem in DynamoDB, each item strongly
 * consistent, but not all at one point in time): the service's lease, its queued waiter, and whether a
 * release was already told a notification kind.
 */
export interface QueueSnapshot {
  lease?: LockLease;
  /** The queued waiter; undefined when none is queued or it was not asked for. */
  queued?: Waiter;
  /** Whether `told` was notified (false when nothing was asked). */
  told: boolean;
}

/** What a {@link QueueSnapshot} reads besides the lease. */
export interface QueueSnapshotRequest {
  /** Read the queued waiter too. */
  queued?: boolean;
  /** Read whether this release was told this notification kind. */
  told?: { releaseId: string; kind: string };
}

/** The store's parts, one per concern; each has its own contract suite (test/contract). */
export interface ReleaseStoreParts {
  lock: LockStore;
  waits: WaitRegistry;
  history: ReleaseHistory;
  services: ServiceStateStore;
  marks: NotificationMarks;
}

/**
 * Persistence for the pipeline (DynamoDB), as use cases call it today: every method is implemented on the
 * parts ({@link ReleaseStoreParts}) in the default environment, and waits of every kind go through the wait
 * registry, so each is found from its release. New code takes the parts it needs instead.
 */
export interface ReleaseStore {
  /** Takes the service lock, or returns the current holder. Re-entrant for the same holder. */
  acquireLock(
    service: string,
    holder: string,
    requestedAt: string,
    leaseSeconds: number,
    received?: Receipt,
  ): Promise<{ acquired: true } | { acquired: false; holder: LockLease }>;
  /** Releases the lock if `holder` holds it; returns the waiter to wake, if any. */
  releaseLock(service: string, holder: string): Promise<{ released: boolean; next?: Waiter }>;
  /**
   * Queues a waiter. Only the newest request (by push time, then receipt time) is kept: returns the waiter it replaced,
   * or `newer` when a newer request is already queued (then this one is superseded). A pending push a hand-off
   * is starting is not returned as `replaced` but as `kept` (kept with the waiter as `supersedes`, not told).
   */
  enqueueWaiter(
    service: string,
    waiter: Waiter,
    /** The queued waiter as the caller just read it (a snapshot): the first attempt reads it no more. */
    known?: { queued: Waiter | undefined },
  ): Promise<{ queued: true; replaced?: Waiter; kept?: Waiter } | { queued: false; newer: Waiter }>;
  readWaiter(service: string): Promise<Waiter | undefined>;
  /** Removes the queued waiter if it is this execution (with `taskToken`: only if it still holds it). */
  dequeueWaiter(service: string, executionName: string, taskToken?: string): Promise<void>;
  /**
   * Replaces the queued waiter with `next`, or removes it when `next` is undefined, only if the queue still
   * holds `expected` (the same execution with the same token): one conditional write. False when the queue
   * changed meanwhile (another push replaced it, the hand-off took it, a person withdrew it), so the caller
   * learns whether it was the one that acted on that very waiter.
   */
  replaceWaiter(
    service: string,
    expected: Pick<Waiter, 'executionName' | 'taskToken'>,
    next?: Waiter,
  ): Promise<boolean>;
  readLock(service: string): Promise<LockLease | undefined>;
  /**
   * The lease, and as asked the queued waiter and a notification mark, in one consistent read where the
   * store can (DynamoDB: one BatchGetItem instead of a GetItem each).
   */
  readQueueSnapshot(service: string, request?: QueueSnapshotRequest): Promise<QueueSnapshot>;

  readServiceState(service: string): Promise<ServiceState | undefined>;
  /**
   * Marks `releaseId` as the latest release to take the idle slot. Refused with `ServiceBusyError`
   * (retried by the state for minutes) while another release holds the rollback fence.
   */
  claimIdleSlot(service: string, releaseId: string): Promise<void>;
  /**
   * Atomically checks that `releaseId` is still the latest release and, if so, fences the service for
   * `seconds`: no newer release may claim a slot until the rollback records the stable slot again (which
   * clears the fence) or the fence expires. False if a newer release already owns the service.
   */
  fenceForRollback(service: string, releaseId: string, seconds: number): Promise<boolean>;
  /**
   * Records which slot and version are stable. Conditional on `state.latestRelease` still being the
   * latest release: returns false (and writes nothing) if a newer release has taken the service over.
   */
  recordPromotion(state: ServiceState): Promise<boolean>;
  /** True if `releaseId` is still the latest release (nobody took the idle slot since). */
  isLatestRelease(service: string, releaseId: string): Promise<boolean>;
  /** True while the rollback of `releaseId` (the latest release) holds the service's fence. */
  isRollingBack(service: string, releaseId: string): Promise<boolean>;

  putRecord(record: ReleaseRecord): Promise<void>;
  updateRecord(
    service: string,
    requestedAt: string,
    releaseId: string,
    changes: Partial<ReleaseRecord>,
  ): Promise<void>;
  listRecords(service: string, limit: number): Promise<ReleaseRecord[]>;
  /** One release's record by its request time and id (however many records are newer), or undefined. */
  readRecord(service: string, requestedAt: string, releaseId: string): Promise<ReleaseRecord | undefined>;

  putAlarmWatches(watches: readonly AlarmWatch[], ttlSeconds: number): Promise<void>;
  /** Watches registered on an alarm. */
  alarmWatches(alarmName: string): Promise<AlarmWatch[]>;
  /**
   * Deletes a watch; returns false if it was already gone. With `taskToken`, only the watch holding that
   * token is deleted (a stale event must not remove the watch of a later bake of the same release).
   */
  claimAlarmWatch(alarmName: string, releaseId: string, taskToken?: string): Promise<boolean>;
  clearAlarmWatches(alarmNames: readonly string[], releaseId: string): Promise<void>;
  /**
   * Removes the release's pause wait, if any: a pause answered or timed out leaves it registered, and an
   * ended release must not look as if it still waited for a person.
   */
  clearPauseWait(releaseId: string): Promise<void>;

  putSlotWait(wait: SlotWait, ttlSeconds: number): Promise<void>;
  readSlotWait(deploymentId: string): Promise<SlotWait | undefined>;
  claimSlotWait(deploymentId: string): Promise<SlotWait | undefined>;

  /** Records that a notification was sent; false if it already was (a retried state sends nothing twice). */
  markNotified(releaseId: string, kind: string): Promise<boolean>;
  unmarkNotified(releaseId: string, kind: string): Promise<void>;
  /** True if `kind` was notified for the release (a push told superseded is never released afterwards). */
  wasNotified(releaseId: string, kind: string): Promise<boolean>;
}
