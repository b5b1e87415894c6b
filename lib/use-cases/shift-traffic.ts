import { now } from '../clock.ts';
import { currentStep, nextCursor } from '../domain/cursor.ts';
import type { Deployment, StepCursor } from '../domain/types.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { TrafficRoute, TrafficRouter } from '../ports/traffic-router.ts';

export const routeOf = (deployment: Deployment): TrafficRoute => ({
  kind: 'alb-listener-rule',
  listenerRuleArn: deployment.target.listenerRuleArn,
});

/** Sends `percent` of traffic to the new slot, the rest to the stable slot. */
export const setCanaryPercent = (
  router: TrafficRouter,
  deployment: Deployment,
  percent: number,
): Promise<void> =>
  router.setWeights(routeOf(deployment), {
    stable: deployment.target.stable.targetGroupArn,
    canary: deployment.target.canary.targetGroupArn,
    canaryPercent: percent,
  });

/**
 * The shift step: applies its weights and records the release's progress. Idempotent. Returns the next
 * step's cursor, with this shift stamped (after the weights took effect: a transition before it belongs to
 * the previous step).
 */
export const shiftTraffic = async (
  ports: { router: TrafficRouter; store: ReleaseStore },
  deployment: Deployment,
  cursor: StepCursor,
): Promise<StepCursor> => {
  const step = currentStep(cursor, 'shift');
  await setCanaryPercent(ports.router, deployment, step.percent);
  await ports.store.updateRecord(deployment.service, deployment.requestedAt, deployment.id, {
    currentPercent: step.percent,
  });
  return nextCursor(deployment.plan, cursor, {
    shifts: [...cursor.shifts, { percent: step.percent, shiftedAt: now().toISOString() }],
  });
};
