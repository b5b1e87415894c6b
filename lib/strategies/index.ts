import type { ServiceConfig } from '../config/schema.ts';
import type { ReleasePlan } from '../domain/plan.ts';
import type { SlotName } from '../domain/types.ts';
import { planCanary } from './canary.ts';

/** What the plan depends on besides the config: the slot the new version goes to (slotted targets). */
export interface PlanContext {
  newSlot?: SlotName;
}

/** The one dispatch point from a service's configured strategy to its plan. */
export const buildPlan = (service: ServiceConfig, context: PlanContext): ReleasePlan => {
  const { strategy } = service;
  switch (strategy.type) {
    case 'canary':
      return planCanary(strategy, service.target, context.newSlot ?? 'green');
  }
};
