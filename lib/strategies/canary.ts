import type { CanaryStrategyConfig, ServiceConfig } from '../config/schema.ts';
import type { ReleasePlan } from '../domain/plan.ts';
import { type PlanContext, planInShares } from './steps.ts';

/**
 * Canary: deploy to the idle slot, wait until it is ready, run the checks, then shift each configured share
 * and bake it while the alarms are watched, up to 100%, and retire the old slot. The 100% step bakes too:
 * the old slot is still warm then, so a late regression rolls back instantly.
 */
export const planCanary = (
  service: ServiceConfig & { strategy: CanaryStrategyConfig },
  context: PlanContext,
): ReleasePlan => planInShares('canary', service, service.strategy.steps, context);
