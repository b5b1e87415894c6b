import { parseDurationSeconds } from '../../lib/duration.ts';
import { deliveryRuleProblems } from '../aws/delivery.ts';
import type { Timing } from '../aws/timing.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import type { Scenario } from './schema.ts';

const seconds = (value: string | number | undefined): number | undefined =>
  value === undefined ? undefined : parseDurationSeconds(value);

/** The scenario's `world.timing` (and the older `world.ecsDeploySeconds`) as overrides of AWS's defaults. */
export const scenarioTiming = (world: Scenario['world']): Partial<Timing> => {
  const t = world.timing;
  const entries: Array<[keyof Timing, number | undefined]> = [
    ['eventDeliveryMs', t.eventDeliveryMs],
    ['snsDeliveryMs', t.snsDeliveryMs],
    ['lambdaColdStartMs', t.lambdaColdStartMs],
    ['lambdaWarmStartMs', t.lambdaWarmStartMs],
    ['lambdaIdleReclaimSeconds', seconds(t.lambdaIdleReclaim)],
    ['apiCallMs', t.apiCallMs],
    ['ecsTaskStartSeconds', seconds(t.ecsTaskStart)],
    ['healthCheckIntervalSeconds', seconds(t.healthCheckInterval)],
    ['unhealthyThresholdCount', t.unhealthyThresholdCount],
    ['deregistrationDelaySeconds', seconds(t.deregistrationDelay)],
    ['ecsTaskHealthySeconds', world.ecsDeploySeconds],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
};

/**
 * Installs the scenario's delivery faults (`world.delivery`, and the older `world.dropEvents`) in the world.
 * Returns the problems (a function no rule can reach), each naming its path; nothing is installed then.
 */
export const installDeliveryFaults = (world: SimulatedWorld, scenario: Scenario['world']): string[] => {
  const problems = deliveryRuleProblems(scenario.delivery, [...world.lambda.functions.keys()]);
  if (problems.length > 0) return problems;
  for (const rule of scenario.delivery)
    world.delivery.add({
      detailType: rule.detailType,
      ...(rule.fn !== undefined ? { fn: rule.fn } : {}),
      ...(rule.match !== undefined ? { match: rule.match } : {}),
      delayMs: (seconds(rule.delay) ?? 0) * 1000,
      duplicates: rule.duplicate ?? 0,
      drop: rule.drop === true,
      remaining: rule.times,
    });
  return [];
};
