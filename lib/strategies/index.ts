import type { ServiceConfig } from '../config/schema.ts';
import type { ReleasePlan } from '../domain/plan.ts';
import { ConfigError } from '../errors.ts';
import { planAllAtOnce } from './all-at-once.ts';
import { planBlueGreen } from './blue-green.ts';
import { planCanary } from './canary.ts';
import { planLinear } from './linear.ts';
import type { PlanContext } from './steps.ts';

export { LEASE_MARGIN_SECONDS, leaseSecondsOf } from './lease.ts';
export type { PlanContext } from './steps.ts';

/**
 * The one dispatch point from a service's strategy to its plan: the ordered steps a release of it takes,
 * on its target. `newSlot` is the idle slot of an ecs-alb target (labels name it; unknown, they say "the
 * new slot"). A strategy the target does not take (the schema refuses it) is a ConfigError.
 */
export const buildPlan = (service: ServiceConfig, context: PlanContext): ReleasePlan => {
  const { strategy } = service;
  if (service.target.type === 'ecs-rolling' && strategy.type !== 'all-at-once') {
    throw new ConfigError(`an ecs-rolling target takes only all-at-once, not ${strategy.type}`);
  }
  switch (strategy.type) {
    case 'canary':
      return planCanary({ ...service, strategy }, context);
    case 'linear':
      return planLinear({ ...service, strategy }, context);
    case 'all-at-once':
      return planAllAtOnce({ ...service, strategy }, context);
    case 'blue-green':
      return planBlueGreen({ ...service, strategy }, context);
  }
};
