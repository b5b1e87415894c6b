import { now } from '../clock.ts';
import { alarmFailsRelease, alarmReasonAt, classifyAlarms } from '../domain/alarm-rule.ts';
import { currentStep, nextCursor, promotedCursor, promotionNote } from '../domain/cursor.ts';
import type { BakeStep, PauseStep } from '../domain/plan.ts';
import type { BakePromotion } from '../domain/progress.ts';
import { actorOf } from '../domain/release-progress.ts';
import type { BakeOutcome, Deployment, StepCursor, StepShift } from '../domain/types.ts';
import { formatDuration } from '../duration.ts';
import { AlarmAfterPromotionError, BakeFailedError } from '../errors.ts';
import type { AlarmStateChangeEvent } from '../events/alarm-state-change.ts';
import type { AlarmWatcher } from '../ports/alarm-watcher.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { AlarmWatch, ReleaseStore } from '../ports/release-store.ts';
import type { TaskTokens } from '../ports/workflow.ts';
import { recordTransition } from './transitions.ts';

/** Watches live this long past the bake, then DynamoDB TTL removes leftovers. */
const WATCH_TTL_MARGIN_SECONDS = 3600;

/** The bake fails, naming the step during which the alarm transitioned (from its timestamp). */
const failedBy = (
  alarm: string,
  shifts: readonly StepShift[] | undefined,
  percent: number,
  changedAt: Date,
): BakeOutcome => ({
  outcome: 'failed',
  reason: alarmReasonAt(alarm, shifts, changedAt, percent),
  alarm,
  alarmChangedAt: changedAt.toISOString(),
});

/** The share of traffic the new version takes while this bake runs: the last shift's (0 before any). */
const percentOf = (cursor: StepCursor): number => cursor.shifts.at(-1)?.percent ?? 0;

/**
 * When the bake began, confirmed as its wait timed out: `seconds` ago (a task's timeout counts from its
 * start), and never before its traffic took effect (the last shift) or the release started. The shift alone
 * is not enough: a bake that follows other steps (a rolling update's bake comes after the rollout and the
 * checks) would count an alarm that went silent before the bake began as having told something during it.
 */
const bakeStartOf = (deployment: Deployment, cursor: StepCursor, step: BakeStep): Date =>
  new Date(
    Math.max(
      new Date(cursor.shifts.at(-1)?.shiftedAt ?? deployment.startedAt).getTime(),
      now().getTime() - step.seconds * 1000,
    ),
  );

/** Why a bake fails when a watched alarm no longer exists: it cannot pass on an alarm it cannot read. */
const alarmsGone = (missing: readonly string[], when: string): BakeOutcome => ({
  outcome: 'failed',
  reason: `watched alarm(s) disappeared ${when}: ${missing.join(', ')}`,
});

/**
 * Registers a watch of every alarm of the release for the task `taskToken` waits on, for `seconds` (plus a
 * margin): an alarm's state-change event finds the waiting task through it.
 */
const watchAlarms = (
  store: ReleaseStore,
  deployment: Deployment,
  taskToken: string,
  watch: Pick<AlarmWatch, 'percent' | 'shifts' | 'kind' | 'deploymentId'>,
  seconds: number,
): Promise<void> =>
  store.putAlarmWatches(
    deployment.alarms.map((alarmName) => ({
      alarmName,
      releaseId: deployment.id,
      service: deployment.service,
      taskToken,
      watchFrom: deployment.startedAt,
      ...watch,
    })),
    seconds + WATCH_TTL_MARGIN_SECONDS,
  );

/**
 * Starts a bake: registers the task token against every watched alarm, so an alarm event resumes the
 * bake at once. Then reads the alarms once, so an alarm that fired between steps (when nothing watched)
 * fails the bake now rather than at its end. A watched alarm that no longer exists (deleted since the
 * release started) fails the bake at once too: no event can come from it, and the bake must not pass on an
 * alarm it cannot read. The state's timeout ends a quiet bake.
 */
export const startBake = async (
  ports: { store: ReleaseStore; alarms: AlarmWatcher; tokens: TaskTokens; events?: ReleaseEvents },
  deployment: Deployment,
  cursor: StepCursor,
  taskToken: string,
): Promise<{ watching: string[]; failedAtStart?: string; missing?: string[] }> => {
  const step = currentStep(cursor, 'bake');
  const { shifts } = cursor;
  const percent = percentOf(cursor);
  await recordTransition(ports, deployment, cursor, {
    kind: 'step',
    text: `Baking ${formatDuration(step.seconds)} at ${percent}%, watching ${deployment.alarms.length} alarm${deployment.alarms.length === 1 ? '' : 's'}`,
    facts: {
      phase: 'begin',
      endsAt: new Date(now().getTime() + step.seconds * 1000).toISOString(),
      watchedAlarms: deployment.alarms,
    },
  });
  await watchAlarms(ports.store, deployment, taskToken, { percent, shifts: [...shifts] }, step.seconds);
  const { found, missing } = await ports.alarms.describe(deployment.alarms);
  const [firing] = classifyAlarms(found, new Date(deployment.startedAt)).failing;
  if (firing) {
    // Resume first, then stop watching: if resuming fails the state retries with the watches in place.
    await ports.tokens.succeed(taskToken, failedBy(firing.name, shifts, percent, firing.updatedAt));
    await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
    return { watching: [], failedAtStart: firing.name };
  }
  if (missing.length > 0) {
    await ports.tokens.succeed(taskToken, alarmsGone(missing, 'before the bake'));
    await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
    return { watching: [], missing };
  }
  return { watching: deployment.alarms };
};

/**
 * The first alarm that failed the release since it started, by its state now or, for an alarm that
 * fired and recovered while its event was lost, by its history up to now.
 */
const firstFailingAlarm = async (
  alarms: AlarmWatcher,
  deployment: Deployment,
  found: Parameters<typeof classifyAlarms>[0],
): Promise<{ name: string; at: Date } | undefined> => {
  const since = new Date(deployment.startedAt);
  const [firing] = classifyAlarms(found, since).failing;
  if (firing) return { name: firing.name, at: firing.updatedAt };
  const [fired] = await alarms.transitionsToAlarm(deployment.alarms, since, now());
  return fired;
};

/**
 * The watched alarms that told nothing for the whole bake: in INSUFFICIENT_DATA now, with their last state
 * transition (DescribeAlarms' StateTransitionedTimestamp) at or before the bake began. Such an alarm was in
 * INSUFFICIENT_DATA when the bake began and never left it (any transition since would be newer; one to
 * ALARM also shows in its history, read before this and failing the bake).
 */
const silentThroughout = (found: Parameters<typeof classifyAlarms>[0], bakeStart: Date): string[] =>
  found
    .filter(
      (alarm) => alarm.state === 'INSUFFICIENT_DATA' && alarm.updatedAt.getTime() <= bakeStart.getTime(),
    )
    .map((alarm) => alarm.name);

/**
 * End of a quiet bake (the wait timed out): stop watching, and confirm with DescribeAlarms and the
 * alarms' history that no alarm fired, in case a state-change event was lost. Nothing fired, but a watched
 * alarm told nothing for the whole bake: `inconclusive` (see BakeOutcome), for the step's policy to decide.
 */
export const confirmBake = async (
  ports: { store: ReleaseStore; alarms: AlarmWatcher },
  deployment: Deployment,
  cursor: StepCursor,
): Promise<BakeOutcome> => {
  const step = currentStep(cursor, 'bake');
  const percent = percentOf(cursor);
  await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
  const { found, missing } = await ports.alarms.describe(deployment.alarms);
  if (missing.length > 0) return alarmsGone(missing, 'during the bake');
  const failing = await firstFailingAlarm(ports.alarms, deployment, found);
  if (failing) return failedBy(failing.name, cursor.shifts, percent, failing.at);
  const silent = silentThroughout(found, bakeStartOf(deployment, cursor, step));
  const [firstSilent] = silent;
  if (firstSilent) {
    return {
      outcome: 'inconclusive',
      reason: `inconclusive: alarm ${silent.join(', ')} stayed INSUFFICIENT_DATA for the whole ${formatDuration(step.seconds)} bake at ${percent}%, so ${silent.length === 1 ? 'it' : 'they'} could not tell whether the new version is healthy`,
      alarm: firstSilent,
      silentAlarms: silent,
    };
  }
  const watched = deployment.alarms.length;
  // An alarm in ALARM since before the release never fails it (README: pre-existing alarms), so it could
  // not have told anything about the new version: the reason says so rather than count it as watched.
  const { preExisting } = classifyAlarms(found, new Date(deployment.startedAt));
  const blind =
    preExisting.length > 0
      ? `; ${preExisting.map((alarm) => alarm.name).join(', ')} ${preExisting.length === 1 ? 'was' : 'were'} already in ALARM before the release, so ${preExisting.length === 1 ? 'it' : 'they'} could not tell`
      : '';
  return {
    outcome: 'passed',
    reason: `no alarm fired in ${formatDuration(step.seconds)} at ${percent}% (${watched} alarm${watched === 1 ? '' : 's'} watched${blind})`,
  };
};

/**
 * What an inconclusive bake means for the release under the step's policy: go on, fail, or wait for a
 * person for the service's inconclusive pause timeout.
 */
const decideInconclusive = (
  step: BakeStep,
  outcome: BakeOutcome,
): { next: 'go' | 'fail'; reason: string } | { next: 'pause'; reason: string; timeoutSeconds: number } => {
  switch (step.inconclusive) {
    case 'pass':
      return { next: 'go', reason: `${outcome.reason}; the service treats an inconclusive bake as passed` };
    case 'fail':
      return { next: 'fail', reason: `${outcome.reason}; the service treats an inconclusive bake as failed` };
    case 'pause':
      // A plan built before the step carried its timeout cannot know how long to wait: failing is the
      // only answer that never holds the service for a person nobody asked.
      if (step.inconclusivePauseSeconds === undefined)
        return {
          next: 'fail',
          reason: `${outcome.reason}; the service asks to pause for a person, but the plan carries no pause timeout, so the bake fails`,
        };
      return {
        next: 'pause',
        reason: `${outcome.reason}; the service pauses for a person to resume or abort, at most ${formatDuration(step.inconclusivePauseSeconds)}`,
        timeoutSeconds: step.inconclusivePauseSeconds,
      };
  }
};

/**
 * The pause an inconclusive bake turns into under a `pause` policy: it keeps the bake's index, so a person
 * resuming it goes on to the step after the bake, and its label (which the timeout's reason quotes) says
 * why the release waits.
 */
const inconclusivePause = (step: BakeStep, percent: number, timeoutSeconds: number): PauseStep => ({
  kind: 'pause',
  index: step.index,
  label: `Wait for a person: the ${formatDuration(step.seconds)} bake at ${percent}% was inconclusive`,
  timeoutSeconds,
  onTimeout: 'fail',
});

/**
 * The bake step's end, after its wait timed out: confirms the bake (confirmBake) and decides. Passed (or
 * inconclusive under a `pass` policy, said so in the next cursor's note) returns the next step's cursor;
 * inconclusive under `pause` returns a cursor on a pause step in the bake's place (the dispatch runs it as
 * any pause: a person resumes it, or its timeout rolls back); failed (or inconclusive under `fail`) throws
 * BakeFailed, naming the alarm, and the state machine rolls back.
 */
export const finishBake = async (
  ports: { store: ReleaseStore; alarms: AlarmWatcher; events?: ReleaseEvents },
  deployment: Deployment,
  cursor: StepCursor,
): Promise<StepCursor> => {
  const step = currentStep(cursor, 'bake');
  const outcome = await confirmBake(ports, deployment, cursor);
  if (outcome.outcome === 'failed') throw new BakeFailedError(outcome.reason);
  const bakeEnded = (reason: string) =>
    recordTransition(ports, deployment, cursor, {
      kind: 'step',
      text: `The ${formatDuration(step.seconds)} bake at ${percentOf(cursor)}% passed`,
      reason,
      facts: { phase: 'end', stepStartedAt: bakeStartOf(deployment, cursor, step).toISOString() },
    });
  if (outcome.outcome === 'inconclusive') {
    const decision = decideInconclusive(step, outcome);
    if (decision.next === 'fail') throw new BakeFailedError(decision.reason);
    // The pause in the bake's place records its own transition when it starts.
    if (decision.next === 'pause')
      return {
        ...cursor,
        step: inconclusivePause(step, percentOf(cursor), decision.timeoutSeconds),
        note: decision.reason,
      };
    await bakeEnded(decision.reason);
    return nextCursor(deployment.plan, cursor, { note: decision.reason });
  }
  await bakeEnded(outcome.reason);
  return nextCursor(deployment.plan, cursor, { note: outcome.reason });
};

/**
 * An alarm changed state. Every bake watching it, for a release that started before the change, is
 * resumed as failed. The watch is deleted only after the bake was resumed: if resuming fails (throttled),
 * the event is retried with the watch still in place. A replayed event finds the token already used
 * (Step Functions answers TaskTimedOut) or the watch gone, and changes nothing.
 */
export const onAlarmStateChange = async (
  ports: { store: ReleaseStore; tokens: TaskTokens },
  event: AlarmStateChangeEvent,
): Promise<{ failedReleases: string[] }> => {
  const { alarmName, state } = event.detail;
  if (state.value !== 'ALARM') return { failedReleases: [] };
  const changedAt = new Date(state.timestamp);
  const failedReleases: string[] = [];
  for (const watch of await ports.store.alarmWatches(alarmName)) {
    if (!alarmFailsRelease(state.value, changedAt, new Date(watch.watchFrom))) continue;
    if (watch.kind === 'rollback-window') {
      if (await endRollbackWindow(ports, watch, alarmName)) failedReleases.push(watch.releaseId);
      continue;
    }
    const resumed = await ports.tokens.succeed(
      watch.taskToken,
      watch.kind === 'rollout'
        ? failedDuringRollout(alarmName, changedAt)
        : failedBy(alarmName, watch.shifts, watch.percent, changedAt),
    );
    await ports.store.claimAlarmWatch(alarmName, watch.releaseId, watch.taskToken);
    // The rollout's task also waited on its ECS deployment: that wait ends too (no event may ever come for
    // a deployment the rollback replaces).
    if (watch.kind === 'rollout' && watch.deploymentId) await ports.store.claimSlotWait(watch.deploymentId);
    if (resumed) failedReleases.push(watch.releaseId);
  }
  return { failedReleases };
};

/** Why a rolling update is not ready: a watched alarm fired while its new tasks took production traffic. */
export const failedDuringRollout = (alarm: string, changedAt: Date): BakeOutcome => ({
  outcome: 'failed',
  reason: `alarm ${alarm} went to ALARM during the rollout, while the new tasks took production traffic`,
  alarm,
  alarmChangedAt: changedAt.toISOString(),
});

/**
 * A rolling update's await-ready step: registers its task token against every watched alarm too (kind
 * `rollout`), so an alarm event ends the wait as not ready at once instead of when the rollout completes.
 */
export const watchDuringRollout = (
  store: ReleaseStore,
  deployment: Deployment,
  taskToken: string,
  deploymentId: string,
  seconds: number,
): Promise<void> =>
  watchAlarms(store, deployment, taskToken, { percent: 100, kind: 'rollout', deploymentId }, seconds);

/**
 * End of a rolling update's wait (timed out): stops watching, and reads the alarms' state and history for
 * one that fired during the rollout while its event was lost, as a bake's confirm does. Undefined if none.
 */
export const confirmRolloutAlarms = async (
  ports: { store: ReleaseStore; alarms: AlarmWatcher },
  deployment: Deployment,
): Promise<BakeOutcome | undefined> => {
  await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
  const { found, missing } = await ports.alarms.describe(deployment.alarms);
  if (missing.length > 0) return alarmsGone(missing, 'during the rollout');
  const failing = await firstFailingAlarm(ports.alarms, deployment, found);
  return failing ? failedDuringRollout(failing.name, failing.at) : undefined;
};

/** Why a promoted release rolls back: the alarm, and that it fired after promotion. */
export const alarmAfterPromotionReason = (alarm: string): string =>
  `alarm ${alarm} went to ALARM after promotion, during the rollback window`;

/** The window's task ends quietly when a newer release has taken the service (its output, not a failure). */
export interface RollbackWindowOutcome {
  outcome: 'handed-over';
  reason: string;
}

const handedOver = (deployment: Pick<Deployment, 'service'>): RollbackWindowOutcome => ({
  outcome: 'handed-over',
  reason: `a newer release has taken ${deployment.service} over; the rollback window ends`,
});

/**
 * An alarm fired during a rollback window: resumes the window as failed (AlarmAfterPromotion) while this
 * release still owns the service, or ends it quietly when a newer one does (that release owns the old
 * slot now). The watch is deleted after the window was resumed, as for bakes. True if it rolls back.
 */
const endRollbackWindow = async (
  ports: { store: ReleaseStore; tokens: TaskTokens },
  watch: AlarmWatch,
  alarmName: string,
): Promise<boolean> => {
  const owner = await ports.store.isLatestRelease(watch.service, watch.releaseId);
  const resumed = owner
    ? await ports.tokens.fail(watch.taskToken, 'AlarmAfterPromotion', alarmAfterPromotionReason(alarmName))
    : await ports.tokens.succeed(watch.taskToken, handedOver(watch));
  await ports.store.claimAlarmWatch(alarmName, watch.releaseId, watch.taskToken);
  return owner && resumed;
};

/**
 * After promotion, while the old slot stays warm: registers the window's task token against the watched
 * alarms (kind `rollback-window`), so an alarm event rolls the release back at once. Reads the alarms once,
 * for an alarm that fired between the last bake and now. Ends at once, quietly, if a newer release has
 * taken the service. The state's timeout (the window) ends a quiet window.
 */
export const startRollbackWindow = async (
  ports: { store: ReleaseStore; alarms: AlarmWatcher; tokens: TaskTokens; events?: ReleaseEvents },
  deployment: Deployment,
  cursor: StepCursor,
  taskToken: string,
): Promise<{ watching: string[]; failedAtStart?: string; handedOver?: true }> => {
  const step = currentStep(cursor, 'retire');
  if (!(await ports.store.isLatestRelease(deployment.service, deployment.id))) {
    await ports.tokens.succeed(taskToken, handedOver(deployment));
    return { watching: [], handedOver: true };
  }
  await recordTransition(ports, deployment, cursor, {
    kind: 'step',
    text: `Rollback window: ${deployment.fromVersion} stays warm for ${formatDuration(step.rollbackWindowSeconds)} while the alarms are watched`,
    facts: {
      phase: 'window',
      newPercent: 100,
      endsAt: new Date(now().getTime() + step.rollbackWindowSeconds * 1000).toISOString(),
      watchedAlarms: deployment.alarms,
    },
  });
  await watchAlarms(
    ports.store,
    deployment,
    taskToken,
    { percent: 100, kind: 'rollback-window' },
    step.rollbackWindowSeconds,
  );
  const { found } = await ports.alarms.describe(deployment.alarms);
  const [firing] = classifyAlarms(found, new Date(deployment.startedAt)).failing;
  if (firing) {
    await ports.tokens.fail(taskToken, 'AlarmAfterPromotion', alarmAfterPromotionReason(firing.name));
    await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
    return { watching: [], failedAtStart: firing.name };
  }
  return { watching: deployment.alarms };
};

/**
 * End of a quiet rollback window: stop watching and confirm with DescribeAlarms and the alarms' history
 * that no alarm fired (a lost event). An alarm that did fires AlarmAfterPromotion (the state machine rolls back); a newer
 * release owning the service, or a missing alarm, ends the window without rollback.
 */
export const confirmRollbackWindow = async (
  ports: { store: ReleaseStore; alarms: AlarmWatcher },
  deployment: Deployment,
  cursor: StepCursor,
): Promise<{ outcome: 'passed' | 'handed-over'; reason: string }> => {
  const step = currentStep(cursor, 'retire');
  await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
  if (!(await ports.store.isLatestRelease(deployment.service, deployment.id))) return handedOver(deployment);
  const { found, missing } = await ports.alarms.describe(deployment.alarms);
  const failing = await firstFailingAlarm(ports.alarms, deployment, found);
  if (failing) throw new AlarmAfterPromotionError(alarmAfterPromotionReason(failing.name));
  // A promoted release is not rolled back for a deleted alarm, but the window says it could not watch it.
  const unread =
    missing.length > 0 ? `; alarm(s) ${missing.join(', ')} no longer exist and were not read` : '';
  return {
    outcome: 'passed',
    reason: `no alarm fired in the ${formatDuration(step.rollbackWindowSeconds)} rollback window${unread}`,
  };
};

/**
 * A person promoted the release while a step baked (its task returned a BakePromotion): the bake ends as
 * passed, its alarm watches go, and the transition says who promoted and why. Returns the next step's
 * cursor, or with `full` the retire step's (every bake, check, pause and shift left is skipped; the
 * promotion then moves the rest of the traffic in one shift and the rollback window still applies).
 */
export const promoteBake = async (
  ports: { store: ReleaseStore; events?: ReleaseEvents },
  deployment: Deployment,
  cursor: StepCursor,
  promotion: BakePromotion,
): Promise<StepCursor> => {
  const step = currentStep(cursor, 'bake');
  await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
  const at = now().toISOString();
  const next = promotedCursor(deployment.plan, cursor, promotion, at);
  await recordTransition(ports, deployment, cursor, {
    kind: 'step',
    text: promotion.full
      ? `Promoted in full by ${promotion.by} during the ${formatDuration(step.seconds)} bake at ${percentOf(cursor)}%: ${next.index - cursor.index - 1} steps skipped, all traffic goes to ${deployment.toVersion}`
      : `The ${formatDuration(step.seconds)} bake at ${percentOf(cursor)}% was ended as passed by ${promotion.by}`,
    reason: promotionNote(promotion),
    actor: promotion.actor ?? actorOf(promotion.by),
    facts: { phase: 'end', at },
  });
  return next;
};

/**
 * A person promoted the release during its rollback window: the window ends now (its alarm watches go) and
 * the state machine retires the old version. The transition says who ended it and why.
 */
export const promoteRollbackWindow = async (
  ports: { store: ReleaseStore; events?: ReleaseEvents },
  deployment: Deployment,
  cursor: StepCursor,
  promotion: BakePromotion,
): Promise<{ outcome: 'promoted'; reason: string }> => {
  currentStep(cursor, 'retire');
  await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
  const reason = `the rollback window was ended early by ${promotion.by}${promotion.reason ? `: ${promotion.reason}` : ''}`;
  await recordTransition(ports, deployment, cursor, {
    kind: 'step',
    text: `The rollback window was ended by ${promotion.by}; ${deployment.fromVersion} is retired now`,
    reason,
    actor: promotion.actor ?? actorOf(promotion.by),
    facts: { phase: 'window-ended', state: 'promoted', newPercent: 100 },
  });
  return { outcome: 'promoted', reason };
};
