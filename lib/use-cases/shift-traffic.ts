import { now } from '../clock.ts';
import type { Deployment, ShiftStep, StepShift } from '../domain/types.ts';
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

export interface ShiftResult {
  step: number;
  percent: number;
  weights: Record<string, number>;
  /** True on the plan's last step: after its bake passes, the release is promoted. */
  last: boolean;
  /** The shifts so far, this one last: the bakes name the step an alarm transitioned in from them. */
  shifts: StepShift[];
}

/** Applies one plan step's weights and records the release's progress. Idempotent. */
export const shiftTraffic = async (
  ports: { router: TrafficRouter; store: ReleaseStore },
  deployment: Deployment,
  step: ShiftStep,
  previous: readonly StepShift[] = [],
): Promise<ShiftResult> => {
  await setCanaryPercent(ports.router, deployment, step.percent);
  await ports.store.updateRecord(deployment.service, deployment.requestedAt, deployment.id, {
    currentPercent: step.percent,
  });
  return {
    step: step.index + 1,
    percent: step.percent,
    weights: {
      [deployment.target.stable.name]: 100 - step.percent,
      [deployment.target.canary.name]: step.percent,
    },
    last: step.index === deployment.plan.steps.length - 1,
    // Stamped after the weights took effect: a transition before this belongs to the previous step.
    shifts: [...previous, { percent: step.percent, shiftedAt: now().toISOString() }],
  };
};
