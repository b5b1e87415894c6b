import { isNewerRequest } from '../domain/request-order.ts';
import type { ReleaseRequest } from '../domain/types.ts';
import { isStartingPush, type Waiter } from '../ports/lock-store.ts';
import type { ServiceRef } from '../ports/service-ref.ts';
import { lockQueueKey, type Wait, type WaitRegistry } from '../ports/wait-registry.ts';

/**
 * The queue of a service's lock, kept in the wait registry as one `lock-queue` wait per service: the
 * newest push waiting for the lock. Shared by every LockStore, so the fake and the DynamoDB adapter
 * apply the same ordering through the same conditional replace.
 */

/** The registry's form of a queued waiter. */
export const queueWaitOf = (ref: ServiceRef, waiter: Waiter): Wait => {
  const { executionName, taskToken, requestedAt, receivedAt, receivedSeq, pendingInput, supersedes } = waiter;
  return {
    kind: 'lock-queue',
    key: lockQueueKey(ref),
    releaseId: executionName,
    service: ref.service,
    environment: ref.environment,
    taskToken,
    data: {
      requestedAt,
      ...(receivedAt !== undefined ? { receivedAt } : {}),
      ...(receivedSeq !== undefined ? { receivedSeq } : {}),
      ...(pendingInput !== undefined ? { pendingInput } : {}),
      ...(supersedes !== undefined ? { supersedes } : {}),
    },
  };
};

/** The queued waiter a lock-queue wait stands for. */
export const waiterOf = (wait: Wait): Waiter => {
  if (wait.kind !== 'lock-queue')
    throw new Error(`wait ${wait.kind} on ${wait.key} is not a lock-queue wait`);
  return { executionName: wait.releaseId, ...wait.data, taskToken: wait.taskToken };
};

/** The queued waiter of a service, if any. */
export const readQueued = async (waits: WaitRegistry, ref: ServiceRef): Promise<Waiter | undefined> => {
  const wait = await waits.read({ kind: 'lock-queue', key: lockQueueKey(ref) });
  return wait ? waiterOf(wait) : undefined;
};

/**
 * The largest pending push input kept with the waiter that replaced it: two inputs must fit in one
 * DynamoDB item (400 KB), and an input may be up to 256 KB (Step Functions' limit). A larger one is kept
 * trimmed (keptInputOf), so every replaced push can still be told by a later teller.
 */
const KEPT_INPUT_BYTES = 64 * 1024;

/**
 * The largest optional field a trimmed input keeps: every field the telling uses is far smaller (a tag is
 * at most 300 characters, ECR's limit; a URI, a requester or a request id at most 1,024 or 256).
 */
const KEPT_FIELD_BYTES = 2 * 1024;

const bytesOf = (text: string): number => new TextEncoder().encode(text).length;

/** `value` under `key` when it is present and small, else nothing (spread into an object). */
const small = <K extends string>(key: K, value: unknown): { [P in K]?: unknown } =>
  value !== undefined && bytesOf(JSON.stringify(value)) <= KEPT_FIELD_BYTES
    ? ({ [key]: value } as { [P in K]?: unknown })
    : {};

/**
 * A replaced pending push's input as kept for its telling: whole when it is small enough, else only what
 * the record, the release event and the notification use (the service, the image's repository, digest, tag
 * and URI, when it was pushed and received, its source, requester, request id and commit time), dropping
 * any other field and any optional field too large to keep. Undefined only when even that does not fit
 * (a service or repository name of kilobytes, which no config declares).
 */
const keptInputOf = (pendingInput: string): string | undefined => {
  if (bytesOf(pendingInput) <= KEPT_INPUT_BYTES) return pendingInput;
  const request = JSON.parse(pendingInput) as ReleaseRequest;
  const { image } = request;
  const trimmed = JSON.stringify({
    service: request.service,
    image: {
      repository: image.repository,
      digest: image.digest,
      ...small('tag', image.tag),
      ...small('uri', image.uri),
    },
    requestedAt: request.requestedAt,
    ...small('receivedAt', request.receivedAt),
    ...small('receivedSeq', request.receivedSeq),
    ...small('receiptId', request.receiptId),
    source: request.source,
    ...small('requestedBy', request.requestedBy),
    ...small('requestId', request.requestId),
    ...small('commitTime', request.commitTime),
  });
  return bytesOf(trimmed) <= KEPT_INPUT_BYTES ? trimmed : undefined;
};

/**
 * A replaced waiter as kept with its replacement, until it is told: a pending push (its telling is
 * in-process), or an execution waiting on its task token. An execution whose telling failed (SendTaskSuccess
 * throttled past the SDK's retries, or the replacing function stopped between the replace and the telling)
 * would otherwise wait until its wait's timeout and then find the lock free if the newer push's release
 * ended meanwhile: an older image released after the newer one. Kept, it is told by the replacing
 * function's retry or by the hand-off (a token told already is answered as spent, and nothing changes).
 */
const keptOf = (waiter: Waiter): Omit<Waiter, 'supersedes'> | undefined => {
  const { supersedes: _earlier, ...kept } = waiter;
  if (waiter.pendingInput === undefined) return kept;
  const pendingInput = keptInputOf(waiter.pendingInput);
  if (pendingInput === undefined) return undefined;
  return { ...kept, pendingInput };
};

/** How often a queue that keeps changing under the enqueue is read again before giving up. */
const ENQUEUE_ATTEMPTS = 5;

/**
 * Queues `waiter` unless a newer request is queued: replaces the queued waiter on condition that it is
 * still the one read (or that none appeared), and reads again when it changed. `known` is the queued
 * waiter as the caller read it a moment ago: the first attempt starts from it instead of reading. A pending push whose
 * execution name is already queued (the same digest pushed again, or a redelivered event) is a duplicate:
 * the queued one stays as it is and is returned as `newer`.
 */
export const enqueueNewest = async (
  waits: WaitRegistry,
  ref: ServiceRef,
  waiter: Waiter,
  known?: { queued: Waiter | undefined },
): Promise<{ queued: true; replaced?: Waiter; kept?: Waiter } | { queued: false; newer: Waiter }> => {
  for (let attempt = 0; attempt < ENQUEUE_ATTEMPTS; attempt += 1) {
    // The caller's read, if it made one, stands for the first: the replace is conditional on it anyway.
    const existing = attempt === 0 && known ? known.queued : await readQueued(waits, ref);
    if (existing && waiter.pendingInput !== undefined && existing.executionName === waiter.executionName)
      return { queued: false, newer: existing };
    const other = existing && existing.executionName !== waiter.executionName ? existing : undefined;
    if (other && isNewerRequest(other, waiter)) return { queued: false, newer: other };
    const expected = existing
      ? { releaseId: existing.executionName, taskToken: existing.taskToken }
      : undefined;
    // The pending push this one replaces (or, queued again by a retry, replaced the first time) stays
    // with it until it is told, so a retry after a failure to tell it tells it still.
    const supersedes = other
      ? keptOf(other)
      : existing?.pendingInput === undefined
        ? existing?.supersedes
        : undefined;
    const queued = { ...waiter, ...(supersedes ? { supersedes } : {}) };
    if (await waits.replaceSole(queueWaitOf(ref, queued), expected)) {
      // A pending push a hand-off is starting is not the caller's to tell superseded: its execution may
      // start this very moment (and then settles its own fate against this push). It is kept as
      // `supersedes`, so a later teller tells it only if no execution of it ever started.
      // It is returned as `kept`: a caller that starts the new waiter itself (and so takes it, with what it
      // keeps, out of the queue) is then the last one able to tell it.
      // So is one this waiter kept and queues again (a retried wait): it was never told.
      const replaced = other ?? supersedes;
      if (replaced && isStartingPush(replaced))
        return { queued: true, ...(supersedes ? { kept: supersedes } : {}) };
      return { queued: true, ...(replaced ? { replaced } : {}) };
    }
  }
  throw new Error(`could not queue ${waiter.executionName} for ${ref.service}: the queue kept changing`);
};

/**
 * Removes the queued waiter if it is this execution; with `taskToken`, only if it is still the very waiter
 * read (a pending push once its execution is started: the same execution queued again since, with a task
 * token, stays queued).
 */
export const dequeue = async (
  waits: WaitRegistry,
  ref: ServiceRef,
  executionName: string,
  taskToken?: string,
): Promise<void> => {
  const wait = { kind: 'lock-queue' as const, key: lockQueueKey(ref), releaseId: executionName };
  if (taskToken === undefined) await waits.remove(wait);
  else await waits.claim(wait, taskToken);
};
