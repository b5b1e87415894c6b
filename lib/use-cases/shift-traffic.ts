import { now } from '../clock.ts';
import { currentStep, nextCursor } from '../domain/cursor.ts';
import type { Deployment, StepCursor } from '../domain/types.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { TargetDriver } from '../ports/target-driver.ts';

/**
 * The shift step: applies its weights and records the release's progress. Idempotent. Returns the next
 * step's cursor, with this shift stamped (after the weights took effect: a transition before it belongs to
 * the previous step).
 */
export const shiftTraffic = async (
  ports: { driver: TargetDriver; store: ReleaseStore },
  deployment: Deployment,
  cursor: StepCursor,
): Promise<StepCursor> => {
  const step = currentStep(cursor, 'shift');
  await ports.driver.setTraffic(deployment.target, step.percent);
  await ports.store.updateRecord(deployment.service, deployment.requestedAt, deployment.id, {
    currentPercent: step.percent,
  });
  return nextCursor(deployment.plan, cursor, {
    shifts: [...cursor.shifts, { percent: step.percent, shiftedAt: now().toISOString() }],
  });
};
