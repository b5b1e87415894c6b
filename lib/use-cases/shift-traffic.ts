import { now } from '../clock.ts';
import { currentStep, nextCursor } from '../domain/cursor.ts';
import type { Deployment, StepCursor } from '../domain/types.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { TargetDriver } from '../ports/target-driver.ts';
import { recordTransition } from './transitions.ts';

/** The ports of the traffic steps: the driver moves traffic, the record and the topic tell where it is. */
export interface TrafficPorts {
  driver: TargetDriver;
  store: ReleaseStore;
  events?: ReleaseEvents;
}

/**
 * The shift step: applies its weights and records the release's progress. Idempotent. Returns the next
 * step's cursor, with this shift stamped (after the weights took effect: a transition before it belongs to
 * the previous step).
 */
export const shiftTraffic = async (
  ports: TrafficPorts,
  deployment: Deployment,
  cursor: StepCursor,
): Promise<StepCursor> => {
  const step = currentStep(cursor, 'shift');
  await ports.driver.setTraffic(deployment.target, step.percent);
  await recordTransition(
    ports,
    deployment,
    cursor,
    {
      kind: 'step',
      text: `${step.percent}% of production traffic now goes to ${deployment.toVersion}`,
      facts: { phase: 'begin', newPercent: step.percent },
    },
    { currentPercent: step.percent },
  );
  return nextCursor(deployment.plan, cursor, {
    shifts: [...cursor.shifts, { percent: step.percent, shiftedAt: now().toISOString() }],
  });
};

/**
 * The swap step (blue/green): all production traffic to the new version in one call. Recorded as a shift
 * to 100%, so a later bake names it and the rollback puts it back in one call too.
 */
export const swapTraffic = async (
  ports: TrafficPorts,
  deployment: Deployment,
  cursor: StepCursor,
): Promise<StepCursor> => {
  currentStep(cursor, 'swap');
  await ports.driver.setTraffic(deployment.target, 100);
  await recordTransition(
    ports,
    deployment,
    cursor,
    {
      kind: 'step',
      text: `All production traffic swapped to ${deployment.toVersion}`,
      facts: { phase: 'begin', newPercent: 100 },
    },
    { currentPercent: 100 },
  );
  return nextCursor(deployment.plan, cursor, {
    shifts: [...cursor.shifts, { percent: 100, shiftedAt: now().toISOString() }],
  });
};

/**
 * The test-traffic step: points the test route at the new version (on) or back at the stable one (off).
 * Production traffic is not touched.
 */
export const switchTestTraffic = async (
  ports: Pick<TrafficPorts, 'driver'> & Partial<TrafficPorts>,
  deployment: Deployment,
  cursor: StepCursor,
): Promise<StepCursor> => {
  const step = currentStep(cursor, 'test-traffic');
  await ports.driver.setTestTraffic(deployment.target, step.on);
  await recordTransition(ports, deployment, cursor, {
    kind: 'step',
    text: step.on
      ? `The test route now reaches ${deployment.toVersion}`
      : `The test route is back on ${deployment.fromVersion}`,
    facts: { phase: 'begin' },
  });
  return nextCursor(deployment.plan, cursor);
};

/** The traffic steps one function carries out (they need the same ELB actions): shift, swap, test-traffic. */
export const moveTraffic = (
  ports: TrafficPorts,
  deployment: Deployment,
  cursor: StepCursor,
): Promise<StepCursor> => {
  switch (cursor.step.kind) {
    case 'swap':
      return swapTraffic(ports, deployment, cursor);
    case 'test-traffic':
      return switchTestTraffic(ports, deployment, cursor);
    default:
      return shiftTraffic(ports, deployment, cursor);
  }
};
