import { versionLabel } from '../domain/names.ts';
import type { Actor } from '../domain/progress.ts';
import { isPendingPush, isStartingPush, type Waiter } from '../ports/lock-store.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { Notifier } from '../ports/notifier.ts';
import type { QueuedPushes, WithdrawRequest, WithdrawResult } from '../ports/queued-pushes.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { ReleaseRecord } from '../ports/release-history.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { ExecutionStarter } from '../ports/workflow.ts';
import { NOTIFICATIONS_LOST_METRIC, reportRelease } from './finish-release.ts';
import type { PipelineSettings } from './ports.ts';
import { pendingRequestOf, SUPERSEDED_MARK } from './release-lock.ts';
import { RELEASE_ABORTED } from './resume.ts';

/** What withdrawing a queued push takes: the queue and the records, the topics, and where executions run. */
export interface WithdrawPushPorts {
  store: ReleaseStore;
  notifier: Notifier;
  events?: ReleaseEvents;
  /** Says whether a push no longer queued has an execution (the hand-off started it). */
  starter?: Pick<ExecutionStarter, 'executionState'>;
  /**
   * Where a notification the withdrawal could not send is counted ({@link NOTIFICATIONS_LOST_METRIC}, as
   * every lost notification is, so the alarm on it pages): nothing retries it once the push is out of the
   * queue, and the person who withdrew it is not everyone it was meant for.
   */
  metrics?: Metrics;
}

/**
 * The mark the trigger reads before queueing a push: a push that carries it is a duplicate, never queued
 * or released again (queue-push.ts). A superseded pending push gets it when it is told; a withdrawn one
 * gets it here, so the same digest pushed again under another tag, or its event delivered again
 * (EventBridge delivers at least once), never releases what a person withdrew.
 */
const ENDED_WHILE_QUEUED_MARK = SUPERSEDED_MARK;

const channel = (actor: Actor): string => (actor.via === 'slack' ? 'Slack' : 'the CLI');

/**
 * A person's name for a sentence: the display name when known, else the last part of an AWS principal
 * ARN (`user/alice` -> `alice`, `assumed-role/operator/alice` -> `alice`: the session name). The full
 * principal stays in the release event's `actor`, and on the record's action.
 */
const personOf = (actor: Actor): string => {
  if (actor.name) return actor.name;
  if (!actor.id.startsWith('arn:')) return actor.id;
  return actor.id.split('/').at(-1) || actor.id;
};

/** The reason a withdrawn push ends with: who withdrew it, from where, and why. */
export const withdrawnReason = (actor: Actor, reason: string): string =>
  `aborted while queued by ${personOf(actor)} via ${channel(actor)}: ${reason}`;

const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * A person withdraws a push queued as data behind the running release (a pending push, with no execution
 * yet), so it never starts when that release hands the service on. Only that very queued push is taken
 * out, by one conditional write on the token read: a push a newer one replaced, or that the hand-off is
 * already starting (it marks the push first, see startPendingPush), is left alone and answered as such
 * (`not-queued`, or `started`: abort its execution instead). A withdrawn push is recorded as failed with
 * the reason naming who withdrew it, and told once, as a push aborted while it waited is (a `failed`
 * report with the person as its actor). Marked once it is out of the queue (markWithdrawn), so neither the
 * trigger (the same digest again) nor the lock (an execution of it) releases it afterwards; never before,
 * so a removal that fails (the hand-off started it, a newer push replaced it) leaves no mark that would
 * refuse its execution or keep its telling from telling it. A removal DynamoDB applied whose answer was
 * lost (it answered false or threw) is still this withdrawal's, once nothing else explains the push's
 * leaving (see leftByThisRemoval): it is withdrawn, recorded and told as any other. So is one whose mark
 * DynamoDB applied with its answer lost.
 */
export const withdrawQueuedPush = async (
  ports: WithdrawPushPorts,
  settings: PipelineSettings,
  topicArnOf: (service: string) => string,
  request: WithdrawRequest,
): Promise<WithdrawResult> => {
  const { store } = ports;
  const { service, releaseId } = request;
  const reason = request.reason.trim();
  if (reason === '') throw new Error('a withdrawal needs a reason: the record and the notification name it');
  const queued = await store.readWaiter(service);
  if (queued?.executionName === releaseId && isPendingPush(queued) && !isStartingPush(queued)) {
    // The conditional removal decides first, and the mark comes only after it: a mark written before it
    // would stand, while the removal fails, for a push that goes on (a hand-off marked it as being started
    // meanwhile, and its execution reaching the lock before the mark is taken back is refused as told; a
    // newer push replacing it meanwhile finds the mark and tells nobody, unknowingly when the mark's answer
    // was lost). Never marked unless it left the queue, the push is never refused nor left untold for a
    // withdrawal that did not happen.
    const removal = await store.replaceWaiter(service, queued).then(
      (removed) => ({ removed, error: undefined }),
      (error: unknown) => ({ removed: false, error: error ?? new Error('the removal failed') }),
    );
    // A removal that answered false or threw may still have been applied (see leftByThisRemoval).
    const after = removal.removed
      ? undefined
      : await leftByThisRemoval(ports, service, queued).catch(() => undefined);
    if (removal.removed || after?.withdrawn)
      return markWithdrawn(ports, settings, topicArnOf, request, queued);
    // Another person's withdrawal took it out and recorded it (both ran at once).
    if (after?.ended?.status === 'failed') return notQueued(ports, request, after.queue, true);
    // Withdrew nothing (throttled past the SDK's retries, access denied): nothing was marked, the push
    // stays queued as it was.
    if (removal.error !== undefined) throw removal.error;
    // The queue changed between the read and the removal: not withdrawn, and nothing to take back.
    return notQueued(ports, request, await store.readWaiter(service), true);
  }
  return notQueued(ports, request, queued);
};

/**
 * Whether the push left the queue by this withdrawal's own removal although the removal answered false or
 * threw: DynamoDB applied the conditional delete and its answer was lost (a connection reset or a timeout
 * after the write), so the SDK's retry met a condition that no longer held (false), or its retries ran out
 * (an error). Then the push is gone, unmarked and untold unless this withdrawal ends it: it is withdrawn.
 * It is, only when nothing else explains its leaving: the queue no longer holds it (under any token: a
 * hand-off marks it as being started first, which made the removal fail), no newer push carries it as the
 * one it replaced, no execution of it exists nor holds the lock (a hand-off or the trigger started it, then
 * took it out; see hasStarted), and nobody ended it while this withdrawal held its mark (a newer push or a
 * hand-off that superseded it writes its record before its telling finds the mark). Without a way to look
 * for its execution nothing is proven.
 */
const leftByThisRemoval = async (
  ports: WithdrawPushPorts,
  service: string,
  queued: Waiter & { pendingInput: string },
): Promise<{
  withdrawn: boolean;
  queue: Waiter | undefined;
  ended?: ReleaseRecord & { toVersion: string };
}> => {
  const { store, starter } = ports;
  const releaseId = queued.executionName;
  const queue = await store.readWaiter(service);
  const notWithdrawn = { withdrawn: false, queue };
  if (!starter) return notWithdrawn;
  if (queue?.executionName === releaseId || queue?.supersedes?.executionName === releaseId)
    return notWithdrawn;
  // Read after the queue: a start takes the push out of the queue only once StartExecution answered.
  if (await hasStarted(ports, service, releaseId)) return notWithdrawn;
  const ended = await store.readRecord(service, pendingRequestOf(queued).requestedAt, releaseId);
  if (!ended) return { withdrawn: true, queue };
  return {
    ...notWithdrawn,
    ended: { ...ended, toVersion: ended.toVersion ?? versionLabel(pendingRequestOf(queued).image) },
  };
};

/**
 * Whether the push has an execution: Step Functions knows it, or it holds the service's lock. The lock is
 * read too, and after DescribeExecution (an execution takes the lock once it runs): DescribeExecution "is
 * eventually consistent. The results are best effort and may not reflect very recent updates and changes"
 * (Step Functions API reference), so an execution a hand-off started a moment ago may not be found yet,
 * while the lock is a consistent read. One that found neither and reaches the lock later is refused there
 * for the withdrawal's mark.
 */
const hasStarted = async (ports: WithdrawPushPorts, service: string, releaseId: string): Promise<boolean> => {
  if (ports.starter && (await ports.starter.executionState(releaseId)) !== 'none') return true;
  return (await ports.store.readLock(service))?.holder === releaseId;
};

/**
 * Marks the push the withdrawal took out of the queue, then records and tells it (reportWithdrawn). The
 * mark is the commitment the trigger (the same digest again) and the lock (an execution of it, see
 * acquireReleaseLock) read: the push is never released afterwards. A mark found already is a telling's
 * that stands when the push was recorded superseded (a hand-off that read it queued before the removal
 * told it superseded by the release holding the lock: tellers record before they mark), so it is not told
 * again; any other is this withdrawal's own whose answer was lost, or another person's withdrawing it at
 * the same moment (told once either way: the failed notification has its own mark). A mark that cannot be
 * written nor read does not stop the withdrawal: the push is out of the queue and is recorded and told.
 * The queue is read once more after the mark: the push queued again before it (its event again) goes too.
 */
const markWithdrawn = async (
  ports: WithdrawPushPorts,
  settings: PipelineSettings,
  topicArnOf: (service: string) => string,
  request: WithdrawRequest,
  queued: Waiter & { pendingInput: string },
): Promise<WithdrawResult> => {
  const { store } = ports;
  const releaseId = queued.executionName;
  const marked = await store
    .markNotified(releaseId, ENDED_WHILE_QUEUED_MARK)
    .catch(async () => !(await store.wasNotified(releaseId, ENDED_WHILE_QUEUED_MARK).catch(() => false)));
  if (!marked) {
    const ended = await store
      .readRecord(request.service, pendingRequestOf(queued).requestedAt, releaseId)
      .catch(() => undefined);
    if (ended?.status === 'superseded') return notQueued(ports, request, undefined, true);
  }
  // An execution of the push may have taken the lock before the mark stood: after a removal that did not
  // answer, one a hand-off started after the look at DescribeExecution (eventually consistent) and the
  // lock; after an answered one too, when its event, delivered again between the removal and the mark,
  // queued it again and the hand-off started it. The lock, read again now that the mark stands (an
  // execution reaching it later is refused), says so: it runs, not withdrawn, and the mark is taken back.
  if ((await store.readLock(request.service).catch(() => undefined))?.holder === releaseId) {
    await store.unmarkNotified(releaseId, ENDED_WHILE_QUEUED_MARK).catch(() => undefined);
    return { status: 'started', releaseId };
  }
  // Its event delivered again (EventBridge delivers at least once) between the removal and the mark finds
  // it neither queued nor marked, and queues it again: taken out too (best effort, on the token read: a
  // hand-off already starting it leaves an execution the lock refuses for the mark).
  const again = await store.readWaiter(request.service).catch(() => undefined);
  if (again?.executionName === releaseId && isPendingPush(again) && !isStartingPush(again))
    await store.replaceWaiter(request.service, again).catch(() => false);
  return reportWithdrawn(ports, settings, topicArnOf, request, queued);
};

/** Why a push the withdrawal did not take out is not (or no longer) the queued one. */
const notQueued = async (
  ports: WithdrawPushPorts,
  request: WithdrawRequest,
  read: Waiter | undefined,
  /** True when `read` was read after the removal failed (no need to read the queue again). */
  fresh = false,
): Promise<WithdrawResult> => {
  const { store } = ports;
  const { service, releaseId } = request;
  // The queue may have changed since the first read (the mark failed): read it again.
  const queued = !fresh && read?.executionName === releaseId ? await store.readWaiter(service) : read;
  if (queued?.executionName === releaseId) {
    if (!isPendingPush(queued))
      return {
        status: 'not-queued',
        releaseId,
        why: `release ${releaseId} waits for the lock as an execution, not as a queued push`,
      };
    if (isStartingPush(queued)) return { status: 'started', releaseId };
  }
  if (await hasStarted(ports, service, releaseId)) return { status: 'started', releaseId };
  if (await store.wasNotified(releaseId, ENDED_WHILE_QUEUED_MARK))
    return {
      status: 'not-queued',
      releaseId,
      why: `push ${releaseId} is no longer queued: it was superseded by a newer push or withdrawn already`,
    };
  return {
    status: 'not-queued',
    releaseId,
    why: `push ${releaseId} is not queued for ${service}${queued ? ` (the queued push is ${queued.executionName})` : ': nothing is queued'}`,
  };
};

/**
 * Records and tells the withdrawn push: a `failed` report whose cause names the person (the actor of its
 * release event), as an execution aborted while it waited for the lock is reported. A failure to tell is
 * returned, not thrown: the push is out of the queue and recorded, and the person who withdrew it reads
 * the answer.
 */
const reportWithdrawn = async (
  ports: WithdrawPushPorts,
  settings: PipelineSettings,
  topicArnOf: (service: string) => string,
  request: WithdrawRequest,
  queued: Waiter & { pendingInput: string },
): Promise<WithdrawResult> => {
  const push = pendingRequestOf(queued);
  const reason = withdrawnReason(request.actor, request.reason.trim());
  const behind = (await ports.store.readLock(request.service).catch(() => undefined))?.holder;
  const result = {
    status: 'withdrawn' as const,
    releaseId: queued.executionName,
    toVersion: versionLabel(push.image),
    ...(behind && behind !== queued.executionName ? { behind } : {}),
    reason,
  };
  const topicArn = topicArnOf(request.service);
  try {
    // The pending push the withdrawn one replaced, if its telling failed and nobody told it since: told
    // now, as the hand-off would have told it when the withdrawn push moved on.
    await tellCarried(ports, settings, topicArn, queued);
    await reportRelease(ports, settings, {
      kind: 'failed',
      request: push,
      releaseId: queued.executionName,
      failure: {
        Error: RELEASE_ABORTED,
        Cause: JSON.stringify({ errorMessage: reason, actor: request.actor }),
      },
      topicArn,
    });
    return { ...result, told: true };
  } catch (error) {
    // The record is written before anyone is told: a failure may have come before it (its write
    // throttled), and the answer must not say it was recorded when it was not.
    // Counted, never thrown: the push is out of the queue and the answer below says what was not told.
    await ports.metrics
      ?.count(NOTIFICATIONS_LOST_METRIC, { Service: request.service })
      .catch(() => undefined);
    const recorded = await ports.store
      .readRecord(request.service, push.requestedAt, queued.executionName)
      .then(
        (found) => found?.status === 'failed',
        () => false,
      );
    return {
      ...result,
      told: false,
      ...(recorded ? {} : { recorded: false as const }),
      toldError: errorText(error),
    };
  }
};

/** Tells the untold pending push a withdrawn one carried (it had replaced it), unless it was told since. */
const tellCarried = async (
  ports: WithdrawPushPorts,
  settings: PipelineSettings,
  topicArn: string,
  queued: Waiter,
): Promise<void> => {
  const carried = queued.supersedes;
  if (!carried || !isPendingPush(carried)) return;
  if (await ports.store.wasNotified(carried.executionName, ENDED_WHILE_QUEUED_MARK)) return;
  // One a hand-off was starting when it was replaced is told only if no execution of it exists (as every
  // teller of a kept push tells it, see tellIfUntold): one that started settles its own fate, and with the
  // withdrawn push gone it may well be released.
  if (
    isStartingPush(carried) &&
    (!ports.starter || (await ports.starter.executionState(carried.executionName)) !== 'none')
  )
    return;
  await reportRelease(ports, settings, {
    kind: 'superseded',
    request: pendingRequestOf(carried),
    releaseId: carried.executionName,
    supersededBy: queued.executionName,
    topicArn,
  });
};

/** The withdrawal as a port, in-process (a function that has the config and may publish to the topics). */
export const inProcessQueuedPushes = (
  ports: WithdrawPushPorts,
  settings: () => PipelineSettings,
  topicArnOf: (service: string) => string,
): QueuedPushes => ({
  withdraw: (request) => withdrawQueuedPush(ports, settings(), topicArnOf, request),
});
