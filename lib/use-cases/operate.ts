import { now } from '../clock.ts';
import { manualExecutionNameFor } from '../domain/names.ts';
import type { OperationRequest, OperationResult } from '../domain/operations.ts';
import type { Actor, BakePromotion, OperatorAction, ReleaseState } from '../domain/progress.ts';
import { ShiplineError } from '../errors.ts';
import { PENDING_TOKEN_PREFIX, type Waiter } from '../ports/lock-store.ts';
import type { QueuedPushes, WithdrawResult } from '../ports/queued-pushes.ts';
import type { ReleaseHistory, ReleaseRecord } from '../ports/release-history.ts';
import type { ReleaseStarter, ReleaseStartResult } from '../ports/release-starter.ts';
import { type ServiceRef, serviceRef } from '../ports/service-ref.ts';
import type { ServiceState, ServiceStateStore } from '../ports/service-state-store.ts';
import type { Wait, WaitKind, WaitRegistry } from '../ports/wait-registry.ts';
import type { TaskTokens } from '../ports/workflow.ts';
import { readQueued } from '../store/lock-queue.ts';
import { abortCause, abortRelease, approveRelease, completeWaits, RELEASE_ABORTED } from './resume.ts';

/** What `operate` reads and steers: the CLI and the Slack interactions function each pass their own. */
export interface OperatePorts {
  waits: WaitRegistry;
  tokens: TaskTokens;
  history: Pick<ReleaseHistory, 'listByService' | 'appendAction'>;
  services: Pick<ServiceStateStore, 'read'>;
  /** Starts a release as a push would (a rollback once the previous version's slot is no longer warm). */
  releases: ReleaseStarter;
  /**
   * Withdraws a push queued as data behind the running release (`abort` of a queued push), through the
   * trigger function from the CLI (it has the config and the topics the withdrawal tells). Without it (the
   * Slack function, whose bundle has no room for SNS), a queued push is answered with the CLI command.
   */
  queue?: QueuedPushes;
}

/** A command that cannot be given as asked (a missing reason): the CLI exits 2 and says the message. */
export class OperationInputError extends ShiplineError {
  public constructor(message: string) {
    super(message);
    this.name = 'OperationInputError';
  }
}

/** How many of a service's newest records are read to find its current and previous releases. */
const HISTORY_DEPTH = 50;

/** The waits a promotion ends: a bake (the step passes) or the rollback window (the release stays). */
const PROMOTABLE: ReadonlySet<WaitKind> = new Set<WaitKind>(['bake', 'rollback-window']);

const STATE_WORDS: Record<ReleaseState, string> = {
  queued: 'queued behind another release of the service',
  deploying: 'deploying the new version',
  'waiting-ready': 'waiting for the new tasks to be ready',
  shifting: 'shifting traffic',
  baking: 'baking',
  checking: 'running a check',
  paused: 'paused, waiting for a person',
  swapping: 'swapping the slots',
  'rollback-window': 'promoted and in its rollback window',
  'rolling-back': 'rolling back',
  promoted: 'promoted',
  'rolled-back': 'rolled back',
  failed: 'failed',
  superseded: 'superseded by a newer release',
};

const STATUS_WORDS: Record<ReleaseRecord['status'], string> = {
  in_progress: 'is in progress',
  promoted: 'was promoted',
  rolled_back: 'was rolled back',
  failed: 'failed',
  rejected: 'was rejected',
  superseded: 'was superseded',
  ignored: 'was ignored (its image already served)',
};

const who = (actor: Actor): string => actor.name ?? actor.id;

const versions = (record: ReleaseRecord): string =>
  record.fromVersion !== undefined && record.toVersion !== undefined
    ? `${record.fromVersion} -> ${record.toVersion}`
    : (record.toVersion ?? 'unknown version');

/** Where a release is, from its recorded progress: "baking (step 2 of 4: Bake 25% for 5m), 25% on v2". */
const whereItIs = (record: ReleaseRecord, inWindow: boolean): string => {
  const progress = record.progress;
  if (inWindow && progress?.state !== 'rollback-window') return STATE_WORDS['rollback-window'];
  if (!progress)
    return record.currentPercent !== undefined
      ? `in progress, ${record.currentPercent}% of traffic on ${record.toVersion ?? 'the new version'}`
      : 'in progress';
  const step =
    progress.step > 0 && progress.steps > 0
      ? ` (step ${progress.step} of ${progress.steps}${progress.label ? `: ${progress.label}` : ''})`
      : '';
  return `${STATE_WORDS[progress.state]}${step}, ${progress.newPercent}% of traffic on ${record.toVersion ?? 'the new version'}`;
};

/** What a release of the service is doing, in one sentence. */
export const describeRelease = (record: ReleaseRecord, inWindow = false): string =>
  `release ${record.releaseId} of ${record.service} (${versions(record)}) is ${whereItIs(record, inWindow)}`;

/** What an idle service serves and how its last release ended, in one sentence. */
export const describeIdle = (
  service: string,
  state: ServiceState | undefined,
  records: readonly ReleaseRecord[],
): string => {
  const serving = state ? `it serves ${state.stableVersion}` : 'no release of it has been promoted yet';
  const last = records[0];
  const lastWords = last
    ? `; its last release ${last.releaseId} (${versions(last)}) ${STATUS_WORDS[last.status]}${last.endedAt ? ` at ${last.endedAt}` : ''}`
    : '; it has no release yet';
  return `${service} is not releasing: ${serving}${lastWords}`;
};

/** The release a command acts on: the one named, the one running, or the promoted one still in its window. */
interface Target {
  releaseId: string;
  record?: ReleaseRecord;
  waits: Wait[];
  inWindow: boolean;
}

const waitsOf = async (ports: OperatePorts, releaseId: string, service: string): Promise<Wait[]> =>
  (await ports.waits.findByRelease(releaseId)).filter((wait) => wait.service === service);

const findTarget = async (
  ports: OperatePorts,
  request: OperationRequest,
  records: readonly ReleaseRecord[],
): Promise<Target | undefined> => {
  if (request.releaseId !== undefined) {
    const record = records.find((candidate) => candidate.releaseId === request.releaseId);
    const waits = await waitsOf(ports, request.releaseId, request.service);
    if (!record && waits.length === 0) return undefined;
    return {
      releaseId: request.releaseId,
      ...(record ? { record } : {}),
      waits,
      inWindow: waits.some((wait) => wait.kind === 'rollback-window'),
    };
  }
  const running = records.find((record) => record.status === 'in_progress');
  if (running) {
    const waits = await waitsOf(ports, running.releaseId, request.service);
    return {
      releaseId: running.releaseId,
      record: running,
      waits,
      inWindow: waits.some((wait) => wait.kind === 'rollback-window'),
    };
  }
  // A promoted release keeps watching its alarms while the old slot stays warm: it still takes commands.
  const promoted = records.find((record) => record.status === 'promoted');
  if (!promoted) return undefined;
  const waits = await waitsOf(ports, promoted.releaseId, request.service);
  if (!waits.some((wait) => wait.kind === 'rollback-window')) return undefined;
  return { releaseId: promoted.releaseId, record: promoted, waits, inWindow: true };
};

/**
 * Why a rollback within `target`'s window would roll nothing back: a newer release has taken the service
 * (and the warm old slot) since it was promoted. The state machine then ends the window without rolling
 * back, so a person is told now instead of being told it rolls back.
 */
const windowTakenOver = async (
  ports: OperatePorts,
  ref: ServiceRef,
  target: Target,
): Promise<string | undefined> => {
  if (!target.inWindow) return undefined;
  const state = await ports.services.read(ref);
  if (!state || state.latestRelease === target.releaseId) return undefined;
  return `release ${state.latestRelease} has taken ${ref.service} over since: the old version no longer waits warm for ${target.releaseId}; act on ${state.latestRelease} instead`;
};

/** How an ended release ended, in one sentence: "release X of checkout (v3) failed at T: why". */
const describeEnded = (ended: ReleaseRecord): string =>
  `release ${ended.releaseId} of ${ended.service} (${versions(ended)}) ${STATUS_WORDS[ended.status]}${ended.endedAt ? ` at ${ended.endedAt}` : ''}${ended.reason ? `: ${ended.reason}` : ''}`;

/** The target in a sentence, for a record-less one (a queued push named by id) too. */
const describeTarget = (target: Target, service: string): string =>
  target.record
    ? describeRelease(target.record, target.inWindow)
    : `release ${target.releaseId} of ${service} waits on ${[...new Set(target.waits.map((wait) => wait.kind))].join(', ') || 'nothing'}`;

const requireReason = (request: OperationRequest): string => {
  const reason = (request.reason ?? '').trim();
  if (reason === '')
    throw new OperationInputError(
      `${request.command} needs a reason: the rollback notification and the release's history name it`,
    );
  return reason;
};

/**
 * Records who did what on the release's record. The command has already acted, so a failure to record it
 * is said in the answer rather than thrown (a retry would find nothing left to act on).
 */
const record = async (
  ports: OperatePorts,
  ref: ServiceRef,
  target: Pick<ReleaseRecord, 'requestedAt' | 'releaseId'> | undefined,
  request: OperationRequest,
  result: string,
): Promise<string> => {
  if (!target) return result;
  const reason = request.reason?.trim();
  const action: OperatorAction = {
    at: now().toISOString(),
    command: request.command,
    actor: request.actor,
    ...(reason ? { reason } : {}),
    result,
  };
  try {
    await ports.history.appendAction(
      { ...ref, requestedAt: target.requestedAt, releaseId: target.releaseId },
      action,
    );
    return result;
  } catch (error) {
    return `${result} (who asked could not be recorded on the release: ${error instanceof Error ? error.message : String(error)})`;
  }
};

/**
 * Acts on a service's release as a person asked, from the CLI or a Slack button, and records who did what:
 * - `promote` / `promote-full`: ends the current bake as passed (with `full`, the rest of the plan goes to
 *   100% at once) or ends the rollback window, the release staying promoted;
 * - `abort`: every waiting task fails with ReleaseAborted and the release rolls back;
 * - `resume` / `reject`: approves, or fails with ReleaseAborted, a paused release;
 * - `rollback`: aborts a release that runs or is in its rollback window (the old version is still warm);
 *   otherwise releases the previous promoted digest again, through the plan.
 * Answers `nothing-to-act-on`, saying what the service is doing, when the command has nothing to act on.
 */
export const operate = async (ports: OperatePorts, request: OperationRequest): Promise<OperationResult> => {
  const ref = serviceRef(request.service, request.environment);
  if (request.command === 'abort' || request.command === 'rollback') requireReason(request);
  const records = await ports.history.listByService(ref, HISTORY_DEPTH);
  const target = await findTarget(ports, request, records);
  const base = { command: request.command, service: request.service };
  const nothing = (message: string, releaseId?: string): OperationResult => ({
    ...base,
    status: 'nothing-to-act-on',
    ...(releaseId !== undefined ? { releaseId } : {}),
    message,
  });
  const done = async (at: Target, result: string): Promise<OperationResult> => ({
    ...base,
    status: 'done',
    releaseId: at.releaseId,
    message: await record(ports, ref, at.record, request, result),
  });
  const idle = async (): Promise<string> =>
    request.releaseId !== undefined
      ? `release ${request.releaseId} of ${request.service} was not found, or waits on nothing`
      : describeIdle(request.service, await ports.services.read(ref), records);

  switch (request.command) {
    case 'promote':
    case 'promote-full': {
      if (!target) return nothing(`nothing to promote: ${await idle()}`);
      const promotable = target.waits.filter((wait) => PROMOTABLE.has(wait.kind));
      if (promotable.length === 0)
        return nothing(
          `nothing to promote: ${describeTarget(target, request.service)}; promote ends a bake or the rollback window${target.waits.some((wait) => wait.kind === 'pause') ? `: a paused release goes on with shipline resume ${request.service}, or rolls back with shipline abort ${request.service}` : ''}`,
          target.releaseId,
        );
      const full = request.command === 'promote-full';
      const payload: BakePromotion = {
        outcome: 'promoted',
        full,
        by: who(request.actor),
        reason: request.reason?.trim() || `${request.command} asked by ${who(request.actor)}`,
        actor: request.actor,
      };
      const acted = await completeWaits(ports, promotable, (token) => ports.tokens.succeed(token, payload));
      if (!acted.some((wait) => wait.result === 'resumed'))
        return nothing(
          `nothing to promote: the wait of release ${target.releaseId} had already ended (it timed out or moved on); ${describeTarget(target, request.service)}`,
          target.releaseId,
        );
      const toVersion = target.record?.toVersion ?? 'the new version';
      const step = target.record?.progress;
      const which = step && step.step > 0 && step.steps > 0 ? ` of step ${step.step} of ${step.steps}` : '';
      const result = target.inWindow
        ? `ended the rollback window of release ${target.releaseId}: ${toVersion} stays promoted and the old version is scaled down`
        : full
          ? `ended the bake${which} of release ${target.releaseId} as passed and skipped the rest of the plan: ${toVersion} goes to 100%`
          : `ended the bake${which} of release ${target.releaseId} as passed: the release goes on with its next step`;
      return done(target, result);
    }
    case 'abort': {
      const reason = requireReason(request);
      // A push queued as data has no execution and no wait a command can end: it is withdrawn instead, when
      // named, or when nothing else of the service runs.
      const queued = await queuedPushOf(ports, ref, request, target);
      if (queued) return withdraw(ports, ref, request, reason, queued, nothing);
      if (!target) return nothing(`nothing to abort: ${await idle()}`);
      // A release named after it ended (superseded, withdrawn, rolled back): nothing of it is left to abort.
      if (target.record && target.record.status !== 'in_progress' && !target.inWindow)
        return nothing(`nothing to abort: ${describeEnded(target.record)}`, target.releaseId);
      const takenOver = await windowTakenOver(ports, ref, target);
      if (takenOver) return nothing(`nothing to abort: ${takenOver}`, target.releaseId);
      const report = await abortRelease(ports, {
        releaseId: target.releaseId,
        reason,
        service: request.service,
        actor: request.actor,
      });
      const aborted = target.record ? rollbacksOf(target.record).at(-1) : undefined;
      if (report.status !== 'done' && aborted && target.record?.status === 'in_progress')
        return nothing(
          `nothing to abort: release ${target.releaseId} is already rolling back: ${who(aborted.actor)} gave ${aborted.command} at ${aborted.at}${aborted.reason ? ` (${aborted.reason})` : ''}`,
          target.releaseId,
        );
      if (report.status !== 'done')
        return nothing(
          `nothing to abort right now: ${describeTarget(target, request.service)} and waits on nothing a command can end (it is between steps); try again in a few seconds`,
          target.releaseId,
        );
      return done(
        target,
        `aborted release ${target.releaseId}: it rolls back to ${target.record?.fromVersion ?? 'the stable version'}${await stillQueued(ports, ref, target.releaseId)}`,
      );
    }
    case 'resume': {
      if (!target) return nothing(`nothing to resume: ${await idle()}`);
      const report = await approveRelease(ports, { releaseId: target.releaseId, service: request.service });
      if (report.status !== 'done')
        return nothing(
          `nothing to resume: ${describeTarget(target, request.service)}, not paused`,
          target.releaseId,
        );
      return done(target, `approved the pause of release ${target.releaseId}: it goes on with its next step`);
    }
    case 'reject': {
      if (!target) return nothing(`nothing to reject: ${await idle()}`);
      const pauses = target.waits.filter((wait) => wait.kind === 'pause');
      const reason = request.reason?.trim();
      const cause = abortCause(
        `rejected by ${who(request.actor)}${reason ? `: ${reason}` : ''}`,
        request.actor,
      );
      const acted = await completeWaits(ports, pauses, (token) =>
        ports.tokens.fail(token, RELEASE_ABORTED, cause),
      );
      if (!acted.some((wait) => wait.result === 'resumed'))
        return nothing(
          `nothing to reject: ${describeTarget(target, request.service)}, not paused`,
          target.releaseId,
        );
      return done(
        target,
        `rejected the pause of release ${target.releaseId}: it rolls back to ${target.record?.fromVersion ?? 'the stable version'}`,
      );
    }
    case 'rollback': {
      const reason = requireReason(request);
      // The running release may be the rollback itself (a release of the previous digest that an earlier
      // rollback started): aborting it would send the service forward again, not back.
      const rollingBack =
        target?.record?.status === 'in_progress' && request.releaseId === undefined
          ? rollbackUnderWay(request.service, records, target.record)
          : undefined;
      if (target && rollingBack)
        return nothing(
          `nothing to roll back: release ${target.releaseId} of ${target.record?.toVersion ?? 'the previous version'} is already rolling ${request.service} back (${rollingBack}); ${describeTarget(target, request.service)}`,
          target.releaseId,
        );
      // A named push still queued as data (the "Roll back now" button of a queued release's thread): it is
      // withdrawn, so it never starts.
      const queued =
        request.releaseId !== undefined ? await queuedPushOf(ports, ref, request, target) : undefined;
      if (queued) return withdraw(ports, ref, request, reason, queued, nothing);
      // A named release that is not found (a button of another service's release, a mistyped --release)
      // must not roll back what the service serves now: that was not asked.
      if (!target && request.releaseId !== undefined) return nothing(`nothing to roll back: ${await idle()}`);
      const takenOver = target ? await windowTakenOver(ports, ref, target) : undefined;
      if (target && takenOver) return nothing(`nothing to roll back: ${takenOver}`, target.releaseId);
      if (target) {
        const report = await abortRelease(ports, {
          releaseId: target.releaseId,
          reason,
          service: request.service,
          actor: request.actor,
        });
        if (report.status === 'done')
          return done(
            target,
            target.inWindow
              ? `rolling back release ${target.releaseId} within its rollback window: ${target.record?.fromVersion ?? 'the old version'} serves again from its warm slot`
              : `aborted release ${target.releaseId}: it rolls back to ${target.record?.fromVersion ?? 'the stable version'}`,
          );
        // A release named after it ended: the one that serves is rolled back to the previous version (its
        // window is over), any other one has nothing of it left to roll back.
        const serving = records.find((candidate) => candidate.status === 'promoted');
        const ended = target.record !== undefined && target.record.status !== 'in_progress';
        if (request.releaseId !== undefined && ended && serving?.releaseId !== target.releaseId)
          return nothing(
            `nothing to roll back: release ${target.releaseId} of ${request.service} ${STATUS_WORDS[target.record?.status ?? 'in_progress']} and is not what ${request.service} serves${serving ? ` (release ${serving.releaseId}, ${serving.toVersion ?? 'its version'})` : ''}; shipline rollback ${request.service} rolls back what serves`,
            target.releaseId,
          );
        if (!ended && (request.releaseId !== undefined || target.record?.status === 'in_progress'))
          return nothing(
            `nothing to roll back right now: ${describeTarget(target, request.service)} and waits on nothing a command can end (it is between steps); try again in a few seconds`,
            target.releaseId,
          );
      }
      return rollbackToPrevious(ports, request, reason, records, nothing, done);
    }
  }
};

/** A push queued as data: its release id and, when the queue still held it, the waiter read. */
interface QueuedPush {
  releaseId: string;
  waiter?: Waiter;
}

/**
 * The push queued as data that the command means, if any: the one named (found in the queue, or found by
 * its queue wait when the hand-off took it meanwhile), or, when no release is named and nothing of the
 * service runs, the service's queued push. A release named or running that is an execution keeps being
 * acted on as one (an abort by service while a release runs aborts that release, as always).
 */
const queuedPushOf = async (
  ports: OperatePorts,
  ref: ServiceRef,
  request: OperationRequest,
  target: Target | undefined,
): Promise<QueuedPush | undefined> => {
  if (request.releaseId === undefined && target) return undefined;
  const waiter = await readQueued(ports.waits, ref);
  const pending = waiter?.pendingInput !== undefined ? waiter : undefined;
  if (request.releaseId === undefined)
    return pending ? { releaseId: pending.executionName, waiter: pending } : undefined;
  if (pending?.executionName === request.releaseId) return { releaseId: request.releaseId, waiter: pending };
  // Found as a queued push by its wait (the index) while the queue no longer holds it: the withdrawal says
  // what became of it (started by the hand-off, superseded, withdrawn already).
  const queuedWait = target?.waits.some(
    (wait) => wait.kind === 'lock-queue' && wait.taskToken.startsWith(PENDING_TOKEN_PREFIX),
  );
  return queuedWait && !target?.record ? { releaseId: request.releaseId } : undefined;
};

/**
 * Withdraws a queued push (see withdraw-push.ts) and answers with what happened: withdrawn (recorded and
 * told, and who asked kept on its record), started meanwhile by the hand-off (then aborted as a running
 * release, or said to be between steps), or no longer queued (why).
 */
const withdraw = async (
  ports: OperatePorts,
  ref: ServiceRef,
  request: OperationRequest,
  reason: string,
  queued: QueuedPush,
  nothing: (message: string, releaseId?: string) => OperationResult,
): Promise<OperationResult> => {
  const verb = request.command === 'rollback' ? 'roll back' : 'abort';
  if (!ports.queue)
    return nothing(
      `nothing to ${verb} here: push ${queued.releaseId} of ${request.service} is queued behind the running release, and this caller cannot withdraw queued pushes; run shipline abort ${request.service} --release ${queued.releaseId} --reason TEXT`,
      queued.releaseId,
    );
  const result = await ports.queue.withdraw({
    service: request.service,
    releaseId: queued.releaseId,
    reason,
    actor: request.actor,
  });
  const base = { command: request.command, service: request.service, releaseId: queued.releaseId };
  switch (result.status) {
    case 'withdrawn': {
      const message = withdrawnWords(result);
      // Who asked goes on its record, when there is one (an action on a record never written is refused).
      const requestedAt = result.recorded === false ? undefined : queued.waiter?.requestedAt;
      return {
        ...base,
        status: 'done',
        message: requestedAt
          ? await record(ports, ref, { requestedAt, releaseId: result.releaseId }, request, message)
          : message,
      };
    }
    case 'started': {
      const report = await abortRelease(ports, {
        releaseId: queued.releaseId,
        reason,
        service: request.service,
        actor: request.actor,
      });
      if (report.status === 'done')
        return {
          ...base,
          status: 'done',
          message: `push ${queued.releaseId} had just left the queue: the hand-off started its release as the one before it ended; aborted release ${queued.releaseId}: it rolls back to the stable version`,
        };
      return nothing(
        `nothing to ${verb} right now: push ${queued.releaseId} has just left the queue: the hand-off started its release as the one before it ended, and it waits on nothing a command can end yet; run shipline abort ${request.service} --release ${queued.releaseId} again in a few seconds`,
        queued.releaseId,
      );
    }
    default:
      return nothing(`nothing to ${verb}: ${result.why}`, queued.releaseId);
  }
};

/** What a withdrawal did, in the words a person reads. */
const withdrawnWords = (result: Extract<WithdrawResult, { status: 'withdrawn' }>): string =>
  `withdrew queued push ${result.releaseId} (${result.toVersion})${result.behind ? `: it was queued behind release ${result.behind} and` : ': it'} will not start; ${result.recorded === false ? 'but it could not be recorded as failed' : 'recorded as failed'} (${result.reason})${result.told ? '' : `, ${result.recorded === false ? 'and' : 'but'} people could not be told: ${result.toldError ?? 'unknown error'}`}`;

/**
 * Said after aborting a running release when a push waits behind it: it still starts when the aborted
 * release hands the service on, unless it is withdrawn too.
 */
const stillQueued = async (ports: OperatePorts, ref: ServiceRef, aborted: string): Promise<string> => {
  const waiter = await readQueued(ports.waits, ref).catch(() => undefined);
  if (!waiter || waiter.pendingInput === undefined || waiter.executionName === aborted) return '';
  return `; push ${waiter.executionName} stays queued and starts once it has rolled back (withdraw it with shipline abort ${ref.service} --release ${waiter.executionName})`;
};

/** How a release start went, in the words of a sentence "<words> release X of v1". */
const startedWords = (started: Exclude<ReleaseStartResult, { status: 'ignored' }>): string => {
  switch (started.status) {
    case 'duplicate':
      return 'already started';
    case 'queued':
      return `queued behind ${started.behind} (it starts when that release hands the service on)`;
    case 'superseded':
      return `a newer push (${started.by}) superseded`;
    default:
      return 'started';
  }
};

/** The commands that roll a release back. */
const ROLLS_BACK: ReadonlySet<OperatorAction['command']> = new Set(['rollback', 'abort']);

/** The rollback commands people gave a release, oldest first. */
const rollbacksOf = (record: ReleaseRecord): OperatorAction[] =>
  (record.actions ?? []).filter((action) => ROLLS_BACK.has(action.command));

/** How a rollback release that ended without serving ends: a later rollback of the same release starts anew. */
const GAVE_UP: ReadonlySet<ReleaseRecord['status']> = new Set([
  'failed',
  'rolled_back',
  'superseded',
  'rejected',
]);

/** The release id of the `attempt`th rollback of `serving` to `digest` (the trigger names it from the request id). */
const rollbackReleaseId = (
  service: string,
  serving: ReleaseRecord,
  digest: string,
  attempt: number,
): string => manualExecutionNameFor(service, digest, rollbackRequestId(serving, attempt));

const rollbackRequestId = (serving: ReleaseRecord, attempt: number): string =>
  `rollback-of-${serving.releaseId}-${attempt}`;

/**
 * Whether `running` is a release of the previous digest that a person's rollback of the serving release
 * started; says who asked, when it is.
 */
const rollbackUnderWay = (
  service: string,
  records: readonly ReleaseRecord[],
  running: ReleaseRecord,
): string | undefined => {
  const digest = running.image?.digest;
  if (!digest) return undefined;
  const serving = records.find((record) => record.status === 'promoted');
  if (!serving) return undefined;
  const asked = rollbacksOf(serving);
  for (let attempt = 1; attempt <= asked.length + 1; attempt += 1) {
    if (rollbackReleaseId(service, serving, digest, attempt) === running.releaseId) {
      const by = asked.at(-1);
      return by
        ? `started by the rollback of ${who(by.actor)} at ${by.at} from ${serving.toVersion ?? serving.releaseId}`
        : `started by a rollback of ${serving.toVersion ?? serving.releaseId}`;
    }
  }
  return undefined;
};

/** The previous promoted digest, released again: the old version's slot is no longer warm. */
const rollbackToPrevious = async (
  ports: OperatePorts,
  request: OperationRequest,
  reason: string,
  records: readonly ReleaseRecord[],
  nothing: (message: string, releaseId?: string) => OperationResult,
  done: (at: Target, result: string) => Promise<OperationResult>,
): Promise<OperationResult> => {
  const promoted = records.filter((record) => record.status === 'promoted');
  const [serving] = promoted;
  if (!serving)
    return nothing(
      `nothing to roll back: ${describeIdle(request.service, await ports.services.read(serviceRef(request.service, request.environment)), records)}`,
    );
  // A person's rollback already took the newest release back to what serves: a second one (two people at
  // once, a double click) must not take the service one more version back.
  const [newest] = records;
  const undone =
    newest && newest !== serving && newest.status === 'rolled_back' ? rollbacksOf(newest).at(-1) : undefined;
  if (newest && undone)
    return nothing(
      `nothing to roll back: release ${newest.releaseId} (${versions(newest)}) was already rolled back on the ${undone.command} of ${who(undone.actor)} at ${undone.at}, and ${request.service} serves ${serving.toVersion} (release ${serving.releaseId}); to release an earlier version, run shipline deploy ${request.service} --image DIGEST`,
      newest.releaseId,
    );
  const earlier = promoted.slice(1).filter((record) => record.image?.digest !== serving.image?.digest);
  const previous = earlier.find((record) => record.image !== undefined);
  if (!previous)
    return nothing(
      earlier.length > 0
        ? `nothing to roll back to: the earlier promoted release ${earlier[0]?.releaseId} (${earlier[0]?.toVersion}) has no recorded image digest; release it with shipline deploy ${request.service} --image DIGEST`
        : `nothing to roll back to: ${request.service} serves ${serving.toVersion} (release ${serving.releaseId}) and its history has no earlier promoted version`,
      serving.releaseId,
    );
  const image = previous.image as NonNullable<ReleaseRecord['image']>;
  // One rollback of the serving release at a time. Each rollback asked of it either rolled it back within
  // its window, or started a release of the previous digest; only such a release that ended without
  // serving (failed, rolled back) lets a later rollback start anew. Two people at once, or a rollback
  // within the window still under way, find it asked and not given up on: nothing more to do.
  const asked = rollbacksOf(serving);
  const gaveUp = asked.filter((_, index) =>
    records.some(
      (record) =>
        record.releaseId === rollbackReleaseId(request.service, serving, image.digest, index + 1) &&
        GAVE_UP.has(record.status),
    ),
  ).length;
  const last = asked.at(-1);
  if (last && gaveUp < asked.length)
    return nothing(
      `nothing to roll back: a rollback of release ${serving.releaseId} (${versions(serving)}) is already under way, asked by ${who(last.actor)} at ${last.at}${last.reason ? ` (${last.reason})` : ''}: ${last.result}`,
      serving.releaseId,
    );
  const attempt = gaveUp + 1;
  const started = await ports.releases.start({
    source: 'manual',
    service: request.service,
    image: {
      digest: image.digest,
      ...(image.tag ? { tag: image.tag } : {}),
      ...(image.uri ? { uri: image.uri } : {}),
    },
    requestedBy: request.actor.id,
    requestId: rollbackRequestId(serving, attempt),
  });
  if (started.status === 'ignored')
    return nothing(
      `nothing to roll back: releasing ${previous.toVersion} again was refused: ${started.reason}`,
      serving.releaseId,
    );
  const result = await done(
    { releaseId: serving.releaseId, record: serving, waits: [], inWindow: false },
    `${startedWords(started)} release ${started.releaseId} of ${previous.toVersion} (${image.digest.slice(0, 19)}), the version before ${serving.toVersion}: its slot is no longer warm, so it goes through the plan (${reason})`,
  );
  return {
    ...result,
    startedRelease: {
      releaseId: started.releaseId,
      executionArn: started.executionArn,
      digest: image.digest,
    },
  };
};
