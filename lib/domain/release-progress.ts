/**
 * How a release's progress follows from where its state machine is: a pure derivation from the plan, the
 * cursor and the transition, so every function records the same facts the same way, and `sequence` grows
 * without any counter of its own (a retried function writes the same sequence again).
 */
import type { NotificationKind } from './notifications.ts';
import type { PlanStep, ReleasePlan } from './plan.ts';
import type {
  Actor,
  ReleaseEventKind,
  ReleaseEventMessage,
  ReleaseProgress,
  ReleaseState,
} from './progress.ts';
import type { Deployment, ReleaseRequest, StepCursor } from './types.ts';

/**
 * The transitions a release's functions record. `begin` and `end` are a step's start and its end (a bake's
 * end, a check passed); `pause-instead` is the pause an inconclusive bake turns into, at the bake's index;
 * `window` and `window-closed` the rollback window after promotion.
 */
export type TransitionPhase =
  | 'queued'
  | 'started'
  | 'begin'
  | 'end'
  | 'pause-instead'
  | 'promoted'
  | 'window'
  | 'window-ended'
  | 'window-closed'
  | 'rolling-back'
  | 'ended';

/** Sequences of one step: its begin, end, a pause in its place, the window's close (retire only). */
const PER_STEP = 4;
const PHASE_OFFSET: Partial<Record<TransitionPhase, number>> = {
  begin: 0,
  promoted: 0,
  end: 1,
  window: 1,
  'pause-instead': 2,
  'window-ended': 2,
  'window-closed': 3,
};
/**
 * Every ending comes after every step (a rollback may follow the promotion when an alarm fires in the
 * rollback window), whatever the plan's length: no plan has this many steps.
 */
export const ENDING_SEQUENCE = 1_000_000;

/**
 * The sequence of a transition: queued 0, started 1, then each step's phases in plan order, the endings
 * last. It grows along every path the state machine takes, so a reader keeps the larger one.
 */
export const progressSequence = (phase: TransitionPhase, stepIndex = 0): number => {
  if (phase === 'queued') return 0;
  if (phase === 'started') return 1;
  if (phase === 'rolling-back') return ENDING_SEQUENCE;
  if (phase === 'ended') return ENDING_SEQUENCE + 1;
  return 2 + stepIndex * PER_STEP + (PHASE_OFFSET[phase] ?? 0);
};

/** The state a person reads for a step being carried out. */
export const stateOfStep = (step: PlanStep): ReleaseState => {
  switch (step.kind) {
    case 'deploy':
      return 'deploying';
    case 'await-ready':
      return 'waiting-ready';
    case 'shift':
    case 'test-traffic':
      return 'shifting';
    case 'bake':
      return 'baking';
    case 'check':
      return 'checking';
    case 'pause':
      return 'paused';
    case 'swap':
      return 'swapping';
    case 'retire':
      return 'promoted';
  }
};

/** The share of production traffic on the new version after the shifts so far (0 before any). */
export const newPercentOf = (cursor: Pick<StepCursor, 'shifts'>): number =>
  cursor.shifts.at(-1)?.percent ?? 0;

/** What one transition records beyond where the cursor is. */
export interface TransitionFacts {
  phase: TransitionPhase;
  /** When it happened (ISO 8601): the step's start for begin phases. */
  at: string;
  /** Overrides the state the phase and step give (an ending's outcome). */
  state?: ReleaseState;
  /** Overrides the new version's share the cursor gives (a shift just applied, a rollback). */
  newPercent?: number;
  /** When the wait ends if nothing ends it sooner. */
  endsAt?: string;
  watchedAlarms?: readonly string[];
  /** When the step began, for a phase recorded later than its start (a bake's end). */
  stepStartedAt?: string;
}

/**
 * The progress of a release at a transition, from its plan and cursor. Without a cursor (queued, started,
 * an ending before any step) the release is at step 0.
 */
export const progressAt = (
  plan: Pick<ReleasePlan, 'steps'> | undefined,
  cursor: Pick<StepCursor, 'index' | 'step' | 'shifts'> | undefined,
  facts: TransitionFacts,
): ReleaseProgress => {
  const step = cursor?.step;
  const state =
    facts.state ??
    (facts.phase === 'queued'
      ? 'queued'
      : facts.phase === 'started'
        ? 'deploying'
        : facts.phase === 'window'
          ? 'rollback-window'
          : facts.phase === 'rolling-back'
            ? 'rolling-back'
            : step
              ? stateOfStep(step)
              : 'failed');
  const newPercent = facts.newPercent ?? (cursor ? newPercentOf(cursor) : 0);
  // Only an ending says how far the release had got before traffic went back.
  const reachedPercent =
    cursor && (facts.phase === 'ended' || facts.phase === 'rolling-back')
      ? Math.max(0, ...cursor.shifts.map((shift) => shift.percent))
      : 0;
  return {
    sequence: progressSequence(facts.phase, cursor?.index ?? 0),
    step: cursor && facts.phase !== 'queued' && facts.phase !== 'started' ? cursor.index + 1 : 0,
    steps: plan?.steps.length ?? 0,
    ...(step && facts.phase !== 'started' ? { kind: step.kind, label: step.label } : {}),
    state,
    newPercent,
    ...(reachedPercent > newPercent ? { reachedPercent } : {}),
    stepStartedAt: facts.stepStartedAt ?? facts.at,
    ...(facts.endsAt ? { endsAt: facts.endsAt } : {}),
    ...(facts.watchedAlarms && facts.watchedAlarms.length > 0
      ? { watchedAlarms: [...facts.watchedAlarms] }
      : {}),
    updatedAt: facts.at,
  };
};

/** The outcome an ending kind carries on the release-events topic. */
const OUTCOME_OF: Partial<Record<NotificationKind, NonNullable<ReleaseEventMessage['outcome']>>> = {
  promoted: 'promoted',
  rolled_back: 'rolled_back',
  failed: 'failed',
  rollback_failed: 'failed',
  superseded: 'superseded',
};

/** What every message says about the release itself, from its deployment or, before one, its request. */
export interface ReleaseSubject {
  releaseId: string;
  service: string;
  requestedAt: string;
  strategy: string;
  fromVersion?: string;
  toVersion: string;
  digest?: string;
  changeTime?: ReleaseEventMessage['changeTime'];
}

/** The subject of a planned release. */
export const subjectOfDeployment = (
  deployment: Pick<
    Deployment,
    'id' | 'service' | 'requestedAt' | 'fromVersion' | 'toVersion' | 'image' | 'plan' | 'changeTime'
  >,
): ReleaseSubject => ({
  releaseId: deployment.id,
  service: deployment.service,
  requestedAt: deployment.requestedAt,
  strategy: deployment.plan.strategy,
  fromVersion: deployment.fromVersion,
  toVersion: deployment.toVersion,
  digest: deployment.image.digest,
  ...(deployment.changeTime ? { changeTime: deployment.changeTime } : {}),
});

/** The time of the change a request carries: a deploy request's `commitTime`, else none (resolved later). */
export const changeTimeOfRequest = (
  request: Pick<ReleaseRequest, 'commitTime'>,
): ReleaseEventMessage['changeTime'] | undefined =>
  request.commitTime ? { at: request.commitTime, source: 'deploy-request' } : undefined;

/** The subject of a release not planned yet (queued, superseded, failed before its plan). */
export const subjectOfRequest = (
  request: ReleaseRequest,
  releaseId: string,
  toVersion: string,
  strategy: string,
): ReleaseSubject => {
  const changeTime = changeTimeOfRequest(request);
  return {
    releaseId,
    service: request.service,
    requestedAt: request.requestedAt,
    strategy,
    toVersion,
    digest: request.image.digest,
    ...(changeTime ? { changeTime } : {}),
  };
};

/**
 * One message of the release-events topic: its kind, what happened in one sentence, and the progress after
 * it. The kinds that end a release carry their outcome and end time.
 */
export const releaseEventOf = (
  subject: ReleaseSubject,
  facts: {
    kind: ReleaseEventKind;
    text: string;
    progress: ReleaseProgress;
    region: string;
    environment: string;
    executionArn?: string;
    reason?: string;
    actor?: ReleaseEventMessage['actor'];
  },
): ReleaseEventMessage => {
  const outcome = facts.kind === 'step' ? undefined : OUTCOME_OF[facts.kind];
  return {
    version: 1,
    kind: facts.kind,
    service: subject.service,
    environment: facts.environment,
    releaseId: subject.releaseId,
    ...(facts.executionArn ? { executionArn: facts.executionArn } : {}),
    region: facts.region,
    strategy: subject.strategy,
    ...(subject.fromVersion !== undefined ? { fromVersion: subject.fromVersion } : {}),
    toVersion: subject.toVersion,
    ...(subject.digest ? { digest: subject.digest } : {}),
    text: facts.text,
    ...(facts.reason ? { reason: facts.reason } : {}),
    progress: facts.progress,
    ...(outcome ? { outcome, endedAt: facts.progress.updatedAt } : {}),
    requestedAt: subject.requestedAt,
    ...(subject.changeTime ? { changeTime: subject.changeTime } : {}),
    ...(facts.actor ? { actor: facts.actor } : {}),
    at: facts.progress.updatedAt,
  };
};

/**
 * Who a promotion's `by` names: `slack:<team>/<user>` is a Slack user, anything else (an AWS principal ARN)
 * a CLI caller.
 */
export const actorOf = (by: string): Actor => ({ via: by.startsWith('slack:') ? 'slack' : 'cli', id: by });

/** A sentence for a step's transition: "Step 3 of 7: Shift 25% to green". */
export const stepText = (progress: ReleaseProgress, what?: string): string =>
  `Step ${progress.step} of ${progress.steps}${progress.label ? `: ${progress.label}` : ''}${what ? ` (${what})` : ''}`;
