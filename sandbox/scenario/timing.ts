import { parseDurationSeconds } from '../../lib/duration.ts';
import { deliveryRuleProblems } from '../aws/delivery.ts';
import type { Timing } from '../aws/timing.ts';
import { type SimulatedWorld, SNS_DETAIL_TYPE } from '../aws/world.ts';
import { didYouMean } from './faults.ts';
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
 * The detail-types each deployed function can receive: those its EventBridge rules name, `SNS Notification`
 * when it subscribes to a topic; `undefined` when a rule takes any detail-type (no `detail-type`, or a
 * content filter such as a prefix).
 */
const receivableDetailTypes = (world: SimulatedWorld): Map<string, Set<string> | undefined> => {
  const receivable = new Map<string, Set<string> | undefined>();
  for (const fn of world.lambda.functions.values()) {
    let types: Set<string> | undefined = new Set();
    for (const pattern of world.eventPatterns.get(fn.key) ?? fn.eventPatterns) {
      const named = pattern['detail-type'];
      if (!Array.isArray(named) || !named.every((value) => typeof value === 'string')) {
        types = undefined;
        break;
      }
      for (const value of named) types.add(value);
    }
    if (types && (world.snsSubscriptions.get(fn.key)?.length ?? 0) > 0) types.add(SNS_DETAIL_TYPE);
    receivable.set(fn.key, types);
  }
  return receivable;
};

/**
 * A delivery fault (or a lost event) on a detail-type its function, or no function at all, ever receives
 * could never apply: the scenario would pass for the wrong reason. One message per rule, naming its path.
 */
const detailTypeProblems = (world: SimulatedWorld, scenario: Scenario['world']): string[] => {
  const receivable = receivableDetailTypes(world);
  const known = (fn: string | undefined): Set<string> | undefined => {
    const all = new Set<string>();
    for (const [key, types] of receivable) {
      if (fn !== undefined && key !== fn) continue;
      if (types === undefined) return undefined;
      for (const type of types) all.add(type);
    }
    return all;
  };
  const problems: string[] = [];
  const check = (detailType: string, fn: string | undefined, path: string, viaSns = true): void => {
    const types = known(fn);
    if (types !== undefined && !viaSns) types.delete(SNS_DETAIL_TYPE);
    if (types === undefined || types.has(detailType)) return;
    const listed = [...types].sort();
    problems.push(
      `${path}.detailType: ${fn === undefined ? 'no deployed function receives' : `function ${fn} never receives`} "${detailType}"${didYouMean(detailType, listed)}; ${fn === undefined ? 'they receive' : 'it receives'} ${listed.join(', ')}`,
    );
  };
  scenario.delivery.forEach((rule, index) => {
    if (rule.fn === undefined || receivable.has(rule.fn))
      check(rule.detailType, rule.fn, `world.delivery[${index}]`);
  });
  scenario.dropEvents.forEach((drop, index) => {
    // EventBridge loses them: SNS deliveries are world.delivery's (detailType SNS Notification).
    check(drop.detailType, undefined, `world.dropEvents[${index}]`, false);
  });
  return problems;
};

/**
 * Installs the scenario's delivery faults (`world.delivery`, and the older `world.dropEvents`) in the world.
 * Returns the problems (a function no rule can reach, a detail-type no function receives), each naming its
 * path; nothing is installed then.
 */
export const installDeliveryFaults = (world: SimulatedWorld, scenario: Scenario['world']): string[] => {
  const problems = [
    ...deliveryRuleProblems(scenario.delivery, [...world.lambda.functions.keys()]),
    ...detailTypeProblems(world, scenario),
  ];
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
