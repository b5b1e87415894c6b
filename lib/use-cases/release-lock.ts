import { now, nowEpochSeconds } from '../clock.ts';
import { serviceConfig } from '../config/lookup.ts';
import type { ShiplineConfig } from '../config/schema.ts';
import { versionLabel } from '../domain/names.ts';
import { progressAt, subjectOfRequest } from '../domain/release-progress.ts';
import { isNewerRequest, requestOrderOf } from '../domain/request-order.ts';
import type { ReleaseRequest } from '../domain/types.ts';
import { isPendingPush, isStartingPush, STARTING_SUFFIX, type Waiter } from '../ports/lock-store.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { LockLease, Receipt, ReleaseStore } from '../ports/release-store.ts';
import type { ExecutionStarter, TaskTokens } from '../ports/workflow.ts';
import { buildPlan, leaseSecondsOf } from '../strategies/index.ts';
import { publishTransition } from './transitions.ts';

export type AcquireResult =
  | { acquired: true; superseded: false }
  | {
      acquired: false;
      superseded: false;
      holder: string;
      /**
       * How long to wait, at most, for the holder's wake-up: until just past its lease, and no longer than
       * LOCK_RECHECK_SECONDS. The wake-up is event-driven (the holder's hand-off resumes the queued push);
       * this timeout only catches a lost wake-up: when the lapsed lease can be taken over, or a lock a
       * failed hand-off left free.
       */
      waitSeconds: number;
    }
  | { acquired: false; superseded: true; by: string };

/** What a woken waiter is told. */
export interface WaitOutcome {
  superseded: boolean;
  by?: string;
}

/**
 * Records and tells that a pending push (queued as data, with no execution) was superseded by `by`: what
 * the execution's "Record that a newer push superseded this one" state does, run in-process.
 */
export type SupersedePendingPush = ((
  request: ReleaseRequest,
  releaseId: string,
  by: string,
) => Promise<void>) & {
  /**
   * Tells, from their records, the releases recorded superseded by `by` that were never notified (a
   * retried trigger of `by` whose replaced push left the queue meanwhile: see queue-push.ts tellOwed).
   */
  tellUntoldSupersededBy?: (service: string, by: string) => Promise<void>;
};

/** What telling a queued waiter it was superseded takes: its task token, or the in-process report of a pending push. */
export interface SupersedePorts {
  tokens: TaskTokens;
  /** Needed once a pending push can be in the queue (every deployed function that touches the queue has it). */
  supersedePending?: SupersedePendingPush;
}

/** The in-process report of a superseded pending push, refusing loudly when the caller was not given one. */
const reporterOf = (ports: SupersedePorts, waiter: Waiter): SupersedePendingPush => {
  if (!ports.supersedePending)
    throw new Error(
      `pending push ${waiter.executionName} must be recorded as superseded, and this function was given no way to report it`,
    );
  return ports.supersedePending;
};

/** The execution starter, refusing loudly when the caller was not given one. */
const starterOf = (ports: { starter?: ExecutionStarter }, waiter: Waiter): ExecutionStarter => {
  if (!ports.starter)
    throw new Error(
      `pending push ${waiter.executionName} must be started, and this function was given no execution starter`,
    );
  return ports.starter;
};

/** The request a pending push holds (its execution input, as StartExecution will send it). */
export const pendingRequestOf = (waiter: Waiter & { pendingInput: string }): ReleaseRequest =>
  JSON.parse(waiter.pendingInput) as ReleaseRequest;

/**
 * Tells the pending push `waiter` replaced in the queue (kept with it until then) that `waiter` superseded
 * it, unless it was told already: the replacing push's telling may have failed past its retries (its
 * trigger's event dead-lettered). A push already told is not recorded and published again (its record,
 * release event and notification went out once).
 */
const tellReplaced = async (
  ports: SupersedePorts & { store?: ReleaseStore; starter?: ExecutionStarter },
  waiter: Waiter,
  /** Whether the push it replaced was told, when the caller just read it (else it is read here). */
  replacedTold?: boolean,
): Promise<void> => {
  if (waiter.supersedes) await tellIfUntold(ports, waiter.supersedes, waiter.executionName, replacedTold);
};

/**
 * Tells a pending push kept as replaced (`supersedes`) that `by` superseded it, unless it was told already
 * (`told`, when the caller just read it, else read here). A push a hand-off was starting when it was
 * replaced is told only if no execution of it started (the start failed); one that started settles its
 * own fate (it takes the lock, or its execution is superseded by the newer push and says so). Without a
 * way to look it is left to its execution.
 */
export const tellIfUntold = async (
  ports: SupersedePorts & { store?: ReleaseStore; starter?: ExecutionStarter },
  replaced: Waiter,
  by: string,
  told?: boolean,
): Promise<void> => {
  const wasTold =
    told ?? (ports.store ? await ports.store.wasNotified(replaced.executionName, 'superseded') : false);
  if (wasTold) return;
  if (isStartingPush(replaced)) {
    if (!ports.starter || (await ports.starter.executionState(replaced.executionName)) !== 'none') return;
  }
  await supersedeWaiter(ports, replaced, by);
};

/** A superseded push the hand-off could not tell (its release was woken anyway): who, and why. */
export interface TellingLost {
  push: string;
  error: string;
}

/**
 * Tells a waiter a newer push (or the holder) superseded it: an execution waiting on its task token is
 * resumed with `{ superseded: true, by }` and records it itself; a pending push has no execution, so it is
 * recorded and told here.
 */
export const supersedeWaiter = async (
  ports: SupersedePorts & { store?: ReleaseStore; starter?: ExecutionStarter },
  waiter: Waiter,
  by: string,
  /** Whether `waiter.supersedes` was told, when the caller just read it (see tellReplaced). */
  replacedTold?: boolean,
): Promise<void> => {
  // The pending push this waiter replaced and had not told yet (its telling failed, and a newer push
  // replaced it before its retry): told here, or nobody would.
  await tellReplaced(ports, waiter, replacedTold);
  if (isPendingPush(waiter)) {
    await reporterOf(ports, waiter)(pendingRequestOf(waiter), waiter.executionName, by);
    return;
  }
  await ports.tokens.succeed(waiter.taskToken, { superseded: true, by } satisfies WaitOutcome);
};

/**
 * Starts a pending push's execution with the name and input it was queued with, then takes it out of the
 * queue (only if it is still that very pending push: the same execution queued since with a task token
 * stays). Before the start the queue entry is marked as being started, on condition that it is still the
 * push read: a person's withdrawal that came first makes the mark fail and nothing is started (a withdrawn
 * push never starts), and one that comes after finds the push being started and aborts its execution
 * instead. StartExecution with the same name and input while the execution is open answers with it again,
 * and ExecutionAlreadyExists otherwise (an earlier start of it, or the digest released before): either
 * way an execution of that name exists and no longer needs the queue to start it. Until the start
 * succeeds the push stays queued (marked), so a retried hand-off starts it again.
 */
export const startPendingPush = async (
  ports: { store: ReleaseStore; starter?: ExecutionStarter },
  service: string,
  waiter: Waiter & { pendingInput: string },
): Promise<{ executionArn: string; started: boolean; leftQueue?: true }> => {
  const starter = starterOf(ports, waiter);
  const starting = await markStarting(ports.store, service, waiter);
  if (!starting)
    return {
      executionArn: await starter.executionArn(waiter.executionName),
      started: false,
      leftQueue: true,
    };
  const result = await starter.start(starting.executionName, pendingRequestOf(starting));
  await ports.store.dequeueWaiter(service, starting.executionName, starting.taskToken);
  return result;
};

/**
 * Marks the queued pending push as being started, unless it already is (a retried hand-off, or the trigger
 * and a hand-off both starting it: the same idempotent start). Undefined when the queue no longer holds it
 * (a person withdrew it, a newer push replaced it, or its start already took it out): nothing to start.
 */
const markStarting = async (
  store: ReleaseStore,
  service: string,
  waiter: Waiter & { pendingInput: string },
): Promise<(Waiter & { pendingInput: string }) | undefined> => {
  if (isStartingPush(waiter)) return waiter;
  const starting = { ...waiter, taskToken: `${waiter.taskToken}${STARTING_SUFFIX}` };
  if (await store.replaceWaiter(service, waiter, starting)) return starting;
  // Another start marked it first (then it is started once, with the same input), or it left the queue.
  const now = await store.readWaiter(service);
  return now?.executionName === waiter.executionName && isPendingPush(now) && isStartingPush(now)
    ? now
    : undefined;
};

/** Says on the release-events topic that a push waits behind `holder` (it has no release record yet). */
export const announceQueued = async (
  events: ReleaseEvents | undefined,
  request: ReleaseRequest,
  releaseId: string,
  holder: string | undefined,
): Promise<void> => {
  const at = now().toISOString();
  await publishTransition(
    events,
    subjectOfRequest(request, releaseId, versionLabel(request.image), 'unplanned'),
    progressAt(undefined, undefined, { phase: 'queued', at }),
    {
      kind: 'step',
      text: `${versionLabel(request.image)} is queued behind ${holder ?? 'the running release'}`,
    },
  );
};

/**
 * The longest Task `TimeoutSeconds` Step Functions accepts, "a positive, integer value from 0 up to
 * 99999999" (https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html); the same figure as the
 * config schema's MAX_STATE_SECONDS, kept here so the lock functions do not load the config schema.
 */
const MAX_STATE_SECONDS = 99_999_999;

/**
 * The longest a queued push waits without looking at the lock again. The holder's hand-off wakes it; but a
 * hand-off that deleted the lock and then failed to wake it (Step Functions or DynamoDB still failing, or
 * access denied, past the hand-off's retries of about 11 minutes) leaves the lock free while the push
 * waits. Without this bound it would wait until the holder's lease ends, which for a release with long
 * bakes or pauses is hours or days; with it, such a lost wake-up costs at most an hour, and a push queued
 * behind a 72-hour release re-arms its wait 72 times rather than every 15 minutes.
 */
export const LOCK_RECHECK_SECONDS = 3600;

const receiptOf = (request: ReleaseRequest): Receipt => {
  const { requestedAt: _pushed, ...received } = requestOrderOf(request);
  return received;
};

/**
 * The lease covers the whole planned release (steady wait, every check, pause and bake, the warm period)
 * plus a margin: the same figure the config schema bounds.
 */
export const leaseSecondsFor = (config: ShiplineConfig, service: string): number => {
  const declared = serviceConfig(config, service);
  return leaseSecondsOf(declared, buildPlan(declared, {}));
};

/**
 * The notification mark of a push told it was superseded while it was queued as data, which a person's
 * withdrawal sets too (withdraw-push.ts): a commitment that the push is never released. The trigger refuses
 * it as a duplicate, and the lock refuses its execution (an execution whose start was under way when it
 * was told, see acquireReleaseLock).
 */
export const SUPERSEDED_MARK = 'superseded';

/**
 * Takes the service lock for this release. A request older than the lock holder, or than the newest
 * queued request, is superseded at once: only the newest push ever proceeds. So is a push told superseded
 * (or withdrawn) while it was queued: its execution may have been starting when it was told (the hand-off's
 * StartExecution still retried, so no execution of it existed yet), and what people were told stands.
 */
export const acquireReleaseLock = async (
  ports: { store: ReleaseStore },
  config: ShiplineConfig,
  request: ReleaseRequest,
  releaseId: string,
): Promise<AcquireResult> => {
  const { store } = ports;
  const { service } = request;
  // An undeclared service is refused before the store is touched.
  const leaseSeconds = leaseSecondsFor(config, service);
  const me = requestOrderOf(request);
  // The lease, the queued waiter and this push's told mark in one read (one BatchGetItem on DynamoDB).
  const snapshot = await store.readQueueSnapshot(service, {
    queued: true,
    told: { releaseId, kind: SUPERSEDED_MARK },
  });
  const { lease: held, queued: waiter } = snapshot;
  // The taken-out waiter is removed only when it is this release (woken from its wait, or a pending push
  // whose start has not taken it out yet): any other stays queued. An entry of this release written after
  // this read (a late copy of its wait, its event delivered twice and queued again) is taken out by its
  // writer, which reads the lock after writing it (waitForReleaseLock, queueBehindHolder).
  const leaveQueue = async () => {
    if (waiter?.executionName === releaseId) await store.dequeueWaiter(service, releaseId);
  };
  if (snapshot.told) {
    // Refused before anything else, even a lock a first attempt took (the state after its report then
    // releases it and wakes the next push). Its own entry in the queue, if any, goes with it.
    await leaveQueue();
    return { acquired: false, superseded: true, by: await toldBy(store, request, releaseId, snapshot) };
  }
  // A retried attempt whose first one took the lock keeps it (a newer waiter must not supersede the holder).
  if (held?.holder === releaseId) {
    await leaveQueue();
    return { acquired: true, superseded: false };
  }
  if (waiter && waiter.executionName !== releaseId && isNewerRequest(waiter, me)) {
    return { acquired: false, superseded: true, by: waiter.executionName };
  }
  const refusedBy = (holder: LockLease): AcquireResult =>
    isNewerRequest(holder, me)
      ? { acquired: false, superseded: true, by: holder.holder }
      : {
          acquired: false,
          superseded: false,
          holder: holder.holder,
          // Just past the lease, at most LOCK_RECHECK_SECONDS (a lost wake-up), and never beyond what
          // TimeoutSecondsPath accepts (a positive integer up to MAX_STATE_SECONDS; a lease further away
          // was written under another config).
          waitSeconds: Math.min(
            LOCK_RECHECK_SECONDS,
            MAX_STATE_SECONDS,
            Math.max(1, holder.leaseExpiresAt - nowEpochSeconds() + 1),
          ),
        };
  // Superseded by the holder (a newer push took the lock first, its execution started at once on a lock
  // this woken waiter's hand-off had just freed): its own entry goes with it, or the holder's hand-off would
  // find it queued and wake a task long over (and report it woke it).
  const refused = async (holder: LockLease): Promise<AcquireResult> => {
    const result = refusedBy(holder);
    if (result.superseded) await leaveQueue();
    return result;
  };
  // A lease another release holds and has not let lapse refuses the conditional write: decide on the lease
  // read above (as if the write had been refused then) instead of sending a write bound to fail and reading
  // the lock again. A lock freed since is not missed: the wait reads the lock after queueing.
  if (held && held.leaseExpiresAt >= nowEpochSeconds()) return refused(held);
  const result = await store.acquireLock(
    service,
    releaseId,
    request.requestedAt,
    leaseSeconds,
    receiptOf(request),
  );
  if (result.acquired) {
    await leaveQueue();
    return { acquired: true, superseded: false };
  }
  return refused(result.holder);
};

/**
 * Who superseded a push told so while it was queued: the release its telling recorded (the newer push, or
 * the holder), else the release queued or holding the lock now. A withdrawn push's record names a person,
 * not a release: the release it would have followed is named (its record keeps the person's reason).
 */
const toldBy = async (
  store: ReleaseStore,
  request: ReleaseRequest,
  releaseId: string,
  snapshot: { lease?: LockLease; queued?: Waiter },
): Promise<string> => {
  const recorded = await store.readRecord(request.service, request.requestedAt, releaseId);
  if (recorded?.supersededBy) return recorded.supersededBy;
  const other = (name: string | undefined) => (name !== undefined && name !== releaseId ? name : undefined);
  return other(snapshot.queued?.executionName) ?? other(snapshot.lease?.holder) ?? 'unknown';
};

/**
 * Queues this release behind the running one, holding its task token. Only the newest waiter is kept:
 * a replaced waiter is resumed as superseded. If the lock came free meanwhile, resumes itself at once
 * so it retries the lock (no lost wake-up).
 */
export const waitForReleaseLock = async (
  ports: SupersedePorts & { store: ReleaseStore; events?: ReleaseEvents; starter?: ExecutionStarter },
  request: ReleaseRequest,
  releaseId: string,
  taskToken: string,
): Promise<{ queued: boolean; replaced?: string; supersededBy?: string }> => {
  const { store, tokens } = ports;
  // The queue as the enqueue starts from it, and this push's told mark, in one read: a push told
  // superseded (or withdrawn) since it was refused the lock never queues (it would be woken to take it).
  const before = await store.readQueueSnapshot(request.service, {
    queued: true,
    told: { releaseId, kind: SUPERSEDED_MARK },
  });
  if (before.told) {
    const by = await toldBy(store, request, releaseId, before);
    await tokens.succeed(taskToken, { superseded: true, by } satisfies WaitOutcome);
    return { queued: false, supersededBy: by };
  }
  const result = await store.enqueueWaiter(
    request.service,
    { executionName: releaseId, ...requestOrderOf(request), taskToken },
    { queued: before.queued },
  );
  if (!result.queued) {
    await tokens.succeed(taskToken, {
      superseded: true,
      by: result.newer.executionName,
    } satisfies WaitOutcome);
    return { queued: false, supersededBy: result.newer.executionName };
  }
  // A replaced waiter may be a pending push (queued by the trigger): it is recorded as superseded here.
  if (result.replaced) await supersedeWaiter(ports, result.replaced, releaseId);
  const lock = await store.readLock(request.service);
  // A late copy of this wait (its invocation run again, or its response lost and the state retried, after
  // the wait had already ended): the execution took the lock since, or is taking it having read the queue
  // before this entry was written (it takes out only the entry its own read showed). The entry this copy
  // queued would stay behind it: a later hand-off would wake a task long over, a newer push would tell it
  // superseded. Taken out (only if it is still this very token's), and nothing is announced.
  if (lock?.holder === releaseId) {
    await store.dequeueWaiter(request.service, releaseId, taskToken);
    // A push a hand-off was starting that this copy replaced leaves the queue with it: told now if no
    // execution of it exists (as below).
    if (result.kept) await tellIfUntold(ports, result.kept, releaseId);
    return { queued: false };
  }
  // Not planned yet, so no release record: only the topic hears that it waits.
  await announceQueued(ports.events, request, releaseId, lock?.holder);
  if (!lock || lock.leaseExpiresAt < nowEpochSeconds()) {
    // A token no longer valid: this wait had already ended (see above), and its execution may be taking the
    // lock without having seen this entry: taken out (only if it is still this very token's).
    if (!(await tokens.succeed(taskToken, { superseded: false } satisfies WaitOutcome)))
      await store.dequeueWaiter(request.service, releaseId, taskToken);
    // A push a hand-off was starting when this one replaced it (kept, not told): this release now takes
    // the free lock and leaves the queue with it, so no hand-off will see it. Told now if no execution of
    // it exists (its start failed past the hand-off's retries; one that started settles its own fate).
    if (result.kept) await tellIfUntold(ports, result.kept, releaseId);
  }
  return { queued: true, ...(result.replaced ? { replaced: result.replaced.executionName } : {}) };
};

/**
 * Releases the lock (if this release holds it) and wakes the queued release, if any: an execution waiting
 * on its task token is resumed, a pending push's execution is started.
 */
export const releaseLockAndWakeNext = async (
  ports: SupersedePorts & { store: ReleaseStore; starter?: ExecutionStarter },
  service: string,
  releaseId: string,
): Promise<{ released: boolean; woke?: string; tellingLost?: TellingLost }> => {
  const held = await ports.store.readLock(service);
  // Only the holder hands the lock on: a release that never held it (a superseded push) must not wake a
  // waiter while another release holds it, and needs no conditional delete bound to fail to learn that.
  if (held && held.holder !== releaseId) return { released: false };
  // A retried call whose first attempt already deleted the lock (none is held) still wakes the waiter.
  const { released, next } = held
    ? await ports.store.releaseLock(service, releaseId)
    : { released: false, next: await ports.store.readWaiter(service) };
  // The holder's lease may have lapsed and been taken over between the read and the delete.
  const free = released || held === undefined || (await ports.store.readLock(service)) === undefined;
  if (free && next && next.executionName !== releaseId) {
    // The pending push the waiter replaced, if its telling failed and no retry told it (the trigger's
    // attempts all failed after the replace: its event went to the dead-letter queue): told here, before
    // the waiter moves on and leaves the queue with it, or nobody ever would (told once: a push already
    // told is not told again). Best effort: the lock is already free and the queued push has no execution
    // to look at it again, so a telling that keeps failing (SNS denied) must never keep the next release
    // from starting; it is returned for the caller to log.
    let tellingLost: TellingLost | undefined;
    try {
      await tellReplaced(ports, next);
    } catch (error) {
      tellingLost = {
        push: next.supersedes?.executionName ?? next.executionName,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      };
    }
    const lost = tellingLost ? { tellingLost } : {};
    // A waiter older than the holder handing off was queued before that holder took a lock left free
    // (its previous holder's wake-up failed): woken plainly, it would take the lock and release an older
    // image after the newer one. Only the newest push proceeds, so it ends as superseded by the holder.
    const olderThanHolder = held !== undefined && isNewerRequest(held, next);
    if (isPendingPush(next)) {
      if (olderThanHolder) {
        // Recorded and told, never started; then out of the queue (a retry records nothing twice).
        await reporterOf(ports, next)(pendingRequestOf(next), next.executionName, held.holder);
        await ports.store.dequeueWaiter(service, next.executionName, next.taskToken);
        return { released, ...lost };
      }
      // A push that left the queue meanwhile (a person withdrew it) is not started, and woke nobody.
      const { leftQueue } = await startPendingPush(ports, service, next);
      return { released, ...(leftQueue ? {} : { woke: next.executionName }), ...lost };
    }
    const outcome: WaitOutcome = olderThanHolder
      ? { superseded: true, by: held.holder }
      : { superseded: false };
    await ports.tokens.succeed(next.taskToken, outcome);
    return { released, woke: next.executionName, ...lost };
  }
  return { released };
};
