import type { ReleasePlan } from '../domain/plan.ts';
import type { Plan, ShiftStep } from '../domain/types.ts';
import { formatDuration } from '../duration.ts';
import { ConfigError } from '../errors.ts';

/**
 * The plan as the current state machine walks it: one step per share that shifts and then bakes
 * ("Shift 5% to green, bake 10m"). A bridge until the state machine dispatches on the single-purpose
 * steps of `ReleasePlan`; a plan with any other step (a check, a swap, a pause, test traffic, a rolling
 * update) cannot run on it yet and is refused, naming the step.
 */
export const toShiftAndBakePlan = (plan: ReleasePlan): Plan => {
  const steps: ShiftStep[] = [];
  plan.steps.forEach((step, position) => {
    if (step.kind === 'deploy' || step.kind === 'await-ready' || step.kind === 'retire') return;
    if (step.kind === 'bake') {
      const shift = plan.steps[position - 1];
      if (shift?.kind === 'shift') {
        steps.push({
          kind: 'shift',
          index: steps.length,
          percent: shift.percent,
          bakeSeconds: step.seconds,
          label: `${shift.label}, bake ${formatDuration(step.seconds)}`,
        });
        return;
      }
    }
    if (step.kind === 'shift' && plan.steps[position + 1]?.kind === 'bake') return;
    throw new ConfigError(
      `the release state machine cannot run step "${step.label}" (${step.kind}) of a ${plan.strategy} plan yet`,
    );
  });
  return { strategy: plan.strategy, steps, totalBakeSeconds: plan.totalBakeSeconds };
};
