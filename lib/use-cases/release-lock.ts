import { now, nowEpochSeconds } from '../clock.ts';
import { serviceConfig } from '../config/lookup.ts';
import type { ShiplineConfig } from '../config/schema.ts';
import { versionLabel } from '../domain/names.ts';
import { progressAt, subjectOfRequest } from '../domain/release-progress.ts';
import { isNewerRequest, requestOrderOf } from '../domain/request-order.ts';
import type { ReleaseRequest } from '../domain/types.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { Receipt, ReleaseStore } from '../ports/release-store.ts';
import type { TaskTokens } from '../ports/workflow.ts';
import { buildPlan, leaseSecondsOf } from '../strategies/index.ts';
import { publishTransition } from './transitions.ts';

export type AcquireResult =
  | { acquired: true; superseded: false }
  | { acquired: false; superseded: false; holder: string }
  | { acquired: false; superseded: true; by: string };

/** What a woken waiter is told. */
export interface WaitOutcome {
  superseded: boolean;
  by?: string;
}

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
 * Takes the service lock for this release. A request older than the lock holder, or than the newest
 * queued request, is superseded at once: only the newest push ever proceeds.
 */
export const acquireReleaseLock = async (
  ports: { store: ReleaseStore },
  config: ShiplineConfig,
  request: ReleaseRequest,
  releaseId: string,
): Promise<AcquireResult> => {
  const { store } = ports;
  // An undeclared service is refused before the store is touched.
  const leaseSeconds = leaseSecondsFor(config, request.service);
  const me = requestOrderOf(request);
  // A retried attempt whose first one took the lock keeps it (a newer waiter must not supersede the holder).
  const held = await store.readLock(request.service);
  if (held?.holder === releaseId) {
    await store.dequeueWaiter(request.service, releaseId);
    return { acquired: true, superseded: false };
  }
  const waiter = await store.readWaiter(request.service);
  if (waiter && waiter.executionName !== releaseId && isNewerRequest(waiter, me)) {
    return { acquired: false, superseded: true, by: waiter.executionName };
  }
  const result = await store.acquireLock(
    request.service,
    releaseId,
    request.requestedAt,
    leaseSeconds,
    receiptOf(request),
  );
  if (result.acquired) {
    await store.dequeueWaiter(request.service, releaseId);
    return { acquired: true, superseded: false };
  }
  if (isNewerRequest(result.holder, me)) {
    return { acquired: false, superseded: true, by: result.holder.holder };
  }
  return { acquired: false, superseded: false, holder: result.holder.holder };
};

/**
 * Queues this release behind the running one, holding its task token. Only the newest waiter is kept:
 * a replaced waiter is resumed as superseded. If the lock came free meanwhile, resumes itself at once
 * so it retries the lock (no lost wake-up).
 */
export const waitForReleaseLock = async (
  ports: { store: ReleaseStore; tokens: TaskTokens; events?: ReleaseEvents },
  request: ReleaseRequest,
  releaseId: string,
  taskToken: string,
): Promise<{ queued: boolean; replaced?: string; supersededBy?: string }> => {
  const { store, tokens } = ports;
  const result = await store.enqueueWaiter(request.service, {
    executionName: releaseId,
    ...requestOrderOf(request),
    taskToken,
  });
  if (!result.queued) {
    await tokens.succeed(taskToken, {
      superseded: true,
      by: result.newer.executionName,
    } satisfies WaitOutcome);
    return { queued: false, supersededBy: result.newer.executionName };
  }
  if (result.replaced) {
    await tokens.succeed(result.replaced.taskToken, {
      superseded: true,
      by: releaseId,
    } satisfies WaitOutcome);
  }
  const lock = await store.readLock(request.service);
  // Not planned yet, so no release record: only the topic hears that it waits.
  const at = now().toISOString();
  await publishTransition(
    ports.events,
    subjectOfRequest(request, releaseId, versionLabel(request.image), 'unplanned'),
    progressAt(undefined, undefined, { phase: 'queued', at }),
    {
      kind: 'step',
      text: `${versionLabel(request.image)} is queued behind ${lock?.holder ?? 'the running release'}`,
    },
  );
  if (!lock || lock.leaseExpiresAt < nowEpochSeconds()) {
    await tokens.succeed(taskToken, { superseded: false } satisfies WaitOutcome);
  }
  return { queued: true, ...(result.replaced ? { replaced: result.replaced.executionName } : {}) };
};

/** Releases the lock (if this release holds it) and wakes the queued release, if any. */
export const releaseLockAndWakeNext = async (
  ports: { store: ReleaseStore; tokens: TaskTokens },
  service: string,
  releaseId: string,
): Promise<{ released: boolean; woke?: string }> => {
  const { released, next } = await ports.store.releaseLock(service, releaseId);
  // Only the holder hands the lock on: a release that never held it must not wake a waiter while another
  // release holds it. A retried call whose first attempt already deleted the lock still wakes the waiter.
  const free = released || (await ports.store.readLock(service)) === undefined;
  if (free && next && next.executionName !== releaseId) {
    await ports.tokens.succeed(next.taskToken, { superseded: false } satisfies WaitOutcome);
    return { released, woke: next.executionName };
  }
  return { released };
};
