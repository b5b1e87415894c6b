import type { z } from 'zod';
import type { canaryStrategySchema } from '../config/schema.ts';
import type { Plan, SlotName } from '../domain/types.ts';
import { formatDuration, parseDurationSeconds } from '../duration.ts';

export type CanaryStrategy = z.output<typeof canaryStrategySchema>;

/**
 * Canary: one shift step per configured percentage, each baked while alarms are watched.
 * The 100% step bakes too: the old slot is still warm then, so a late regression rolls back instantly.
 */
export const planCanary = (strategy: CanaryStrategy, canarySlot: SlotName): Plan => {
  const steps = strategy.steps.map((step, index) => {
    const percent = typeof step === 'number' ? step : step.percent;
    const bake = typeof step === 'number' ? strategy.bake : (step.bake ?? strategy.bake);
    const bakeSeconds = parseDurationSeconds(bake) ?? 0;
    return {
      kind: 'shift' as const,
      index,
      percent,
      bakeSeconds,
      label: `Shift ${percent}% to ${canarySlot}, bake ${formatDuration(bakeSeconds)}`,
    };
  });
  return {
    strategy: 'canary',
    steps,
    totalBakeSeconds: steps.reduce((sum, step) => sum + step.bakeSeconds, 0),
  };
};
