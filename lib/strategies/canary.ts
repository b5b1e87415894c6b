import type { z } from 'zod';
import {
  rollbackWindowSecondsOf,
  scaleDownDelaySecondsOf,
  steadyTimeoutSecondsOf,
} from '../config/lookup.ts';
import type { canaryStrategySchema, ServiceConfig } from '../config/schema.ts';
import type { PlanStep, ReleasePlan } from '../domain/plan.ts';
import type { SlotName } from '../domain/types.ts';
import { formatDuration, parseDurationSeconds } from '../duration.ts';

export type CanaryStrategy = z.output<typeof canaryStrategySchema>;

type StepDraft = PlanStep extends infer S ? (S extends PlanStep ? Omit<S, 'index'> : never) : never;

/**
 * Canary: deploy to the idle slot, wait until it is ready, then per configured percentage one shift and one
 * bake while alarms are watched, then retire the old slot. The 100% step bakes too: the old slot is still
 * warm then, so a late regression rolls back instantly.
 */
export const planCanary = (
  strategy: CanaryStrategy,
  target: ServiceConfig['target'],
  newSlot: SlotName,
): ReleasePlan => {
  const oldSlot: SlotName = newSlot === 'blue' ? 'green' : 'blue';
  const rollbackWindowSeconds = rollbackWindowSecondsOf(target);
  const drafts: StepDraft[] = [
    { kind: 'deploy', label: `Deploy the new version to ${newSlot}` },
    {
      kind: 'await-ready',
      label: `Wait until ${newSlot} is ready (at most ${formatDuration(steadyTimeoutSecondsOf(target))})`,
      timeoutSeconds: steadyTimeoutSecondsOf(target),
    },
  ];
  for (const step of strategy.steps) {
    const percent = typeof step === 'number' ? step : step.percent;
    const bake = typeof step === 'number' ? strategy.bake : (step.bake ?? strategy.bake);
    const seconds = parseDurationSeconds(bake) ?? 0;
    drafts.push(
      { kind: 'shift', label: `Shift ${percent}% to ${newSlot}`, percent },
      {
        kind: 'bake',
        label: `Bake ${formatDuration(seconds)} at ${percent}% watching alarms`,
        seconds,
        inconclusive: 'fail',
      },
    );
  }
  drafts.push({
    kind: 'retire',
    label: `Promote ${newSlot}, watch alarms ${formatDuration(rollbackWindowSeconds)} with ${oldSlot} warm, then scale ${oldSlot} down`,
    rollbackWindowSeconds,
    // The old slot stays warm for the scale-down delay even when the rollback window is shorter.
    warmAfterWindowSeconds: Math.max(0, scaleDownDelaySecondsOf(target) - rollbackWindowSeconds),
  });
  const steps = drafts.map((draft, index) => ({ ...draft, index }) as PlanStep);
  return {
    strategy: 'canary',
    steps,
    totalBakeSeconds: steps.reduce((sum, step) => sum + (step.kind === 'bake' ? step.seconds : 0), 0),
  };
};
