/**
 * The plan vocabulary: a release is an ordered list of steps, each with one job. A strategy is a plan
 * builder (lib/strategies/); the state machine dispatches on `kind` with one Choice; each target kind's
 * driver (lib/ports/target-driver.ts) carries the steps out on its platform. Steps are data: they travel
 * in the execution's state, so they stay small and hold seconds, never duration strings.
 */

export const STEP_KINDS = [
  'deploy',
  'await-ready',
  'shift',
  'bake',
  'test-traffic',
  'check',
  'swap',
  'pause',
  'retire',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

interface StepBase {
  /** Position in the plan, from 0. */
  index: number;
  /** Runbook wording a person reads in the console and in notifications, e.g. "Shift 25% to green". */
  label: string;
}

/** Runs the new version where it takes no production traffic yet (idle slot, or a rolling update). */
export interface DeployStep extends StepBase {
  kind: 'deploy';
}

/**
 * Waits until the new version runs its full task count (or the rollout completes), resumed by the
 * platform's event; the timeout leads to a direct check. On a rolling target the watched alarms count
 * during this wait too (production traffic reaches the new tasks while they roll out).
 */
export interface AwaitReadyStep extends StepBase {
  kind: 'await-ready';
  timeoutSeconds: number;
  /**
   * The new version takes production traffic while it gets ready (a rolling update): the watched alarms
   * count during the wait, and one going to ALARM ends it as not ready at once. Absent: nothing watched.
   */
  watchAlarms?: true;
}

/** Sends `percent` of production traffic to the new version, the rest to the stable one. */
export interface ShiftStep extends StepBase {
  kind: 'shift';
  percent: number;
}

/** What a bake whose watched alarms stayed INSUFFICIENT_DATA the whole time means for the release. */
export const INCONCLUSIVE_POLICIES = ['fail', 'pass', 'pause'] as const;
export type InconclusivePolicy = (typeof INCONCLUSIVE_POLICIES)[number];

/** Holds the current traffic while the watched alarms are watched (event-driven; confirmed at the end). */
export interface BakeStep extends StepBase {
  kind: 'bake';
  seconds: number;
  /** The service's choice for an inconclusive bake. */
  inconclusive: InconclusivePolicy;
  /**
   * With `inconclusive: pause`: how long an inconclusive bake waits for a person (the service's
   * `inconclusivePauseTimeout`) before the release rolls back. Absent under any other policy.
   */
  inconclusivePauseSeconds?: number;
}

/** Points the test route (e.g. a test listener rule) at the new version, or back at the stable one. */
export interface TestTrafficStep extends StepBase {
  kind: 'test-traffic';
  on: boolean;
}

/** A smoke test: a Lambda function the user names, or an HTTP request from the pipeline. */
export type SmokeTest =
  | {
      type: 'lambda';
      /** Function name or ARN; invoked with the release and the test URL, answers `{ passed, reason? }`. */
      functionName: string;
    }
  | {
      type: 'http';
      /** Path (with query) requested on the test route, e.g. `/health`. */
      path: string;
      /** The status the check expects (default 200). */
      expectStatus: number;
    };

/** Runs one smoke test against the new version; a failure before any swap never touched production. */
export interface CheckStep extends StepBase {
  kind: 'check';
  /** The check's name as configured, e.g. "login-smoke". */
  name: string;
  test: SmokeTest;
  timeoutSeconds: number;
}

/** Moves all production traffic to the new version in one call (blue/green). */
export interface SwapStep extends StepBase {
  kind: 'swap';
}

/** Waits for a person: resumed by a promote/approve command, or timed out. */
export interface PauseStep extends StepBase {
  kind: 'pause';
  timeoutSeconds: number;
  /** What the timeout means: roll back (`fail`, the default) or go on (`continue`). */
  onTimeout: 'fail' | 'continue';
}

/**
 * Promotes, hands the service on, keeps the old version warm and watched for the rollback window (an
 * alarm then rolls back at once), then scales the old version down.
 */
export interface RetireStep extends StepBase {
  kind: 'retire';
  rollbackWindowSeconds: number;
  /** How much longer the old version stays warm after a quiet window (scale-down delay minus the window). */
  warmAfterWindowSeconds: number;
}

export type PlanStep =
  | DeployStep
  | AwaitReadyStep
  | ShiftStep
  | BakeStep
  | TestTrafficStep
  | CheckStep
  | SwapStep
  | PauseStep
  | RetireStep;

/** The steps of one release, as the strategy built them for the service's target. */
export interface ReleasePlan {
  strategy: 'canary' | 'linear' | 'all-at-once' | 'blue-green';
  steps: PlanStep[];
  /** Sum of all bakes: the least time the release takes. */
  totalBakeSeconds: number;
}
