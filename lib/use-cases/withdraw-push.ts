import { versionLabel } from '../domain/names.ts';
import type { Actor } from '../domain/progress.ts';
import { isPendingPush, isStartingPush, type Waiter } from '../ports/lock-store.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { Notifier } from '../ports/notifier.ts';
import type { QueuedPushes, WithdrawRequest, WithdrawResult } from '../ports/queued-pushes.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
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
 * report with the person as its actor). Marked first, so neither the trigger (the same digest again) nor
 * a hand-off (an untold push it replaced) releases or tells it afterwards.
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
    // The mark decides first: false when the push was already told superseded (or withdrawn).
    if (await store.markNotified(releaseId, ENDED_WHILE_QUEUED_MARK)) {
      if (await removeMarked(store, service, queued))
        return reportWithdrawn(ports, settings, topicArnOf, request, queued);
      // The queue changed between the read and the removal: not withdrawn, so not marked either.
      await store.unmarkNotified(releaseId, ENDED_WHILE_QUEUED_MARK);
      const now = await store.readWaiter(service);
      await tellSupersededMeanwhile(ports, settings, topicArnOf(service), now, queued);
      return notQueued(ports, request, now, true);
    }
  }
  return notQueued(ports, request, queued);
};

/**
 * Takes the marked push out of the queue. A removal that fails (throttled past the SDK's retries, access
 * denied) withdrew nothing: its mark is taken back before the error is thrown, or the push would stay
 * queued (and start) while marked as ended: a retried withdrawal would answer it was withdrawn already,
 * and a newer push superseding it would tell nobody (the mark says it was told).
 */
const removeMarked = async (store: ReleaseStore, service: string, queued: Waiter): Promise<boolean> => {
  try {
    return await store.replaceWaiter(service, queued);
  } catch (error) {
    await store.unmarkNotified(queued.executionName, ENDED_WHILE_QUEUED_MARK).catch(() => undefined);
    throw error;
  }
};

/**
 * A newer push that replaced the push while the withdrawal held its mark told nobody (its telling found
 * the mark): told now that the mark is taken back, as the hand-off would tell it only when the service is
 * handed on (hours later, for a long release). The newer push carries it while it is queued; once it left
 * the queue (the hand-off, or its own trigger finding the lock free, started it meanwhile, and found the
 * mark too), the push's record says it: recorded superseded (the telling writes the record before its
 * mark), and not marked told. Told once (the notification mark); best effort: untold, the newer push still
 * carries it, and the hand-off or a retried trigger tells it.
 */
const tellSupersededMeanwhile = async (
  ports: WithdrawPushPorts,
  settings: PipelineSettings,
  topicArn: string,
  queued: Waiter | undefined,
  withdrawn: Waiter & { pendingInput: string },
): Promise<void> => {
  if (queued?.supersedes?.executionName === withdrawn.executionName) {
    await tellCarried(ports, settings, topicArn, queued).catch(() => undefined);
    return;
  }
  await tellRecorded(ports, settings, topicArn, withdrawn).catch(() => undefined);
};

/**
 * Tells the push its record says was superseded, unless it was told (its mark): the telling that recorded it
 * found the withdrawal's mark, and nothing queued carries the push any more.
 */
const tellRecorded = async (
  ports: WithdrawPushPorts,
  settings: PipelineSettings,
  topicArn: string,
  withdrawn: Waiter & { pendingInput: string },
): Promise<void> => {
  const push = pendingRequestOf(withdrawn);
  const { executionName } = withdrawn;
  const record = await ports.store.readRecord(push.service, push.requestedAt, executionName);
  if (record?.status !== 'superseded' || record.supersededBy === undefined) return;
  if (await ports.store.wasNotified(executionName, ENDED_WHILE_QUEUED_MARK)) return;
  await reportRelease(ports, settings, {
    kind: 'superseded',
    request: push,
    releaseId: executionName,
    supersededBy: record.supersededBy,
    topicArn,
  });
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
  if (ports.starter && (await ports.starter.executionState(releaseId)) !== 'none')
    return { status: 'started', releaseId };
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
