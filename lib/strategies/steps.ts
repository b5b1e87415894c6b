import type { CheckConfig, ServiceConfig } from '../config/schema.ts';
import type { PlanStep, ReleasePlan, SmokeTest } from '../domain/plan.ts';
import { formatDuration } from '../duration.ts';

/**
 * The pieces every plan builder shares: the steps in the words of the runbook, numbered in order. Labels
 * name the new slot when it is known (`green`), else "the new slot" (a plan shown before a release, when
 * which slot is idle is not known yet).
 */

/** What a plan builder is given besides the service. */
export interface PlanContext {
  /** The idle slot the new version goes to (ecs-alb); unknown before a release, e.g. in `shipline plan`. */
  newSlot?: 'blue' | 'green';
}

/** A step as a builder writes it; `index` is given when the plan is assembled. */
type DraftStep = PlanStep extends infer S ? (S extends PlanStep ? Omit<S, 'index'> : never) : never;

/** Numbers the steps and sums the bakes. */
export const assemble = (strategy: ReleasePlan['strategy'], drafts: DraftStep[]): ReleasePlan => {
  const steps = drafts.map((draft, index) => ({ ...draft, index }) as PlanStep);
  return {
    strategy,
    steps,
    totalBakeSeconds: steps.reduce((sum, step) => sum + (step.kind === 'bake' ? step.seconds : 0), 0),
  };
};

/** How labels name the slots of an ecs-alb release. */
export const slotWords = (context: PlanContext): { newSlot: string; oldSlot: string } =>
  context.newSlot
    ? { newSlot: context.newSlot, oldSlot: context.newSlot === 'blue' ? 'green' : 'blue' }
    : { newSlot: 'the new slot', oldSlot: 'the old slot' };

/** "3 alarms", "1 alarm", "no alarm"; with the new slot unknown and slot alarms that differ, a range. */
const alarmCount = (service: ServiceConfig, context: PlanContext): string => {
  const { target } = service;
  const count = (slotAlarms: readonly string[]) => new Set([...service.alarms, ...slotAlarms]).size;
  let counts: number[];
  if (target.type !== 'ecs-alb') counts = [count([])];
  else if (context.newSlot) counts = [count(target.slots[context.newSlot].alarms)];
  else counts = [count(target.slots.blue.alarms), count(target.slots.green.alarms)];
  const low = Math.min(...counts);
  const high = Math.max(...counts);
  if (high === 0) return 'no alarm';
  return low === high ? `${low} alarm${low === 1 ? '' : 's'}` : `${low} to ${high} alarms`;
};

/** Runs the new version where it takes no production traffic yet (idle slot), or starts the rolling update. */
export const deployStep = (service: ServiceConfig, context: PlanContext): DraftStep =>
  service.target.type === 'ecs-alb'
    ? { kind: 'deploy', label: `Deploy the new version to ${slotWords(context).newSlot}` }
    : { kind: 'deploy', label: `Start a rolling update of ${service.target.service} to the new version` };

/** Waits for the new version to run its full count (ecs-alb) or the rollout to complete (ecs-rolling). */
export const awaitReadyStep = (service: ServiceConfig, context: PlanContext): DraftStep => {
  const timeoutSeconds = service.target.steadyTimeout;
  const within = `(at most ${formatDuration(timeoutSeconds)})`;
  return service.target.type === 'ecs-alb'
    ? {
        kind: 'await-ready',
        timeoutSeconds,
        label: `Wait until ${slotWords(context).newSlot} is ready ${within}`,
      }
    : {
        kind: 'await-ready',
        timeoutSeconds,
        // The new tasks take production traffic as they start: the alarms count during the rollout.
        watchAlarms: true,
        label: `Wait until the rollout completes ${within}, watching ${alarmCount(service, context)}`,
      };
};

/** A configured check as the plan's smoke test. */
export const smokeTestOf = (check: CheckConfig): SmokeTest =>
  'lambda' in check
    ? { type: 'lambda', functionName: check.lambda }
    : { type: 'http', path: check.http.path, expectStatus: check.http.expectStatus };

/** One step per configured check, in order. */
export const checkSteps = (service: ServiceConfig): DraftStep[] =>
  service.strategy.checks.map((check) => {
    const test = smokeTestOf(check);
    const what =
      test.type === 'lambda'
        ? `Lambda ${test.functionName}`
        : `GET ${test.path} expects ${test.expectStatus}`;
    return {
      kind: 'check',
      name: check.name,
      test,
      timeoutSeconds: check.timeout,
      label: `Check ${check.name}: ${what}`,
    };
  });

/** Test traffic on or off; only a target with a test route has these steps. */
export const testTrafficStep = (on: boolean, context: PlanContext): DraftStep => {
  const { newSlot, oldSlot } = slotWords(context);
  return on
    ? { kind: 'test-traffic', on, label: `Send test traffic to ${newSlot}` }
    : { kind: 'test-traffic', on, label: `Send test traffic back to ${oldSlot}` };
};

/**
 * The checks before any production traffic. On an ecs-alb target with a test route they run against it:
 * the route points at the new slot for the checks and back at the stable slot after.
 */
export const checksBeforeTraffic = (service: ServiceConfig, context: PlanContext): DraftStep[] => {
  const checks = checkSteps(service);
  const { target } = service;
  if (checks.length === 0 || target.type !== 'ecs-alb' || target.testListenerRuleArn === undefined)
    return checks;
  return [testTrafficStep(true, context), ...checks, testTrafficStep(false, context)];
};

/** Sends `percent` of production traffic to the new slot. */
export const shiftStep = (percent: number, context: PlanContext): DraftStep => ({
  kind: 'shift',
  percent,
  label: `Shift ${percent}% to ${slotWords(context).newSlot}`,
});

/** Holds the traffic for `seconds` while the watched alarms are watched; carries the inconclusive policy. */
export const bakeStep = (service: ServiceConfig, seconds: number, context: PlanContext): DraftStep => ({
  kind: 'bake',
  seconds,
  inconclusive: service.inconclusive,
  ...(service.inconclusivePauseTimeout === undefined
    ? {}
    : { inconclusivePauseSeconds: service.inconclusivePauseTimeout }),
  label: `Bake ${formatDuration(seconds)} watching ${alarmCount(service, context)}`,
});

/**
 * Promotes and watches the rollback window; on ecs-alb the old slot stays warm for the scale-down delay
 * (the window, then `warmAfterWindowSeconds` more), on ecs-rolling nothing stays warm.
 */
export const retireStep = (service: ServiceConfig, context: PlanContext): DraftStep => {
  const { target } = service;
  if (target.type === 'ecs-rolling') {
    return {
      kind: 'retire',
      rollbackWindowSeconds: target.rollbackWindow,
      warmAfterWindowSeconds: 0,
      label:
        target.rollbackWindow > 0
          ? `Promote, then watch ${alarmCount(service, context)} for the ${formatDuration(target.rollbackWindow)} rollback window`
          : 'Promote',
    };
  }
  const { newSlot, oldSlot } = slotWords(context);
  const warmAfterWindowSeconds = Math.max(0, target.scaleDownDelay - target.rollbackWindow);
  const warm = target.rollbackWindow + warmAfterWindowSeconds;
  return {
    kind: 'retire',
    rollbackWindowSeconds: target.rollbackWindow,
    warmAfterWindowSeconds,
    label: `Promote ${newSlot}, watch the ${formatDuration(target.rollbackWindow)} rollback window, scale ${oldSlot} down after ${formatDuration(warm)}`,
  };
};

/** Shift and bake, for each share of a canary or linear strategy. */
export const shiftsAndBakes = (
  service: ServiceConfig,
  steps: readonly { percent: number; bakeSeconds: number }[],
  context: PlanContext,
): DraftStep[] =>
  steps.flatMap((step) => [shiftStep(step.percent, context), bakeStep(service, step.bakeSeconds, context)]);

export type { DraftStep };

/**
 * A plan that moves production traffic in growing shares (canary, linear): deploy, wait until ready, the
 * checks before any traffic, then shift and bake each share up to 100%, and retire the old version.
 */
export const planInShares = (
  strategy: 'canary' | 'linear',
  service: ServiceConfig,
  shares: readonly { percent: number; bakeSeconds: number }[],
  context: PlanContext,
): ReleasePlan =>
  assemble(strategy, [
    deployStep(service, context),
    awaitReadyStep(service, context),
    ...checksBeforeTraffic(service, context),
    ...shiftsAndBakes(service, shares, context),
    retireStep(service, context),
  ]);
