import { describe, expect, it } from 'vitest';
import { canaryStrategySchema } from '../../lib/config/schema.ts';
import { planCanary } from '../../lib/strategies/canary.ts';
import { buildPlan } from '../../lib/strategies/index.ts';

const canary = (strategy: unknown) => canaryStrategySchema.parse(strategy);

describe('Function: planCanary', () => {
  it('plans one shift step per percentage, each baking the strategy bake', () => {
    const plan = planCanary(canary({ type: 'canary', steps: [5, 25, 100], bake: '10m' }), 'green');

    expect(plan).toEqual({
      strategy: 'canary',
      steps: [
        { kind: 'shift', index: 0, percent: 5, bakeSeconds: 600, label: 'Shift 5% to green, bake 10m' },
        { kind: 'shift', index: 1, percent: 25, bakeSeconds: 600, label: 'Shift 25% to green, bake 10m' },
        { kind: 'shift', index: 2, percent: 100, bakeSeconds: 600, label: 'Shift 100% to green, bake 10m' },
      ],
      totalBakeSeconds: 1800,
    });
  });

  it('uses a step bake when the step declares one, the strategy bake otherwise', () => {
    const plan = planCanary(
      canary({ type: 'canary', steps: [{ percent: 1, bake: '90s' }, { percent: 50 }, 100], bake: '1h30m' }),
      'blue',
    );

    expect(plan.steps.map((step) => [step.percent, step.bakeSeconds, step.label])).toEqual([
      [1, 90, 'Shift 1% to blue, bake 1m30s'],
      [50, 5400, 'Shift 50% to blue, bake 1h30m'],
      [100, 5400, 'Shift 100% to blue, bake 1h30m'],
    ]);
    expect(plan.totalBakeSeconds).toBe(90 + 5400 + 5400);
  });

  it('accepts a bake given in seconds', () => {
    const plan = planCanary(canary({ type: 'canary', steps: [100], bake: 45 }), 'green');

    expect(plan.steps).toEqual([
      { kind: 'shift', index: 0, percent: 100, bakeSeconds: 45, label: 'Shift 100% to green, bake 45s' },
    ]);
    expect(plan.totalBakeSeconds).toBe(45);
  });
});

describe('Function: buildPlan', () => {
  it('dispatches a canary strategy to the canary planner', () => {
    const strategy = canary({ type: 'canary', steps: [10, 100], bake: '5m' });

    expect(buildPlan(strategy, 'green')).toEqual(planCanary(strategy, 'green'));
  });
});
