import type { AllAtOnceStrategyConfig, ServiceConfig } from '../config/schema.ts';
import type { ReleasePlan } from '../domain/plan.ts';
import {
  assemble,
  awaitReadyStep,
  bakeStep,
  checkSteps,
  checksBeforeTraffic,
  deployStep,
  type PlanContext,
  retireStep,
  shiftStep,
} from './steps.ts';

/**
 * All at once. On ecs-alb: deploy to the idle slot, checks, one shift to 100%, one bake (the old slot stays
 * warm, so rolling back is one call). On ecs-rolling the rolling update is the shift: the new tasks take
 * production traffic as they start, so the alarms count during the rollout (await-ready), the checks run
 * on the new version in place, and one bake follows.
 */
export const planAllAtOnce = (
  service: ServiceConfig & { strategy: AllAtOnceStrategyConfig },
  context: PlanContext,
): ReleasePlan =>
  service.target.type === 'ecs-rolling'
    ? assemble('all-at-once', [
        deployStep(service, context),
        awaitReadyStep(service, context),
        ...checkSteps(service),
        bakeStep(service, service.strategy.bake, context),
        retireStep(service, context),
      ])
    : assemble('all-at-once', [
        deployStep(service, context),
        awaitReadyStep(service, context),
        ...checksBeforeTraffic(service, context),
        shiftStep(100, context),
        bakeStep(service, service.strategy.bake, context),
        retireStep(service, context),
      ]);
