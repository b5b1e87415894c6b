import type { LinearStrategyConfig, ServiceConfig } from '../config/schema.ts';
import type { ReleasePlan } from '../domain/plan.ts';
import {
  assemble,
  awaitReadyStep,
  checksBeforeTraffic,
  deployStep,
  type PlanContext,
  retireStep,
  shiftsAndBakes,
} from './steps.ts';

/**
 * Linear: like a canary whose shares grow by `stepPercent` every `interval` (the schema lays the shares
 * out: 10% every 3m is 10, 20, ..., 100, each baked 3m).
 */
export const planLinear = (
  service: ServiceConfig & { strategy: LinearStrategyConfig },
  context: PlanContext,
): ReleasePlan =>
  assemble('linear', [
    deployStep(service, context),
    awaitReadyStep(service, context),
    ...checksBeforeTraffic(service, context),
    ...shiftsAndBakes(service, service.strategy.steps, context),
    retireStep(service, context),
  ]);
