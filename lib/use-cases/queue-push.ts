import { nowEpochSeconds } from '../clock.ts';
import { isNewerRequest, requestOrderOf } from '../domain/request-order.ts';
import type { ReleaseRequest } from '../domain/types.ts';
import { isPendingPush, pendingTokenOf, type Waiter } from '../ports/lock-store.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { ExecutionStarter } from '../ports/workflow.ts';
import {
  announceQueued,
  type SupersedePorts,
  startPendingPush,
  supersedeWaiter,
  tellIfUntold,
} from './release-lock.ts';
import type { StartReleaseResult } from './start-release.ts';

/**
 * What queueing a push as data takes (the trigger has them all): the lock and its queue, how a replaced
 * waiter hears it was superseded, and the release-events topic that hears the push waits.
 */
export interface PushQueuePorts extends SupersedePorts {
  store: ReleaseStore;
  events?: ReleaseEvents;
}

/**
 * Queues a push as data behind a release that holds the service's lock and is running (so its hand-off
 * will come): a pending push in the service's single waiter slot, with its execution name and input and
 * no execution, so the pushes that pile up behind a long release cost no execution each. Only the newest
 * push waits (request-order.ts): one older than the holder or than the queued waiter is superseded at
 * once; the waiter it replaces is superseded (an execution through its task token, a pending push
 * recorded and told here). A push already told superseded is a `duplicate`, whether or not the lock is
 * held. Starts the push's execution (StartExecution, as startRelease would) when it should start now: the
 * lock is free, its lease has lapsed (the execution takes it over), this very release holds it (a
 * duplicate), its holder's execution no longer runs (no hand-off will come from it, so an execution must
 * wait for the lease and take it over, as before), or an execution of its name already exists
 * (StartExecution then answers it is a duplicate, as it always did, and the pushes it superseded whose
 * notification is owed are told: see tellOwed).
 */
export const queueBehindHolder = async (
  ports: PushQueuePorts & { starter: ExecutionStarter },
  request: ReleaseRequest,
  executionName: string,
): Promise<StartReleaseResult | undefined> => {
  const { store, starter } = ports;
  const { service } = request;
  // Everything the decision needs from the table, in one read: whether this push was told superseded, the
  // lease, and the queued waiter (the enqueue's conditional replace starts from it).
  const before = await store.readQueueSnapshot(service, {
    queued: true,
    told: { releaseId: executionName, kind: 'superseded' },
  });
  // The pushes this push superseded whose notification is still owed, told from their records (one Query
  // of the newest; each once, by its mark). A first attempt that replaced a pending push recorded it
  // superseded, then failed to notify it (SNS) and took its mark back after another teller had read the
  // mark as told: a hand-off that started this push and took it out of the queue with the replaced one,
  // or a newer push that replaced this one and with it the replaced one. No queue carries it any more, and
  // its record is the only trace. Looked for only on the paths this push's retried trigger takes then,
  // never on a push's first start: told superseded already, carried as replaced by the queued push, or
  // refused by StartExecution as a duplicate.
  const tellOwed = async (): Promise<void> =>
    ports.supersedePending?.tellUntoldSupersededBy?.(service, executionName);
  // One release per digest: a push superseded as data never had an execution, so StartExecution would
  // not refuse its name as it refuses a superseded execution's. Its copy (EventBridge delivers at least
  // once, and may deliver late) or the same digest pushed again is a duplicate: never released after the
  // newer push that superseded it.
  if (before.told) {
    await tellOwed();
    return {
      status: 'duplicate',
      service,
      executionName,
      executionArn: await starter.executionArn(executionName),
    };
  }
  const held = before.lease;
  const self = before.queued;
  // Replaced already by the queued push, which keeps it to tell it (its retry, or its event delivered late).
  if (self?.supersedes?.executionName === executionName) await tellOwed();
  // A push not queued as data starts its execution here, as startRelease would. StartExecution refuses a
  // name already used (ExecutionAlreadyExists: a duplicate) but for an open execution with the very same
  // input; a retried trigger's input differs (Lambda retries an asynchronous invocation that failed a minute,
  // then two minutes later: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html;
  // the input says when it was received), so a retry whose push a hand-off started comes out a duplicate.
  const startHere = async (): Promise<StartReleaseResult> => {
    const { executionArn, started } = await starter.start(executionName, request);
    if (!started) await tellOwed();
    return { status: started ? 'started' : 'duplicate', service, executionName, executionArn };
  };
  // This very push still queued as data (its event delivered again, or its digest pushed again, once no
  // hand-off will start it): started from the queue as a hand-off starts it, marked as being started on
  // condition that it is still queued, so a person's withdrawal and this start never both win (a plain
  // StartExecution would start a push the withdrawal has just said never starts).
  const startNow = async (): Promise<StartReleaseResult> => {
    if (self?.executionName !== executionName || !isPendingPush(self)) return startHere();
    const { started } = await startPendingPush(ports, service, self);
    // The push it replaced and had not told (a first attempt failed before telling it, or a hand-off was
    // starting it): it leaves the queue with this push, so it is told now or never.
    if (self.supersedes) await tellIfUntold(ports, self.supersedes, executionName);
    const executionArn = await starter.executionArn(executionName);
    return { status: started ? 'started' : 'duplicate', service, executionName, executionArn };
  };
  if (!held || held.holder === executionName || held.leaseExpiresAt < nowEpochSeconds()) return startNow();
  if ((await starter.executionState(held.holder)) !== 'running') return startNow();
  // A digest whose execution already exists (running, or released before) is a duplicate, as when
  // StartExecution refuses its name: it is not queued to be released again.
  if ((await starter.executionState(executionName)) !== 'none') return startHere();
  const executionArn = await starter.executionArn(executionName);
  const superseded = async (by: string): Promise<StartReleaseResult> => {
    await supersedeWaiter(ports, pendingWaiter(request, executionName), by);
    return { status: 'superseded', service, executionName, executionArn, by };
  };
  // Only the newest push proceeds: an image pushed before the one being released never follows it.
  if (isNewerRequest(held, request)) return superseded(held.holder);
  const waiter = pendingWaiter(request, executionName);
  const result = await store.enqueueWaiter(service, waiter, { queued: before.queued });
  if (!result.queued) {
    if (result.newer.executionName === executionName) {
      // A retried trigger whose first attempt replaced a pending push and failed before telling it
      // tells it now (recorded and told once: a redelivered event neither tells nor records it twice).
      const replaced = result.newer.supersedes;
      if (replaced) await tellIfUntold(ports, replaced, executionName);
      return { status: 'duplicate', service, executionName, executionArn };
    }
    return superseded(result.newer.executionName);
  }
  // After the enqueue, in one read: the lock again, and whether the push the replaced waiter had itself
  // replaced was told (it is told here if not: see supersedeWaiter).
  const earlier = result.replaced?.supersedes;
  const after = await store.readQueueSnapshot(service, {
    ...(earlier ? { told: { releaseId: earlier.executionName, kind: 'superseded' } } : {}),
  });
  if (result.replaced)
    await supersedeWaiter(ports, result.replaced, executionName, earlier ? after.told : undefined);
  // No lost wake-up: the holder may have handed off between the first read and the enqueue, finding no
  // waiter. Then the lock is free (or its lease lapsed) and nobody else will start this push. (A hand-off
  // after the second read finds this push queued and starts it.)
  const now = after.lease;
  if (!now || now.leaseExpiresAt < nowEpochSeconds()) {
    const { started } = await startPendingPush(ports, service, waiter);
    // A push a hand-off was starting when this one replaced it (kept, not told): this push's start took it
    // out of the queue with this one, so no later teller will see it. Told now if no execution of it exists
    // (its start failed past the hand-off's retries; one that started settles its own fate), after this
    // push's own start, so an execution of it that starts later finds a newer push started before it.
    if (result.kept) await tellIfUntold(ports, result.kept, executionName);
    return { status: started ? 'started' : 'duplicate', service, executionName, executionArn };
  }
  // Its execution already holds the lock: it runs. Either the hand-off found this push queued first and
  // started it, or this push's event came twice and the other delivery's push was started (by a hand-off,
  // or as a free lock's start) before this enqueue put it in the queue again: the execution took the lock
  // without seeing that entry (it takes out only what its own read showed), so this entry is taken out
  // here (only if it is still this very receipt's), or a later hand-off or newer push would tell the
  // running release it was superseded.
  if (now.holder === executionName) {
    await store.dequeueWaiter(service, executionName, waiter.taskToken);
    return { status: 'started', service, executionName, executionArn };
  }
  await announceQueued(ports.events, request, executionName, now.holder);
  return { status: 'queued', service, executionName, executionArn, behind: now.holder };
};

/** A push as a pending waiter: its order, a marker token unique to this receipt, and its execution input. */
const pendingWaiter = (
  request: ReleaseRequest,
  executionName: string,
): Waiter & { pendingInput: string } => ({
  executionName,
  ...requestOrderOf(request),
  taskToken: pendingTokenOf(executionName, request),
  pendingInput: JSON.stringify(request),
});
