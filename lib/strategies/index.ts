import type { StrategyConfig } from '../config/schema.ts';
import type { Plan, SlotName } from '../domain/types.ts';
import { planCanary } from './canary.ts';

/** The one dispatch point from a configured strategy to its plan. */
export const buildPlan = (strategy: StrategyConfig, canarySlot: SlotName): Plan => {
  switch (strategy.type) {
    case 'canary':
      return planCanary(strategy, canarySlot);
  }
};
