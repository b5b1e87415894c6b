import { matchesEventPattern } from '../eventbridge/pattern.ts';

/**
 * A delivery fault a scenario injects (`world.delivery`): EventBridge delivers at least once and in no
 * particular order (EventBridge User Guide, "Event delivery"; retries for up to 24 hours), so an event may
 * reach a function late, more than once, or (from a best-effort source) never. Reordering two events is
 * delaying the first past the second.
 */
export interface DeliveryRule {
  detailType: string;
  /** Only deliveries to this function (serverless.yml key); every matching function when absent. */
  fn?: string;
  /** An EventBridge pattern the event must also match, e.g. `{ detail: { state: { value: [ALARM] } } }`. */
  match?: Record<string, unknown>;
  delayMs: number;
  duplicates: number;
  drop: boolean;
  /** How many more events this rule applies to. */
  remaining: number;
}

/** What happens to one event's delivery to one function. */
export interface DeliveryPlan {
  drop: boolean;
  delayMs: number;
  duplicates: number;
}

const ON_TIME: DeliveryPlan = { drop: false, delayMs: 0, duplicates: 0 };

/** The scenario's delivery faults, consumed event by event. */
export class DeliveryFaults {
  public readonly rules: DeliveryRule[] = [];

  public add(rule: DeliveryRule): void {
    this.rules.push(rule);
  }

  /**
   * How the event reaches each of `targets`. A rule applies to the first `times` events it matches (an
   * event counts once however many of its targets the rule affects); each target takes the first rule.
   */
  public plan(event: Record<string, unknown>, targets: readonly string[]): Map<string, DeliveryPlan> {
    const plans = new Map<string, DeliveryPlan>();
    if (this.rules.length === 0) return plans;
    for (const rule of this.rules) {
      if (rule.remaining <= 0 || rule.detailType !== event['detail-type']) continue;
      if (rule.match && !matchesEventPattern(rule.match, event)) continue;
      const affected = targets.filter((fn) => (rule.fn === undefined || rule.fn === fn) && !plans.has(fn));
      if (affected.length === 0) continue;
      rule.remaining -= 1;
      for (const fn of affected)
        plans.set(fn, { drop: rule.drop, delayMs: rule.delayMs, duplicates: rule.duplicates });
    }
    return plans;
  }

  public planFor(plans: Map<string, DeliveryPlan>, fn: string): DeliveryPlan {
    return plans.get(fn) ?? ON_TIME;
  }
}

/**
 * Checks the scenario's rules against the deployed functions: an unknown function name is an error naming
 * the rule's path. Returns the problems (empty when all is well).
 */
export const deliveryRuleProblems = (
  rules: ReadonlyArray<{ fn?: string | undefined }>,
  functions: readonly string[],
  path = 'world.delivery',
): string[] =>
  rules.flatMap((rule, index) =>
    rule.fn !== undefined && !functions.includes(rule.fn)
      ? [
          `${path}[${index}].fn: no function "${rule.fn}" is deployed (serverless.yml declares ${functions.join(', ')})`,
        ]
      : [],
  );
