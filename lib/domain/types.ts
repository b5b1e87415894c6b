import type { PlanStep, ReleasePlan } from './plan.ts';
import type { Actor } from './progress.ts';

/**
 * The release model carried through the state machine. Inputs and outputs stay small: what a person
 * reading the execution in the console needs, and what the next state needs.
 */

/** Where a release request came from. */
export const RELEASE_SOURCES = ['ecr-push', 'manual'] as const;
export type ReleaseSource = (typeof RELEASE_SOURCES)[number];

/** The execution input: which image to release for which service. */
export interface ReleaseRequest {
  service: string;
  image: {
    repository: string;
    /** `sha256:<64 hex>`: releases are pinned to a digest, never to a mutable tag. */
    digest: string;
    tag?: string;
    /** Full image URI pinned to the digest, when the trigger knows the registry. */
    uri?: string;
  };
  /** When the image was pushed (or the manual request made); the newest waiting request wins the lock. */
  requestedAt: string;
  /**
   * When the trigger received the request (ISO 8601 with milliseconds). ECR's `time` has second
   * precision, so two pushes in the same second are ordered by when the trigger received them.
   */
  receivedAt?: string;
  /** Breaks ties between two requests the same trigger container received in the same millisecond. */
  receivedSeq?: number;
  /**
   * The trigger invocation that built this input (its Lambda request id). Every invocation's input is
   * distinct, so Step Functions answers a second start of the same name with ExecutionAlreadyExists
   * (reported as a duplicate) and only an SDK retry of the very same call succeeds idempotently.
   */
  receiptId?: string;
  source: ReleaseSource;
  requestedBy?: string;
  /** A manual request's id: releases the digest again, even one that already serves 100%. */
  requestId?: string;
  /** When the change was made (ISO 8601), as the deploy request gave it (DORA change lead time). */
  commitTime?: string;
}

/**
 * What prepare returns instead of a deployment when the requested digest already serves 100% on the
 * stable slot: nothing to release (the state machine records it as ignored and ends).
 */
export interface AlreadyServing {
  alreadyServing: true;
  reason: string;
}

export const SLOT_NAMES = ['blue', 'green'] as const;
export type SlotName = (typeof SLOT_NAMES)[number];

export interface SlotRef {
  name: SlotName;
  service: string;
  targetGroupArn: string;
}

/** An ECS service with two slots behind one ALB listener rule. */
export interface EcsAlbTarget {
  type: 'ecs-alb';
  cluster: string;
  container: string;
  listenerRuleArn: string;
  stable: SlotRef;
  canary: SlotRef;
  /** Task count the new slot runs (the stable slot's count, so it can take 100%). */
  desiredCount: number;
  /** Task definition the stable slot runs; the new revision copies it with the new image. */
  stableTaskDefinitionArn: string;
  /** The test listener rule (`target.testListenerRuleArn`): test-traffic steps point it at a slot. */
  testListenerRuleArn?: string;
  /** The URL the test route answers on (`target.testUrl`), for smoke tests. */
  testUrl?: string;
}

/** One ECS service updated in place by a rolling update (no slots, no weights). */
export interface EcsRollingTarget {
  type: 'ecs-rolling';
  cluster: string;
  container: string;
  /** The ECS service the rolling update replaces the tasks of. */
  service: string;
  /** Task count the service runs (kept by the update and by the rollback). */
  desiredCount: number;
  /** Task definition the service ran before the release: the new revision copies it, a rollback returns to it. */
  stableTaskDefinitionArn: string;
}

export type ReleaseTarget = EcsAlbTarget | EcsRollingTarget;

/**
 * When a step's weights were applied. The step an alarm transition belongs to is the last one shifted at
 * or before the transition (its event may arrive later, after the next shift).
 */
export interface StepShift {
  percent: number;
  /** ISO 8601, when shift-traffic applied the step's weights. */
  shiftedAt: string;
}

/** What the deploy step started: the revision registered and the rollout carrying it out. */
export interface Rollout {
  taskDefinitionArn: string;
  deploymentId: string;
}

/**
 * Where the release is in its plan (`$.cursor` in the state machine): the step to run now, and what earlier
 * steps left for later ones. Every step's function returns the cursor of the step after it, so the state
 * machine goes from one step to the next without a state in between.
 */
export interface StepCursor {
  index: number;
  step: PlanStep;
  /** The shifts applied so far, oldest first: a bake names the step an alarm transitioned in from them. */
  shifts: StepShift[];
  /** Set by the deploy step; null before it. */
  rollout: Rollout | null;
  /** What the step before this one wants a person to read in the execution (e.g. an inconclusive bake passed). */
  note?: string;
  /** The waits people ended early by promoting the release (`shipline promote`), oldest first. */
  promotions?: StepPromotion[];
}

/** A person ended a bake (or the rollback window) early as passed: who, why, and whether the rest was skipped. */
export interface StepPromotion {
  /** The plan index of the step whose wait was ended. */
  index: number;
  by: string;
  reason: string;
  full: boolean;
  at: string;
  /** Who promoted (CLI principal or Slack user), when the command said. */
  actor?: Actor;
}

/** What Prepare hands to every later state. */
export interface Deployment {
  /** The execution name: unique per service and image digest. */
  id: string;
  service: string;
  requestedAt: string;
  startedAt: string;
  fromVersion: string;
  toVersion: string;
  image: { digest: string; uri: string; tag?: string };
  target: ReleaseTarget;
  /** Alarms watched during every bake (service alarms plus the new slot's alarms). */
  alarms: string[];
  plan: ReleasePlan;
  topicArn: string;
  /** When the change was made and where that time came from, when the request said (DORA lead time). */
  changeTime?: { at: string; source: 'oci-label' | 'deploy-request' | 'push' };
}

export const BAKE_OUTCOMES = ['passed', 'failed', 'inconclusive'] as const;
export type BakeOutcomeValue = (typeof BAKE_OUTCOMES)[number];

/**
 * How a bake (or a wait for the new version) ended. Decisions are data; the state machine routes them.
 *
 * - `passed`: no watched alarm went to ALARM during the bake, and at least one gave data for part of it.
 * - `failed`: a watched alarm went to ALARM after the release started (event, state or history), or a
 *   watched alarm no longer exists.
 * - `inconclusive`: nothing failed, but a watched alarm told nothing for the WHOLE bake: it is in
 *   INSUFFICIENT_DATA at the confirm, and its history holds no state update from the bake's start to now
 *   (so it was in INSUFFICIENT_DATA already when the bake began and never left it). One such alarm makes the
 *   bake inconclusive: an alarm with no data cannot say the new version is healthy. The step's
 *   `inconclusive` policy decides what that means for the release.
 */
export interface BakeOutcome {
  outcome: BakeOutcomeValue;
  reason: string;
  /** The alarm that failed the bake (or, inconclusive, the first one that told nothing), if any. */
  alarm?: string;
  /** Inconclusive: every watched alarm that stayed INSUFFICIENT_DATA for the whole bake. */
  silentAlarms?: string[];
  /** When the alarm changed state (ISO), for reaction-time accounting. */
  alarmChangedAt?: string;
}

/** Final outcomes as users read them; `ignored`: nothing to do (the pushed digest already serves 100%). */
export const RELEASE_OUTCOMES = [
  'promoted',
  'rolled_back',
  'failed',
  'rejected',
  'superseded',
  'ignored',
] as const;
export type ReleaseOutcome = (typeof RELEASE_OUTCOMES)[number];

/** An error caught by a state machine Catch: `{ Error, Cause }`. */
export interface CaughtFailure {
  Error: string;
  Cause?: string;
}
