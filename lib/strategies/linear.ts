import type { LinearStrategyConfig, ServiceConfig } from '../config/schema.ts';
import type { ReleasePlan } from '../domain/plan.ts';
import { type PlanContext, planInShares } from './steps.ts';

/**
 * Linear: like a canary whose shares grow by `stepPercent` every `interval` (the schema lays the shares
 * out: 10% every 3m is 10, 20, ..., 100, each baked 3m).
 */
export const planLinear = (
  service: ServiceConfig & { strategy: LinearStrategyConfig },
  context: PlanContext,
): ReleasePlan => planInShares('linear', service, service.strategy.steps, context);
