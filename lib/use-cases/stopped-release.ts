import { now } from '../clock.ts';
import type { ServiceConfig } from '../config/schema.ts';
import type { ReleaseProgress } from '../domain/progress.ts';
import { progressSequence, type ReleaseSubject } from '../domain/release-progress.ts';
import { SLOT_NAMES, type SlotName } from '../domain/types.ts';
import { asError, ServiceBusyError } from '../errors.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { ReleaseRecord } from '../ports/release-history.ts';
import type { TrafficRouter } from '../ports/traffic-router.ts';
import { notifyOnce } from './notify.ts';
import type { PipelineSettings, ReleasePorts } from './ports.ts';
import { publishTransition } from './transitions.ts';

/** What a "Step Functions Execution Status Change" event says of an execution that ended (its `detail`). */
export interface EndedExecution {
  name: string;
  status: string;
  /** The execution's input (JSON text): its `requestedAt` finds the record however many are newer. */
  input?: string | null;
  error?: string | null;
  cause?: string | null;
}

/**
 * How many of the service's newest records are searched for the stopped release's: the records newer than
 * a running release are the pushes superseded while it ran (one each) and at most one release after it.
 */
const RECORDS_SEARCHED = 100;

/** The `requestedAt` of a release execution's input (JSON text), if it has one. */
const requestedAtOf = (input: string | null | undefined): string | undefined => {
  if (!input) return undefined;
  try {
    const { requestedAt } = JSON.parse(input) as { requestedAt?: unknown };
    return typeof requestedAt === 'string' && requestedAt !== '' ? requestedAt : undefined;
  } catch {
    return undefined;
  }
};

/** How the execution ended, in a person's words, and the error and cause it ended with. */
const endingWords = (ended: EndedExecution): { how: string; detail: string } => {
  const why = [ended.error, ended.cause].filter((part) => part !== undefined && part !== null && part !== '');
  const detail = why.length > 0 ? ` (${why.join(': ')})` : '';
  switch (ended.status) {
    case 'ABORTED':
      return { how: 'stopped outside Shipline', detail };
    case 'TIMED_OUT':
      return { how: 'timed out', detail };
    default:
      return { how: "failed outside the release's error handling", detail };
  }
};

/**
 * What production traffic looks like now, for a release stopped part-way (nothing rolled it back): the
 * listener rule's weights per slot for ecs-alb ("traffic is split: blue 75% / green 25%"), read from ALB (never
 * throws: a failed read says so), or what to check for a rolling update.
 */
export const servingWords = async (
  service: ServiceConfig,
  router: Pick<TrafficRouter, 'readWeights'>,
): Promise<string> => {
  const target = service.target;
  if (target.type !== 'ecs-alb')
    return `the rolling update of ECS service ${target.service} may be part-way: check its deployments`;
  try {
    const weights = await router.readWeights({
      kind: 'alb-listener-rule',
      listenerRuleArn: target.listenerRuleArn,
    });
    const share = (slot: 'blue' | 'green') => weights[target.slots[slot].targetGroupArn] ?? 0;
    const split = share('blue') > 0 && share('green') > 0;
    return `${split ? 'traffic is split' : 'serving'}: blue ${share('blue')}% / green ${share('green')}%`;
  } catch (error) {
    return `the weights could not be read (${asError(error).name}): traffic may be split between blue and green; check listener rule ${target.listenerRuleArn}`;
  }
};

/**
 * Where a promoted release's new version runs and what the listener rule gives each slot now. The new slot is
 * the one its promotion recorded as stable (`recorded`); without it (the stop came while the promotion was
 * still being recorded), the slot with all the weight. The weights alone do not say which version a slot
 * runs: a person may have moved the traffic back to the old slot since. `oldShare` is the old slot's share,
 * undefined when the weights could not be read (`unread`) or no new slot is known.
 */
const promotedServing = async (
  service: ServiceConfig,
  target: Extract<ServiceConfig['target'], { type: 'ecs-alb' }>,
  router: Pick<TrafficRouter, 'readWeights'>,
  recorded: SlotName | undefined,
): Promise<{ newSlot?: SlotName; oldShare?: number; unread?: true; words: string }> => {
  let weights: Record<string, number>;
  try {
    weights = await router.readWeights({
      kind: 'alb-listener-rule',
      listenerRuleArn: target.listenerRuleArn,
    });
  } catch {
    // servingWords reads them again and says they could not be read, and what to check.
    return {
      ...(recorded ? { newSlot: recorded } : {}),
      unread: true,
      words: `was promoted, but ${await servingWords(service, router)}`,
    };
  }
  const share = (slot: SlotName) => weights[target.slots[slot].targetGroupArn] ?? 0;
  const newSlot = recorded ?? SLOT_NAMES.find((name) => share(name) === 100);
  const split = `blue ${share('blue')}% / green ${share('green')}%`;
  if (newSlot === undefined) return { words: `is not alone serving: ${split}` };
  const oldShare = share(newSlot === 'blue' ? 'green' : 'blue');
  return share(newSlot) === 100
    ? { newSlot, oldShare, words: `serves 100% on ${newSlot} (${split})` }
    : {
        newSlot,
        oldShare,
        words: `was promoted on ${newSlot}, but ${newSlot} takes ${share(newSlot)}% of the traffic now (${split})`,
      };
};

/**
 * How a person goes back to the version before `record`: what `shipline rollback` would release
 * (operate.ts rollbackToPrevious: the newest earlier promoted release of another image), or, without one
 * (it has nothing to roll back to), a deploy of the previous image.
 */
const goBackWords = (
  declared: ServiceConfig & { name: string },
  record: ReleaseRecord,
  records: readonly ReleaseRecord[],
): string => {
  const previous = records.find(
    (candidate) =>
      candidate.status === 'promoted' &&
      candidate.releaseId !== record.releaseId &&
      candidate.image !== undefined &&
      candidate.image.digest !== record.image?.digest,
  );
  return previous
    ? `to go back to ${previous.toVersion ?? previous.releaseId}, run shipline rollback ${declared.name} --reason TEXT (it releases it again)`
    : `to go back to ${record.fromVersion ?? 'the previous version'}, release its image with shipline deploy ${declared.name} --image DIGEST`;
};

/**
 * Whether a rolling release's update had completed when its execution ended, from its recorded progress:
 * every ecs-rolling plan deploys (starts the rolling update), then waits until the rollout completes (the
 * ECS deployment reached steady state), and only then goes on (checks, bake, retire). A release recorded
 * past that wait rolled out: the new version runs all the service's tasks, and nothing rolled it back.
 */
const rolledOut = (progress: ReleaseProgress | undefined): boolean =>
  progress?.kind !== undefined && progress.kind !== 'deploy' && progress.kind !== 'await-ready';

/**
 * When a promoted release's execution ended, in its retire step (its progress says where): before its
 * rollback window, in it, after a person ended it, or after it, while the old version was still kept warm.
 * `cut` is true when the window was still to come or running: no alarm rolls the release back any more.
 */
const windowWords = (
  progress: ReleaseProgress,
  at: Date,
  /** The target's rollback window: an ecs-rolling target without one ends its release at promotion. */
  windowSeconds: number,
): { when: string; cut: boolean } => {
  const index = progress.step - 1;
  if (progress.sequence === progressSequence('window-ended', index))
    return {
      when: 'after a person ended its rollback window, before it retired the old version',
      cut: false,
    };
  if (progress.state !== 'rollback-window')
    return windowSeconds > 0
      ? { when: 'before its rollback window began', cut: true }
      : { when: 'after its promotion, before it retired the old version', cut: false };
  const endsAt = progress.endsAt ? Date.parse(progress.endsAt) : Number.NaN;
  if (endsAt <= at.getTime())
    return { when: 'after its rollback window, before it retired the old version', cut: false };
  return {
    when: `during its rollback window${Number.isNaN(endsAt) ? '' : ` (due to end at ${progress.endsAt})`}`,
    cut: true,
  };
};

/**
 * A promoted release whose execution ended outside its states before its retire step was over (a person's
 * StopExecution in the rollback window, a timeout): the new version serves, but nothing watches its alarms
 * any more and the old slot is never scaled down. Shipline does not act on the release's resources after a
 * person's stop: it clears the window's alarm watches (a later alarm has no task to resume), tells people
 * (once) and the release-events topic what serves, that no alarm rolls it back, and which slot is still warm
 * with the command that scales it down; the record stays promoted (it did promote), its reason says what
 * happened after, and its progress closes the retire step (so a repeated event finds nothing left to tell).
 * A release whose retire step was over (the old version retired), or that a newer release has started on or
 * taken the service since, left nothing to tell (one stopped while rolling back is endStoppedRelease's).
 */
const endStoppedAfterPromotion = async (
  ports: StoppedReleasePorts,
  settings: PipelineSettings,
  declared: ServiceConfig & { name: string; topicArn: string },
  ended: EndedExecution,
  record: ReleaseRecord,
  /** The service's newest records (the one `shipline rollback` would release again is among them). */
  records: readonly ReleaseRecord[],
): Promise<{ ended: boolean; reason?: string }> => {
  const { store } = ports;
  const progress = record.progress;
  if (progress === undefined || (progress.state !== 'promoted' && progress.state !== 'rollback-window'))
    return { ended: false };
  const closed = progressSequence('window-closed', progress.step - 1);
  if (progress.sequence >= closed) return { ended: false };
  // The window's watches go with its execution: `shipline status` no longer reads the release as in its
  // window, and a later alarm finds no task token to resume (a dead token would be ignored anyway).
  await store.clearAlarmWatches(progress.watchedAlarms ?? [], record.releaseId);
  // A newer release has claimed the old slot since (its canary now): what it runs is that release's to tell.
  if (!(await store.isLatestRelease(declared.name, record.releaseId))) return { ended: false };
  // An alarm (or a person's abort) in the window began a rollback before the stop: its Lambda outlives the
  // stop (StopExecution ends no running invocation), moves traffic back to the old slot and tells it. Told
  // now, the old slot would be named as warm, to scale down, while it takes the traffic back: the event is
  // retried instead, and finds the release rolled back (nothing to tell) or its rollback failing (told).
  if (await store.isRollingBack(declared.name, record.releaseId))
    throw new ServiceBusyError(
      `the rollback of release ${record.releaseId} of ${declared.name} began before its execution ended and may still run: what it left is told once it is over`,
    );
  // The hand-off ran right after the promotion, so a newer release may have started before it claimed the
  // old slot (it deploys there next): telling people to scale that slot down would take its tasks away.
  const index = records.indexOf(record);
  const started = records
    .slice(0, index >= 0 ? index : records.length)
    .some((candidate) => candidate.status === 'in_progress' && candidate.startedAt !== undefined);
  if (started) return { ended: false };
  const target = declared.target;
  const at = now();
  const { when, cut } = windowWords(progress, at, target.rollbackWindow);
  const toVersion = record.toVersion ?? record.releaseId;
  const subject = subjectOfRecord(record, declared, toVersion);
  const { endsAt: _endsAt, watchedAlarms: _watched, ...rest } = progress;
  // A rolling update keeps nothing warm: only a window cut short leaves something untrue to tell.
  if (target.type !== 'ecs-alb' && !cut) {
    // Its window was over, but its end was never recorded: shipline status and deploy would read the release
    // as still watched in its window forever. The retire step is closed, with nobody to tell.
    if (progress.state === 'rollback-window') {
      const closedQuietly: ReleaseProgress = {
        ...rest,
        sequence: closed,
        state: 'promoted',
        label: `The rollback window is over; the execution ended ${when}`,
        updatedAt: at.toISOString(),
      };
      await publishTransition(
        ports.events,
        subject,
        closedQuietly,
        { kind: 'step', text: `The rollback window of ${toVersion} is over` },
        record.executionArn,
      );
      await store.updateRecord(record.service, record.requestedAt, record.releaseId, {
        progress: closedQuietly,
      });
    }
    return { ended: false };
  }
  const { how, detail } = endingWords(ended);
  const unwatched = cut ? `no alarm rolls ${toVersion} back automatically any more` : undefined;
  const back = goBackWords(declared, record, records);
  let reason: string;
  let leftWarm: string | undefined;
  let unsure = false;
  let details: Record<string, unknown>;
  if (target.type === 'ecs-alb') {
    // The slot the promotion recorded as stable, once it recorded it (its version is then the release's).
    const state = await store.readServiceState(declared.name);
    const recorded =
      state?.latestRelease === record.releaseId && state.stableVersion === toVersion
        ? state.stableSlot
        : undefined;
    const serving = await promotedServing(declared, target, ports.router, recorded);
    const newSlot = serving.newSlot;
    const oldSlot = SLOT_NAMES.find((slot) => newSlot !== undefined && slot !== newSlot);
    const scaleDown = (service: string) =>
      `aws ecs update-service --region ${settings.region} --cluster ${target.cluster} --service ${service} --desired-count 0`;
    // In its window (or before it), nothing of the execution was left to scale the old slot down. After it,
    // the stop may have come while the scale-down state ran (a running Lambda finishes after StopExecution),
    // whose end is recorded only after the slot is scaled: it may be warm, or already scaled down.
    unsure = !cut;
    const warmWords = unsure
      ? 'was not recorded as scaled down, and the stop may have come while Shipline scaled it down'
      : 'is still warm and Shipline will not scale it down';
    let warm: string;
    if (oldSlot === undefined) {
      warm = `the old slot (blue or green, whichever does not serve; ${target.slots.blue.service} or ${target.slots.green.service}) ${warmWords}: ${unsure ? 'if it still runs tasks, ' : ''}scale it down with ${scaleDown('SERVICE')}`;
    } else {
      const old = `the old slot ${oldSlot} (ECS service ${target.slots[oldSlot].service}${record.fromVersion ? `, ${record.fromVersion}` : ''})`;
      const command = scaleDown(target.slots[oldSlot].service);
      // Never a bare command to scale to 0 a slot that takes traffic, or may: that would be an outage.
      if (serving.oldShare !== undefined && serving.oldShare > 0)
        warm = `${old} is still running and takes ${serving.oldShare}% of the traffic: do not scale it down while it takes traffic (${command} once it takes none)`;
      else if (serving.unread)
        warm = `${old} ${warmWords}: once listener rule ${target.listenerRuleArn} shows ${oldSlot} takes no traffic${unsure ? ' and if it still runs tasks' : ''}, scale it down with ${command}`;
      else
        warm = `${old} ${warmWords}: ${unsure ? 'if it still runs tasks, ' : ''}scale it down with ${command}`;
    }
    leftWarm = oldSlot ?? 'the old slot';
    reason = `${how} ${when}${detail}: ${toVersion} ${serving.words}; ${unwatched ? `${unwatched}, and ` : ''}${warm}; ${back}`;
    details = {
      servingVersion: toVersion,
      oldSlot: {
        ...(oldSlot ? { slot: oldSlot, ecsService: target.slots[oldSlot].service } : {}),
        cluster: target.cluster,
        ...(record.fromVersion ? { version: record.fromVersion } : {}),
        ...(serving.oldShare !== undefined ? { trafficPercent: serving.oldShare } : {}),
        scaleDownCommand: scaleDown(oldSlot ? target.slots[oldSlot].service : 'SERVICE'),
      },
    };
  } else {
    reason = `${how} ${when}${detail}: ${toVersion} serves (its rolling update of ECS service ${target.service} completed), and ${unwatched}: watch its alarms yourself, and ${back}; nothing was kept warm (the rolling update replaced the old tasks)`;
    details = { servingVersion: toVersion };
  }
  const stamp = at.toISOString();
  const settled: ReleaseProgress = {
    ...rest,
    sequence: closed,
    state: 'promoted',
    label: `Stopped ${when}${leftWarm ? `: ${leftWarm} ${unsure ? 'may be left' : 'left'} warm` : ''}`,
    updatedAt: stamp,
  };
  await publishTransition(
    ports.events,
    subject,
    settled,
    {
      kind: 'stopped',
      text: `The release of ${toVersion} was ${ended.status === 'ABORTED' ? 'stopped' : 'ended'} ${when}${leftWarm ? `: ${leftWarm} ${unsure ? 'may be left' : 'is left'} warm` : ''}`,
      reason,
    },
    record.executionArn,
  );
  await notifyOnce(ports, declared.topicArn, {
    kind: 'stopped',
    ...recordFacts(record, toVersion, settings),
    reason,
    ...(leftWarm ? { leftWarm, ...(unsure ? { leftWarmUnsure: true } : {}) } : {}),
    details,
  });
  // The record last (a failed notification leaves it as it was, so the retried event tells again, once).
  // It stays promoted (it did promote: DORA counts it as deployed), and a promoted record carries no reason
  // of its own, so its reason is what happened after: what `shipline history` shows beside the promotion.
  await store.updateRecord(record.service, record.requestedAt, record.releaseId, {
    reason,
    progress: settled,
  });
  return { ended: true, reason };
};

/** The release-events subject of a stopped release, from its record (it has no deployment to read). */
const subjectOfRecord = (
  record: ReleaseRecord,
  declared: ServiceConfig,
  toVersion: string,
): ReleaseSubject => ({
  releaseId: record.releaseId,
  service: record.service,
  requestedAt: record.requestedAt,
  strategy: declared.strategy.type,
  toVersion,
  ...(record.fromVersion ? { fromVersion: record.fromVersion } : {}),
  ...(record.image ? { digest: record.image.digest } : {}),
  ...(record.changeTime ? { changeTime: record.changeTime } : {}),
});

/** What a stopped release's notification says of the release itself, from its record. */
const recordFacts = (record: ReleaseRecord, toVersion: string, settings: PipelineSettings) => ({
  service: record.service,
  releaseId: record.releaseId,
  ...(record.executionArn ? { executionArn: record.executionArn } : {}),
  ...(record.fromVersion ? { fromVersion: record.fromVersion } : {}),
  toVersion,
  region: settings.region,
});

/** What ending a stopped release takes: its record, the people's topic, the release-events topic, traffic. */
export interface StoppedReleasePorts extends Pick<ReleasePorts, 'store' | 'notifier'> {
  events?: ReleaseEvents;
  /** Reads the listener rule's weights (what serves now). */
  router: Pick<TrafficRouter, 'readWeights'>;
}

/**
 * A release whose execution ended ABORTED (a person's StopExecution), TIMED_OUT or FAILED outside its own
 * states: nothing rolled it back, reported it or ended its record, so the service may be left split between
 * two versions. Ends its record as failed (if it is still in progress) with why and what serves now, and
 * tells people (once: a repeated event tells nobody twice, and one whose telling failed tells again) and the release-events topic. A
 * promoted release stopped while its rollback from the window was retried is ended the same way, told as a
 * failed rollback (ACTION NEEDED: traffic may be split). A release that had no record yet (stopped before
 * it planned) moved no traffic and is left as it is.
 */
export const endStoppedRelease = async (
  ports: StoppedReleasePorts,
  settings: PipelineSettings,
  declared: ServiceConfig & { name: string; topicArn: string },
  ended: EndedExecution,
): Promise<{ ended: boolean; reason?: string }> => {
  const { store } = ports;
  const records = await store.listRecords(declared.name, RECORDS_SEARCHED);
  // More pushes than that may have been superseded while it ran: its own key finds it then.
  const requestedAt = requestedAtOf(ended.input);
  const record =
    records.find((candidate) => candidate.releaseId === ended.name) ??
    (requestedAt !== undefined ? await store.readRecord(declared.name, requestedAt, ended.name) : undefined);
  // A rollback from the rollback window (an alarm, a person's abort) whose traffic move failed records the
  // release as rolling back while the state retries it; stopped then, nothing finishes or reports it.
  const rollingBack = record?.status === 'promoted' && record.progress?.state === 'rolling-back';
  if (record?.status === 'promoted' && !rollingBack)
    return endStoppedAfterPromotion(ports, settings, declared, ended, record, records);
  if (record === undefined || (record.status !== 'in_progress' && !rollingBack)) return { ended: false };
  // A late or retried event may come after the hand-off let a newer release plan and claim the slots: the
  // weights then are that release's, not what the stopped one left, and are not told as such.
  const newer = records
    .slice(0, records.includes(record) ? records.indexOf(record) : records.length)
    .find((candidate) => candidate.startedAt !== undefined);
  const taken =
    newer !== undefined && !(await store.isLatestRelease(declared.name, record.releaseId))
      ? `newer release ${newer.releaseId}${newer.toVersion ? ` (${newer.toVersion})` : ''} has taken ${declared.name} over since, and what serves now is its to tell`
      : undefined;
  const percent = record.progress?.newPercent ?? record.currentPercent ?? 0;
  // What a person acts on first (the subject is shortened from the end): where it stopped, what serves.
  const { how, detail } = endingWords(ended);
  const toVersion = record.toVersion ?? record.releaseId;
  const target = declared.target;
  // A rolling update has no percent: its new tasks take traffic as they start, and once it completed the
  // new version runs every task. Where it stopped is its step; what serves follows from the record.
  const rolling = target.type === 'ecs-rolling' && !rollingBack;
  const done = rolling && rolledOut(record.progress);
  const serving =
    taken ??
    (done && target.type === 'ecs-rolling'
      ? `${toVersion} serves (the rolling update of ECS service ${target.service} replaced the old tasks); no alarm rolls ${toVersion} back automatically any more: watch its alarms yourself, and ${goBackWords(declared, record, records)}`
      : await servingWords(declared, ports.router));
  const step = record.progress;
  const where =
    step && step.step > 0
      ? `during step ${step.step} of ${step.steps}${step.label ? ` (${step.label})` : ''}`
      : 'before its first step';
  const reason = rollingBack
    ? `${how} while it rolled back to ${record.fromVersion ?? 'the previous version'} after its promotion, before the rollback finished${detail}: ${serving}; Shipline no longer retries the rollback: finish it by hand`
    : rolling
      ? `${how} ${where}${done ? ', after its rolling update completed' : ''}${detail}, not rolled back: ${serving}`
      : `${how} at ${percent}%, not rolled back: ${serving}${detail}`;
  const at = now().toISOString();
  const progress: ReleaseProgress = {
    ...(record.progress ?? { step: 0, steps: 0, newPercent: percent, stepStartedAt: at }),
    sequence: Math.max(progressSequence('ended'), (record.progress?.sequence ?? 0) + 1),
    state: 'failed',
    // A completed rolling update left the new version on every task: all the traffic is its.
    ...(done ? { newPercent: 100 } : {}),
    updatedAt: at,
  };
  const { endsAt: _endsAt, watchedAlarms: _watched, ...settled } = progress;
  const subject = subjectOfRecord(record, declared, toVersion);
  await publishTransition(
    ports.events,
    subject,
    settled,
    rollingBack
      ? {
          kind: 'rollback_failed',
          text: `The rollback of ${toVersion} was stopped before it finished`,
          reason,
        }
      : { kind: 'failed', text: `The release of ${toVersion} was stopped part-way`, reason },
    record.executionArn,
  );
  // A rollback left unfinished is told as the state machine tells one that gave up: ACTION NEEDED.
  await notifyOnce(ports, declared.topicArn, {
    kind: rollingBack ? 'rollback_failed' : 'failed',
    ...recordFacts(record, toVersion, settings),
    reason,
  });
  // The record last: a failed notification leaves it in progress, so the retried event tells again (once).
  await store.updateRecord(record.service, record.requestedAt, record.releaseId, {
    status: 'failed',
    endedAt: at,
    reason,
    progress: settled,
  });
  return { ended: true, reason };
};
