import { now } from '../clock.ts';
import { currentStep, rolloutOf } from '../domain/cursor.ts';
import { versionLabel } from '../domain/names.ts';
import type { Actor, ReleaseProgress, ReleaseState } from '../domain/progress.ts';
import { actorOf, progressAt, subjectOfDeployment, subjectOfRequest } from '../domain/release-progress.ts';
import { actorSchema } from '../domain/schemas.ts';
import type { CaughtFailure, Deployment, ReleaseRequest, StepCursor } from '../domain/types.ts';
import { InvalidInputError, TargetStateError } from '../errors.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { Notifier } from '../ports/notifier.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { ReleaseRecord } from '../ports/release-history.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { TargetDriver, TrafficReport } from '../ports/target-driver.ts';
import type { ExecutionStarter } from '../ports/workflow.ts';
import { type NotificationMarkStore, notifyBestEffort, notifyOnce } from './notify.ts';
import type { PipelineSettings, ReleasePorts } from './ports.ts';
import {
  releaseLockAndWakeNext,
  SUPERSEDED_MARK,
  type SupersedePendingPush,
  type SupersedePorts,
  type TellingLost,
} from './release-lock.ts';
import { progressOf, publishTransition, recordTransition } from './transitions.ts';

/** Errors raised by the state machine's own decisions carry a person-readable cause. */
const DECISION_ERRORS = new Set([
  'BakeFailed',
  'SlotNotSteady',
  'AlarmAfterPromotion',
  'CheckFailed',
  'PauseTimedOut',
  'UnsupportedStep',
  'ReleaseAborted',
]);

/** The reason a person reads, from a caught `{ Error, Cause }`. */
export const reasonFromFailure = (failure: CaughtFailure | undefined): string => {
  if (!failure) return 'unknown failure';
  const cause = parseCause(failure.Cause);
  if (DECISION_ERRORS.has(failure.Error)) return cause || failure.Error;
  return cause ? `${failure.Error}: ${cause}` : failure.Error;
};

/** Lambda errors arrive as a JSON Cause (`{"errorMessage": ...}`); decision errors as plain text. */
const parseCause = (cause: string | undefined): string => {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text cause
  }
  return cause;
};

/** Who aborted the release, when its ReleaseAborted cause says (abortCause, lib/use-cases/resume.ts). */
export const actorFromFailure = (failure: CaughtFailure | undefined): Actor | undefined => {
  if (failure?.Error !== 'ReleaseAborted' || !failure.Cause) return undefined;
  try {
    const parsed = actorSchema.safeParse((JSON.parse(failure.Cause) as { actor?: unknown }).actor);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // a plain text cause: nobody named
  }
};

/** What every notification about a planned release says: which service, release and versions. */
const releaseFacts = (
  deployment: Deployment,
  settings: PipelineSettings,
  executionArn: string | undefined,
) => ({
  service: deployment.service,
  releaseId: deployment.id,
  ...(executionArn ? { executionArn } : {}),
  fromVersion: deployment.fromVersion,
  toVersion: deployment.toVersion,
  region: settings.region,
});

/**
 * The steps a person counts as the release's steps: each traffic move with its bake (shift, swap). A plan
 * that moves no traffic in steps of its own (a rolling update: the rollout is the move) counts every step
 * before the retire step, so the promotion never says "all 0 steps passed".
 */
const trafficSteps = (deployment: Deployment): number => {
  const moves = deployment.plan.steps.filter((step) => step.kind === 'shift' || step.kind === 'swap').length;
  return moves > 0 ? moves : deployment.plan.steps.filter((step) => step.kind !== 'retire').length;
};

/**
 * Why the release is promoted: all its steps passed, or a person ended some bakes early (named, with why),
 * or promoted it in full (the steps skipped named by count).
 */
const promotionReason = (deployment: Deployment, cursor: StepCursor): string => {
  const promotions = cursor.promotions ?? [];
  const full = promotions.find((promotion) => promotion.full);
  const steps = deployment.plan.steps.length;
  const by = (promotion: NonNullable<StepCursor['promotions']>[number]) =>
    `${promotion.by}${promotion.reason ? ` (${promotion.reason})` : ''}`;
  if (full)
    return `promoted in full by ${by(full)} at step ${full.index + 1} of ${steps}; the remaining bakes, checks and pauses were skipped`;
  const early = promotions.map((promotion) => `step ${promotion.index + 1} by ${by(promotion)}`);
  return `all ${trafficSteps(deployment)} steps passed${early.length > 0 ? `; bakes ended early as passed: ${early.join(', ')}` : ''}`;
};

/**
 * Promotion: the new slot already serves 100% after the last bake. The release record is marked promoted,
 * then the service state records the new slot as stable: that write is the commit point and the last
 * step that may fail (a failure before it leads to rollback, and the old slot is still warm). People are
 * told best effort; the lock is handed on by the next state.
 */
export const promoteRelease = async (
  ports: Pick<ReleasePorts, 'store' | 'driver' | 'notifier'> & { events?: ReleaseEvents },
  settings: PipelineSettings,
  deployment: Deployment,
  executionArn: string | undefined,
  /** At the retire step; its rollout (from the deploy step) is the revision that becomes the stable one. */
  cursor: StepCursor,
): Promise<{ outcome: 'promoted'; servingVersion: string; servingSlot: string; warnings: string[] }> => {
  const retire = currentStep(cursor, 'retire');
  const rollout = rolloutOf(cursor);
  const names = ports.driver.names(deployment.target);
  const result = {
    outcome: 'promoted' as const,
    servingVersion: deployment.toVersion,
    servingSlot: names.newPlace,
    warnings: [] as string[],
  };
  if (!(await ports.store.isLatestRelease(deployment.service, deployment.id))) {
    throw new TargetStateError(
      `another release has taken ${deployment.service} over; ${deployment.id} cannot be promoted`,
    );
  }
  // The last step already sent 100% to the new slot; only a plan that ends lower needs a final shift.
  if ((await ports.driver.newVersionPercent(deployment.target)) !== 100)
    await ports.driver.setTraffic(deployment.target, 100);
  const at = now().toISOString();
  const reason = promotionReason(deployment, cursor);
  const fullPromotion = cursor.promotions?.find((promotion) => promotion.full);
  const progress = progressOf(deployment, cursor, { phase: 'promoted', at, newPercent: 100 });
  await ports.store.updateRecord(deployment.service, deployment.requestedAt, deployment.id, {
    status: 'promoted',
    endedAt: at,
    currentPercent: 100,
    peakPercent: 100,
    // Kept when a rollback in the rollback window ends the release later: it did run in production (lead time).
    promotedAt: at,
    progress,
  });
  const committed = await ports.store.recordPromotion({
    service: deployment.service,
    ...ports.driver.promotedRecord(deployment.target, rollout),
    stableVersion: deployment.toVersion,
    latestRelease: deployment.id,
    updatedAt: at,
  });
  if (!committed) {
    throw new TargetStateError(
      `another release has taken ${deployment.service} over; ${deployment.id} cannot be promoted`,
    );
  }
  await notifyBestEffort(
    ports,
    deployment.topicArn,
    {
      ...releaseFacts(deployment, settings, executionArn),
      kind: 'promoted',
      reason,
      details: {
        servingSlot: names.newPlace,
        oldSlotScaleDownInSeconds: retire.rollbackWindowSeconds + retire.warmAfterWindowSeconds,
        rollbackWindowSeconds: retire.rollbackWindowSeconds,
      },
    },
    result.warnings,
  );
  await publishTransition(
    ports.events,
    subjectOfDeployment(deployment),
    progress,
    {
      kind: 'promoted',
      text: `${deployment.toVersion} promoted: it serves 100% on ${names.newPlace}`,
      reason,
      ...(fullPromotion ? { actor: fullPromotion.actor ?? actorOf(fullPromotion.by) } : {}),
    },
    executionArn,
  );
  return result;
};

/**
 * Releases the lock (if this release holds it) and wakes the queued release, and removes the release's
 * pause wait (if it paused). Its own state on every path
 * that ends a release, retried on every error for minutes: a failure elsewhere (reporting, notifying)
 * must never strand the next push behind a lock held until its lease ends. Idempotent, and harmless for
 * a release that never held the lock.
 */
export const handOffService = async (
  ports: Pick<ReleasePorts, 'store'> &
    SupersedePorts & {
      starter?: ExecutionStarter;
      /**
       * Where a superseded push the hand-off could not tell is counted ({@link NOTIFICATIONS_LOST_METRIC},
       * as every lost notification is, so the alarm on it pages).
       */
      metrics?: Metrics;
      /** Where a superseded push the hand-off could not tell is logged (the function's logger). */
      log?: { error(message: string, data: Record<string, unknown>): void };
    },
  service: string,
  releaseId: string,
): Promise<{ released: boolean; woke: string | null }> => {
  // The release's pause (answered, or timed out) ends with it; its other waits end with their steps.
  await ports.store.clearPauseWait(releaseId);
  const { released, woke, tellingLost } = await releaseLockAndWakeNext(ports, service, releaseId);
  if (tellingLost) {
    ports.log?.error('a superseded push could not be told; the queued push was woken anyway', {
      service,
      ...tellingLost,
    });
    await countLostTelling(ports, service, tellingLost);
  }
  return { released, woke: woke ?? null };
};

/**
 * Counts a superseded push the hand-off could not tell, as every lost notification is counted: nothing
 * retries that telling (the queued push it replaced has moved on), so only the count makes it page. A
 * count that fails too is logged, never thrown: the lock is already handed on, and a retried hand-off
 * finds nothing left to tell or count.
 */
const countLostTelling = async (
  ports: { metrics?: Metrics; log?: { error(message: string, data: Record<string, unknown>): void } },
  service: string,
  lost: TellingLost,
): Promise<void> => {
  try {
    await ports.metrics?.count(NOTIFICATIONS_LOST_METRIC, { Service: service });
  } catch (error) {
    ports.log?.error('a superseded push could not be told, and the loss could not be counted either', {
      service,
      ...lost,
      countError: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
};

/** The final statuses of an execution (the status-change rule takes each of them). */
export const ENDED_STATUSES = ['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'] as const;

/**
 * The errors of the state machine's own Fail states: each is reached after the release was reported and
 * its own hand-off state ran (the ASL test keeps this list equal to the Fail states).
 */
export const OWN_FAIL_ERRORS = [
  'ReleaseRolledBack',
  'RollbackFailed',
  'ReleaseFailed',
  'ReportFailed',
  'ScaleDownFailed',
] as const;

/**
 * True when the execution ended outside its own states (a person's StopExecution, a timeout, a failure no
 * Catch took): nothing reported the release, and its own hand-off may never have run.
 */
export const endedOutsideItsStates = (change: Pick<ExecutionStatusChange, 'status' | 'error'>): boolean =>
  change.status === 'ABORTED' ||
  change.status === 'TIMED_OUT' ||
  (change.status === 'FAILED' && !(OWN_FAIL_ERRORS as readonly string[]).includes(change.error ?? ''));

/** What a "Step Functions Execution Status Change" event says of the execution (its `detail`). */
export interface ExecutionStatusChange {
  name: string;
  status: string;
  /** The execution input (JSON text); null when too large for the event (`inputDetails.included: false`). */
  input: string | null;
  /** The error and cause the execution ended with (StopExecution's, the timeout's, the failure's), if any. */
  error?: string | null;
  cause?: string | null;
}

/**
 * A release execution ended. One that ended outside its own states (ABORTED by a person's StopExecution,
 * TIMED_OUT, or FAILED past every Catch) never ran its hand-off state; one that ended through them ran it,
 * but a hand-off failing past its retries is caught so the release still ends (a promoted release then
 * ends SUCCEEDED with the lock, or a queued push, left behind). Either way a push queued as data has no
 * execution of its own to take a lapsed lease over, so the hand-off runs again here (idempotent: it
 * releases the lock only if that execution still holds it, and wakes the queued push), and an ended
 * execution's own place in the queue is freed (its task token can no longer be answered). Events come at
 * least once and in any order: a late one finds the lock with another holder and changes nothing.
 */
export const handOffEndedExecution = async (
  ports: Pick<ReleasePorts, 'store'> &
    SupersedePorts & {
      starter?: ExecutionStarter;
      /**
       * Ends the release's record and tells people it was stopped part-way (stopped-release.ts
       * endStoppedRelease): nothing rolled it back, and the service may be left split. A release stopped
       * after its promotion, before it retired the old version, is told what serves and what is left warm.
       */
      endStopped?: (service: string, change: ExecutionStatusChange) => Promise<{ ended: boolean }>;
      /** Where a superseded push its hand-off could not tell is counted (see handOffService). */
      metrics?: Metrics;
      log?: { error(message: string, data: Record<string, unknown>): void };
    },
  change: ExecutionStatusChange,
): Promise<{ released: boolean; woke: string | null; ended?: boolean } | { ignored: string }> => {
  if (!(ENDED_STATUSES as readonly string[]).includes(change.status))
    return { ignored: `execution ${change.name} is ${change.status}: it has not ended` };
  if (change.input === null)
    throw new InvalidInputError(
      `the status change of execution ${change.name} carries no input (too large for the event), so its service is unknown: its lock is taken over once its lease lapses`,
    );
  const service = serviceOfInput(change.input);
  if (service === undefined)
    throw new InvalidInputError(
      `the input of execution ${change.name} names no service: it is not a release of this pipeline`,
    );
  // The record and the people first: a split service is known before the next release plans on it. A
  // failure to tell is thrown only after the hand-off ran, so the queue never waits on SNS; the retried
  // event tells nobody twice and hands nothing on twice.
  let told: { ended: boolean } | undefined;
  let tellFailure: unknown;
  try {
    if (endedOutsideItsStates(change)) told = await ports.endStopped?.(service, change);
  } catch (error) {
    tellFailure = error;
  }
  const result = await handOffService(ports, service, change.name);
  await ports.store.dequeueWaiter(service, change.name);
  if (tellFailure !== undefined) throw tellFailure;
  return { ...result, ...(told ? { ended: told.ended } : {}) };
};

/** The `service` of a release execution's input (JSON text), if it names one. */
const serviceOfInput = (input: string): string | undefined => {
  try {
    const parsed = JSON.parse(input) as { service?: unknown };
    return typeof parsed.service === 'string' && parsed.service !== '' ? parsed.service : undefined;
  } catch {
    return undefined;
  }
};

/**
 * After the warm period, scale the old slot to zero, unless a newer release has taken that slot since
 * (then it is that release's canary, and it is left alone).
 */
export const scaleDownOldSlot = async (
  ports: Pick<ReleasePorts, 'store' | 'driver'> & { events?: ReleaseEvents },
  deployment: Deployment,
): Promise<{ scaledDown: boolean; reason: string }> => {
  const oldUnit = ports.driver.names(deployment.target).stableUnit;
  const latest = await ports.store.isLatestRelease(deployment.service, deployment.id);
  if (latest) await ports.driver.retire(deployment.target);
  const reason = latest
    ? `${oldUnit} scaled to 0 after the warm period`
    : `a newer release has taken ${oldUnit}`;
  // The release's last transition: the rollback window (if any) is over, the old version no longer warm.
  const retireIndex = deployment.plan.steps.findIndex((step) => step.kind === 'retire');
  const retire = deployment.plan.steps[retireIndex];
  await recordTransition(
    ports,
    deployment,
    retire ? { index: retireIndex, step: retire, shifts: [] } : undefined,
    {
      kind: 'step',
      text:
        retire?.kind === 'retire' && retire.rollbackWindowSeconds > 0
          ? `The rollback window is over: ${reason}`
          : `The old version is retired: ${reason}`,
      facts: { phase: 'window-closed', state: 'promoted', newPercent: 100 },
    },
  );
  return { scaledDown: latest, reason };
};

/**
 * Rollback: all traffic back to the stable slot first (that is what stops the harm), then the new slot
 * scaled to zero, the watches cleared, the records written, people told. The lock is handed on by the
 * next state ("Release the lock and wake the next push"), so a lock failure never looks like a failed
 * rollback. Every step is idempotent, so the state machine may retry it; a retry after another release
 * took the service over leaves traffic and slots alone.
 */
export const rollBackRelease = async (
  ports: Pick<ReleasePorts, 'store' | 'driver' | 'notifier'> & { events?: ReleaseEvents },
  settings: PipelineSettings,
  deployment: Deployment,
  failure: CaughtFailure | undefined,
  executionArn: string | undefined,
  /** Where the release was when it failed (the step it rolls back from), when the state machine says. */
  cursor?: StepCursor,
): Promise<
  | {
      kind: 'rolled_back';
      outcome: 'rolled_back';
      reason: string;
      servingVersion: string;
      warnings: string[];
    }
  | { kind: 'promoted'; outcome: 'promoted'; reason: string; warnings: string[] }
> => {
  const reason = reasonFromFailure(failure);
  const actor = actorFromFailure(failure);
  const warnings: string[] = [];
  // The rollback starts the moment a bake fails or a person aborts: the failure's detection, from which
  // DORA's failed deployment recovery time runs until traffic is back on the stable version.
  const rollbackStartedAt = now().toISOString();
  // One conditional write decides ownership and fences the service: a newer release (woken by the hand-off
  // after promotion) cannot claim a slot while this rollback moves traffic and scales, nor can this rollback
  // touch slots a newer release has already claimed. Recording the stable slot below clears the fence.
  const owner = await ports.store.fenceForRollback(deployment.service, deployment.id, ROLLBACK_FENCE_SECONDS);
  // A rollback from the rollback window, after promotion: an alarm, or a person's abort of the window (an
  // abort at the retire step can only end its window; a failed promotion at that step is no abort).
  const fromWindow =
    failure?.Error === 'AlarmAfterPromotion' ||
    (failure?.Error === 'ReleaseAborted' && cursor?.step.kind === 'retire');
  if (!owner && fromWindow) {
    // The window was ended (an alarm, a person), but a newer release took the service (and the old
    // slot) meanwhile: this release stays promoted and the window just ends; the newer one is watched.
    await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
    return {
      kind: 'promoted',
      outcome: 'promoted',
      reason: `${reason}; a newer release has taken ${deployment.service} over, so nothing was rolled back`,
      warnings,
    };
  }
  const subject = subjectOfDeployment(deployment);
  // Traffic moves back first: that is what stops the harm, and nothing is told before it (a record and a
  // publish cost the rollback reaction ~100 ms of AWS calls). Idempotent in the driver: a retry after
  // traffic was restored changes nothing on it, and still stops the new version (a failure between the
  // two must not leave it running).
  const rolled = owner
    ? await rollBackTraffic(ports, deployment, cursor, reason, executionArn, actor)
    : undefined;
  await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
  const at = now().toISOString();
  const progress = progressAt(deployment.plan, cursor, {
    phase: 'ended',
    state: 'rolled-back',
    at,
    newPercent: 0,
  });
  await ports.store.updateRecord(deployment.service, deployment.requestedAt, deployment.id, {
    status: 'rolled_back',
    endedAt: at,
    currentPercent: 0,
    rollbackStartedAt,
    reason,
    progress,
  });
  if (owner) {
    // The stable slot is recorded again (a failure during promotion may already have recorded the new one).
    // This write lifts the fence, so it is the last one that can fail: a retry after it could find a newer
    // release in charge, and the record above already says the release was rolled back.
    await ports.store.recordPromotion({
      service: deployment.service,
      ...ports.driver.restoredRecord(deployment.target),
      stableVersion: deployment.fromVersion,
      latestRelease: deployment.id,
      updatedAt: at,
    });
  }
  await notifyBestEffort(
    ports,
    deployment.topicArn,
    {
      ...releaseFacts(deployment, settings, executionArn),
      kind: 'rolled_back',
      reason,
      details: {
        servingSlot: ports.driver.names(deployment.target).stablePlace,
        ...(rolled?.note ? { note: rolled.note } : {}),
      },
    },
    warnings,
  );
  await publishTransition(
    ports.events,
    subject,
    progress,
    {
      kind: 'rolled_back',
      text: `Rolled back: ${deployment.fromVersion} serves 100% again`,
      reason,
      ...(actor ? { actor } : {}),
    },
    executionArn,
  );
  return {
    kind: 'rolled_back',
    outcome: 'rolled_back',
    reason,
    servingVersion: deployment.fromVersion,
    warnings,
  };
};

/**
 * Moves traffic back through the driver. Only when that fails (the state machine then retries the
 * rollback for minutes) is the release told as rolling back, so that a rollback that keeps failing shows
 * as such; the driver's error is what the state machine sees, never a failure to record it.
 */
const rollBackTraffic = async (
  ports: Pick<ReleasePorts, 'store' | 'driver'> & { events?: ReleaseEvents },
  deployment: Deployment,
  cursor: StepCursor | undefined,
  reason: string,
  executionArn: string | undefined,
  actor: Actor | undefined,
): Promise<{ note?: string } | undefined> => {
  try {
    return await ports.driver.rollBack(deployment.target);
  } catch (error) {
    try {
      await recordTransition(
        ports,
        deployment,
        cursor,
        {
          kind: 'step',
          text: `Rolling back to ${deployment.fromVersion}`,
          reason,
          ...(actor ? { actor } : {}),
          facts: {
            phase: 'rolling-back',
            // What the release last applied, from the cursor: the rollback may have failed reading ELB.
            newPercent: cursor ? rollingBackFrom(cursor) : 0,
          },
        },
        {},
        executionArn,
      );
    } catch {
      // Telling it is best effort: the driver's failure below is what the state machine retries on.
    }
    throw error;
  }
};

/**
 * The new version's share when a release starts rolling back from `cursor`: a traffic step that failed may
 * have applied its weights before failing, so its own share counts (the larger figure is the safe one to
 * tell); otherwise the last shift's.
 */
const rollingBackFrom = (cursor: StepCursor): number => {
  const applied = cursor.shifts.at(-1)?.percent ?? 0;
  if (cursor.step.kind === 'shift') return Math.max(applied, cursor.step.percent);
  if (cursor.step.kind === 'swap') return 100;
  return applied;
};

/**
 * How long a rollback fences the service against newer releases: longer than its retries (~13 minutes),
 * short enough that a rollback that gave up (ACTION NEEDED) does not block the next release for long.
 */
export const ROLLBACK_FENCE_SECONDS = 20 * 60;

export const REPORT_KINDS = ['failed', 'superseded', 'rollback_failed', 'ignored'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** What the report states receive. */
export interface ReportInput {
  kind: ReportKind;
  request: ReleaseRequest;
  releaseId: string;
  executionArn?: string;
  deployment?: Deployment;
  /** Where the release was (a failed rollback's step), when the state machine says. */
  cursor?: StepCursor;
  failure?: CaughtFailure;
  /** For a failed rollback: why the rollback started. */
  rolledBackBecause?: CaughtFailure;
  supersededBy?: string;
  /** For an ignored release: why there was nothing to release. */
  reason?: string;
  topicArn: string;
}

export interface ReportResult {
  kind: ReportKind;
  outcome: 'failed' | 'superseded' | 'ignored';
  reason: string;
}

/** The state a report's release ends in (ignored: nothing happened, no state). */
const REPORT_STATES: Record<Exclude<ReportKind, 'ignored'>, ReleaseState> = {
  failed: 'failed',
  superseded: 'superseded',
  rollback_failed: 'failed',
};

/** The reason, the progress and the release record of a report, written before anyone is told. */
const recordReport = async (
  store: ReleaseStore,
  input: Omit<ReportInput, 'topicArn'>,
  traffic: TrafficReport | undefined,
): Promise<ReportResult & { progress?: ReleaseProgress }> => {
  const { request, deployment } = input;
  const reason =
    input.kind === 'ignored'
      ? (input.reason ?? 'already serving')
      : input.kind === 'superseded'
        ? `superseded by newer release ${input.supersededBy ?? 'unknown'}`
        : input.kind === 'rollback_failed'
          ? `rollback failed (${reasonFromFailure(input.failure)})${input.rolledBackBecause ? ` while rolling back because ${reasonFromFailure(input.rolledBackBecause)}` : ''}; ${traffic?.description ?? 'traffic may be split between the slots'}: finish the rollback by hand`
          : reasonFromFailure(input.failure);
  const status = input.kind === 'superseded' || input.kind === 'ignored' ? input.kind : 'failed';
  const endedAt = now().toISOString();
  const progress =
    input.kind === 'ignored'
      ? undefined
      : progressAt(deployment?.plan, deployment ? input.cursor : undefined, {
          phase: 'ended',
          state: REPORT_STATES[input.kind],
          at: endedAt,
          // A failed rollback may leave traffic split: the share read for the report, when it could be.
          newPercent: traffic?.newPercent ?? 0,
        });
  await store.putRecord({
    service: request.service,
    releaseId: input.releaseId,
    requestedAt: request.requestedAt,
    status,
    toVersion: deployment?.toVersion ?? versionLabel(request.image),
    ...(deployment ? { fromVersion: deployment.fromVersion, startedAt: deployment.startedAt } : {}),
    ...(input.executionArn ? { executionArn: input.executionArn } : {}),
    endedAt,
    reason,
    ...(input.kind === 'superseded' && input.supersededBy ? { supersededBy: input.supersededBy } : {}),
    ...(progress ? { progress } : {}),
    // A failed rollback that leaves traffic on the new version: it was in production (a failed deployment
    // in DORA's metrics). The record is written anew here, so the share is recorded again.
    ...(traffic && (traffic.newPercent ?? 0) > 0 ? { peakPercent: traffic.newPercent } : {}),
  });
  return { kind: input.kind, outcome: status, reason, ...(progress ? { progress } : {}) };
};

/** Who aborted a release that ends failed (a queued push aborted while it waited), when its cause says. */
const actorOfReport = (input: Omit<ReportInput, 'topicArn'>): { actor?: Actor } => {
  const actor = input.kind === 'failed' ? actorFromFailure(input.failure) : undefined;
  return actor ? { actor } : {};
};

/** Publishes a report's ending on the release-events topic (best effort; an ignored release is not told). */
const publishReport = async (
  events: ReleaseEvents | undefined,
  input: Omit<ReportInput, 'topicArn'>,
  recorded: ReportResult & { progress?: ReleaseProgress },
): Promise<void> => {
  if (input.kind === 'ignored' || !recorded.progress) return;
  const { request, deployment } = input;
  const subject = deployment
    ? subjectOfDeployment(deployment)
    : subjectOfRequest(request, input.releaseId, versionLabel(request.image), 'unplanned');
  const text =
    input.kind === 'superseded'
      ? `${subject.toVersion} skipped: a newer push superseded it`
      : input.kind === 'rollback_failed'
        ? `ACTION NEEDED: the rollback of ${subject.toVersion} failed`
        : `The release of ${subject.toVersion} failed`;
  await publishTransition(
    events,
    subject,
    recorded.progress,
    { kind: input.kind, text, reason: recorded.reason, ...actorOfReport(input) },
    input.executionArn,
  );
};

/**
 * The execution of a push told superseded while it was queued as data (or withdrawn by a person), which the
 * lock refused (acquireReleaseLock): its telling recorded it and told everyone once, so its own report
 * writes and tells nothing again, and answers with what was recorded. Undefined for any other report. Only
 * an execution's report (it has an execution ARN) looks: a pending push's teller has just read the mark or
 * replaced the push in the queue.
 */
const toldWhileQueued = async (
  store: ReleaseStore,
  input: Omit<ReportInput, 'topicArn'>,
): Promise<ReportResult | undefined> => {
  if (input.kind !== 'superseded' || input.executionArn === undefined) return undefined;
  if (!(await store.wasNotified(input.releaseId, SUPERSEDED_MARK))) return undefined;
  const { request } = input;
  const recorded = await store.readRecord(request.service, request.requestedAt, input.releaseId);
  const reason = recorded?.reason ?? `superseded by newer release ${input.supersededBy ?? 'unknown'}`;
  const outcome = recorded?.status === 'failed' ? 'failed' : 'superseded';
  // Recorded by this very execution's report (a pending push's teller records no execution ARN): a retry
  // of a report that went out whole (its response lost) answers as the first attempt did.
  if (recorded?.executionArn !== undefined && recorded.executionArn === input.executionArn)
    return { kind: 'superseded', outcome, reason };
  return {
    kind: 'superseded',
    outcome,
    reason: `${reason} (told while it was queued; its execution released nothing)`,
  };
};

/**
 * Ends a release that did not reach promotion or a clean rollback: records it and notifies. A failed
 * rollback is reported loudly, with what a person needs to finish it by hand. The lock is not touched
 * here: the state after every report releases it, whether or not the report succeeded.
 */
export const reportRelease = async (
  ports: Pick<ReleasePorts, 'store' | 'notifier'> & { driver?: TargetDriver; events?: ReleaseEvents },
  settings: PipelineSettings,
  input: ReportInput,
): Promise<ReportResult> => {
  const { request, deployment } = input;
  const told = await toldWhileQueued(ports.store, input);
  if (told) return told;
  // The driver reads traffic for a person and never throws: the report goes out even when ELB failed.
  const traffic =
    input.kind === 'rollback_failed' && deployment && ports.driver
      ? await ports.driver.trafficReport(deployment.target, settings.region)
      : undefined;
  const { progress, ...result } = await recordReport(ports.store, input, traffic);
  // Nothing happened to an ignored release (its digest already serves): it is recorded, nobody is told.
  if (input.kind === 'ignored') return result;
  // The release-events topic first: a failed notification below retries the state, and the topic is
  // delivered at least once anyway.
  await publishReport(ports.events, input, { ...result, ...(progress ? { progress } : {}) });
  const details = {
    ...(input.supersededBy ? { supersededBy: input.supersededBy } : {}),
    ...(input.kind === 'rollback_failed' && traffic ? traffic.manualRollback : {}),
  };
  await notifyOnce(ports, deployment?.topicArn ?? input.topicArn, {
    kind: input.kind,
    service: request.service,
    releaseId: input.releaseId,
    ...(input.executionArn ? { executionArn: input.executionArn } : {}),
    ...(deployment ? { fromVersion: deployment.fromVersion } : {}),
    toVersion: deployment?.toVersion ?? versionLabel(request.image),
    region: settings.region,
    reason: result.reason,
    ...(Object.keys(details).length > 0 ? { details } : {}),
  });
  return result;
};

/**
 * Records and tells that a pending push (queued as data by the trigger, with no execution) was superseded:
 * the report the execution's "Record that a newer push superseded this one" state would have made, run
 * in-process by whichever function replaced or refused it. Same record, release event and notification
 * (a retry tells nobody twice); no execution ARN, as none ever ran.
 */
export const pendingPushReporter = (
  ports: Pick<ReleasePorts, 'store' | 'notifier'> & {
    events?: ReleaseEvents;
    /** Where a notification a retried trigger could not send at its last attempt is counted. */
    metrics?: Metrics;
  },
  settings: () => PipelineSettings,
  topicArnOf: (service: string) => string,
): SupersedePendingPush => {
  const report = async (request: ReleaseRequest, releaseId: string, by: string): Promise<void> => {
    await reportRelease(ports, settings(), {
      kind: 'superseded',
      request,
      releaseId,
      supersededBy: by,
      topicArn: topicArnOf(request.service),
    });
  };
  return Object.assign(report, {
    tellUntoldSupersededBy: (service: string, by: string) =>
      tellUntoldSupersededBy(ports, settings(), topicArnOf(service), service, by),
  });
};

/** The reason recordReport writes for a superseded release, naming who (records older than `supersededBy`). */
const SUPERSEDED_REASON = /^superseded by newer release (\S+)$/;

/** The release that superseded a release recorded superseded: its `supersededBy`, else the one its reason names. */
const supersederOf = (record: ReleaseRecord): string | undefined =>
  record.supersededBy ?? SUPERSEDED_REASON.exec(record.reason ?? '')?.[1];

/**
 * Tells people that a release recorded superseded was superseded, from its record, once (the notification
 * mark decides: false when it was told already). For a release whose record and release event went out
 * while its notification did not: its telling failed and took its mark back after another teller had
 * read the mark as told (a hand-off, a withdrawal), so nobody else tells it.
 */
export const tellRecordedSuperseded = async (
  ports: { store: NotificationMarkStore; notifier: Notifier },
  settings: PipelineSettings,
  topicArn: string,
  record: ReleaseRecord,
): Promise<boolean> => {
  const by = supersederOf(record);
  return notifyOnce(ports, topicArn, {
    kind: 'superseded',
    service: record.service,
    releaseId: record.releaseId,
    toVersion: record.toVersion ?? record.releaseId,
    region: settings.region,
    // When it was superseded, as its first telling said it.
    ...(record.endedAt ? { at: record.endedAt } : {}),
    ...(record.reason ? { reason: record.reason } : {}),
    ...(by ? { details: { supersededBy: by } } : {}),
  });
};

/**
 * How many of a service's newest records a retried trigger looks through for the pushes its push
 * superseded: one Query page. A push the trigger's push replaced was pushed before it, so its record is
 * among the newest unless this many releases of the service were recorded since (minutes, between Lambda's
 * retries of one event).
 */
export const RECORDS_SEARCHED_FOR_SUPERSEDED = 25;

/**
 * How long after a release was recorded superseded a trigger that still cannot tell it is Lambda's last
 * attempt at its event: Lambda retries a failed asynchronous invocation twice, a minute then two minutes
 * after each failure (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html;
 * the trigger's `maximumRetryAttempts: 2`), so its first retry comes about a minute after the first
 * attempt recorded it, and its last three minutes or more after.
 */
export const LAST_TRIGGER_RETRY_AFTER_SECONDS = 120;

/**
 * Tells every release recorded superseded by `by` whose notification was never sent (no 'superseded'
 * mark), from its record, once each: the trigger's retry of a push whose first attempt replaced a pending
 * push, recorded it and failed to notify it (SNS) while another teller read its mark as told and took it
 * out of the queue (see queue-push.ts tellOwed). Each is tried; the first failure is thrown after, so the
 * trigger's next retry tells what is still untold. One that Lambda's last attempt cannot tell (its event
 * goes to the dead-letter queue, and nothing else will find it) is counted as
 * {@link NOTIFICATIONS_LOST_METRIC}, as every lost notification is, so the alarm pages.
 */
export const tellUntoldSupersededBy = async (
  ports: { store: ReleaseStore; notifier: Notifier; metrics?: Metrics },
  settings: PipelineSettings,
  topicArn: string,
  service: string,
  by: string,
): Promise<void> => {
  const records = await ports.store.listRecords(service, RECORDS_SEARCHED_FOR_SUPERSEDED);
  const untold = records.filter((record) => record.status === 'superseded' && supersederOf(record) === by);
  const failures: unknown[] = [];
  for (const record of untold)
    await tellRecordedSuperseded(ports, settings, topicArn, record).catch(async (error: unknown) => {
      failures.push(error);
      const recordedAt = Date.parse(record.endedAt ?? '');
      if (now().getTime() - recordedAt >= LAST_TRIGGER_RETRY_AFTER_SECONDS * 1000)
        await ports.metrics?.count(NOTIFICATIONS_LOST_METRIC, { Service: service }).catch(() => undefined);
    });
  if (failures.length > 0) throw failures[0];
};

/** The CloudWatch metric (namespace Shipline, dimension Service) an alarm pages on when people were not told. */
export const NOTIFICATIONS_LOST_METRIC = 'NotificationsLost';

/**
 * The report state failed past its retries (SNS down, the function broken): the release is still
 * recorded with its true outcome, the loss is counted in CloudWatch so an alarm can page, and the result
 * says which notification was lost and why, so the execution shows it. Nothing is lost, recorded or
 * counted for the superseded report of a push told while it was queued: its telling went out then.
 */
export const recordLostNotification = async (
  ports: { store: ReleaseStore; metrics: Metrics; events?: ReleaseEvents },
  input: Omit<ReportInput, 'topicArn'> & { error: CaughtFailure },
): Promise<ReportResult & { notificationLost?: { kind: ReportKind; error: string } }> => {
  // An execution of a push told while it was queued (withdrawn by a person, or told superseded): what its
  // telling recorded stands (a withdrawn push's failed record is never written over as superseded), and
  // nothing was lost, as people were told then. Unread (the table still failing), it is recorded as below.
  const told = await toldWhileQueued(ports.store, input).catch(() => undefined);
  if (told) return told;
  const { progress, ...result } = await recordReport(ports.store, input, undefined);
  await publishReport(ports.events, input, { ...result, ...(progress ? { progress } : {}) });
  await ports.metrics.count(NOTIFICATIONS_LOST_METRIC, { Service: input.request.service });
  const error = reasonFromFailure(input.error);
  return {
    ...result,
    reason: `${result.reason} (the ${input.kind} notification was NOT sent: ${error})`,
    notificationLost: { kind: input.kind, error },
  };
};
