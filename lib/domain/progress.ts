/**
 * Where a running release is and who steered it: the facts `shipline status`, the Slack thread, the DORA
 * metrics and the report read. The release's functions record them on its release record at each
 * transition and publish each transition on the pipeline's internal release-events topic.
 */
import type { NotificationKind } from './notifications.ts';
import type { StepKind } from './plan.ts';

/** What a release is doing now, in words a person on call reads. */
export const RELEASE_STATES = [
  'queued',
  'deploying',
  'waiting-ready',
  'shifting',
  'baking',
  'checking',
  'paused',
  'swapping',
  'rollback-window',
  'rolling-back',
  'promoted',
  'rolled-back',
  'failed',
  'superseded',
] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

/** A release's position in its plan, as its functions last recorded it. */
export interface ReleaseProgress {
  /** Grows with each recorded transition: a reader that sees two keeps the one with the larger sequence. */
  sequence: number;
  /** 1-based position of the current step; 0 before the first step. */
  step: number;
  /** The plan's step count. */
  steps: number;
  kind?: StepKind;
  /** The step's runbook label, e.g. "Shift 25% to green". */
  label?: string;
  state: ReleaseState;
  /** Percent of production traffic on the new version. */
  newPercent: number;
  /**
   * On an ending that moved traffic back (a rollback), the largest share the new version had reached
   * through the plan's shifts: where the release got to ("rolled back at step 6 of 9 (25%)").
   */
  reachedPercent?: number;
  /** When the current step began (ISO 8601). */
  stepStartedAt: string;
  /** When the current wait ends if nothing ends it sooner: a bake, a pause, the rollback window. */
  endsAt?: string;
  /** The alarms the current step watches. */
  watchedAlarms?: string[];
  updatedAt: string;
}

/** The commands a person can give a release, from the CLI or a Slack button. */
export const OPERATOR_COMMANDS = [
  'deploy',
  'promote',
  'promote-full',
  'abort',
  'rollback',
  'resume',
  'reject',
] as const;
export type OperatorCommand = (typeof OPERATOR_COMMANDS)[number];

/** Who gave a command, and through what. */
export interface Actor {
  via: 'cli' | 'slack';
  /** The AWS principal ARN (CLI, from STS GetCallerIdentity), or `slack:<team id>/<user id>`. */
  id: string;
  /** A display name when known (the Slack user name). */
  name?: string;
}

/** One command a person gave a release, kept on its release record (who did what, when, why). */
export interface OperatorAction {
  at: string;
  command: OperatorCommand;
  actor: Actor;
  reason?: string;
  /** What the command did, in one sentence ("the bake of step 4 ended as passed"). */
  result: string;
}

/**
 * What a bake's (or rollback window's) task returns when a person promotes the release (`shipline promote`,
 * Slack "Promote now"): the bake ends as passed; with `full`, the rest of the plan's shifts go to 100% at once
 * and its remaining bakes, checks and pauses are skipped.
 */
export interface BakePromotion {
  outcome: 'promoted';
  full: boolean;
  by: string;
  reason: string;
  /** Who promoted, so the transitions it causes say "by alice via Slack" (absent from older commands). */
  actor?: Actor;
}

/** The kind of a message on the release-events topic: a notification kind, or one plan transition. */
export type ReleaseEventKind = NotificationKind | 'step';

/**
 * One message on the internal release-events topic (SNS, JSON body; SNS attribute `event` = kind): every
 * transition of every release, with the release's progress after it. The Slack and metrics functions
 * subscribe to it; users' own notification topics keep only the notification kinds.
 */
export interface ReleaseEventMessage {
  version: 1;
  kind: ReleaseEventKind;
  service: string;
  environment: string;
  releaseId: string;
  executionArn?: string;
  region: string;
  strategy: string;
  fromVersion?: string;
  toVersion: string;
  /** The image digest being released. */
  digest?: string;
  /** What happened, in one sentence ("Shifted 25% of traffic to green"). */
  text: string;
  reason?: string;
  progress: ReleaseProgress;
  /** Set on the kinds that end a release. */
  outcome?: 'promoted' | 'rolled_back' | 'failed' | 'superseded';
  /** When the release was requested and, for ended releases, when it ended (ISO 8601). */
  requestedAt: string;
  endedAt?: string;
  /** The time the change was made, when known, and where that time came from (DORA lead time). */
  changeTime?: { at: string; source: 'oci-label' | 'deploy-request' | 'push' };
  /** Set when a person's command caused this transition. */
  actor?: Actor;
  at: string;
}
