import { describe, expect, it } from 'vitest';
import { canaryStrategySchema } from '../../lib/config/schema.ts';
import { planCanary } from '../../lib/strategies/canary.ts';
import { buildPlan } from '../../lib/strategies/index.ts';
import { repoConfig } from './fixtures.ts';

const canary = (strategy: unknown) => canaryStrategySchema.parse(strategy);
const checkout = repoConfig().services.checkout;
if (!checkout) throw new Error('the repository config declares checkout');
/** steadyTimeout 20m, scaleDownDelay 15m, no rollbackWindow (the delay, then). */
const target = checkout.target;

describe('Function: planCanary', () => {
  it('plans deploy, await-ready, one shift and one bake per percentage, then retire', () => {
    const plan = planCanary(canary({ type: 'canary', steps: [5, 25, 100], bake: '10m' }), target, 'green');

    expect(plan).toEqual({
      strategy: 'canary',
      steps: [
        { kind: 'deploy', index: 0, label: 'Deploy the new version to green' },
        {
          kind: 'await-ready',
          index: 1,
          label: 'Wait until green is ready (at most 20m)',
          timeoutSeconds: 1200,
        },
        { kind: 'shift', index: 2, label: 'Shift 5% to green', percent: 5 },
        {
          kind: 'bake',
          index: 3,
          label: 'Bake 10m at 5% watching alarms',
          seconds: 600,
          inconclusive: 'fail',
        },
        { kind: 'shift', index: 4, label: 'Shift 25% to green', percent: 25 },
        {
          kind: 'bake',
          index: 5,
          label: 'Bake 10m at 25% watching alarms',
          seconds: 600,
          inconclusive: 'fail',
        },
        { kind: 'shift', index: 6, label: 'Shift 100% to green', percent: 100 },
        {
          kind: 'bake',
          index: 7,
          label: 'Bake 10m at 100% watching alarms',
          seconds: 600,
          inconclusive: 'fail',
        },
        {
          kind: 'retire',
          index: 8,
          label: 'Promote green, watch alarms 15m with blue warm, then scale blue down',
          rollbackWindowSeconds: 900,
          warmAfterWindowSeconds: 0,
        },
      ],
      totalBakeSeconds: 1800,
    });
  });

  it('uses a step bake when the step declares one, the strategy bake otherwise', () => {
    const plan = planCanary(
      canary({ type: 'canary', steps: [{ percent: 1, bake: '90s' }, { percent: 50 }, 100], bake: '1h30m' }),
      target,
      'blue',
    );

    expect(
      plan.steps.filter((step) => step.kind === 'bake').map((step) => [step.seconds, step.label]),
    ).toEqual([
      [90, 'Bake 1m30s at 1% watching alarms'],
      [5400, 'Bake 1h30m at 50% watching alarms'],
      [5400, 'Bake 1h30m at 100% watching alarms'],
    ]);
    expect(plan.totalBakeSeconds).toBe(90 + 5400 + 5400);
  });

  it('keeps the old slot warm for the rest of the scale-down delay after a shorter rollback window', () => {
    const plan = planCanary(
      canary({ type: 'canary', steps: [100], bake: 45 }),
      { ...target, rollbackWindow: '5m' },
      'green',
    );

    expect(plan.steps.at(-1)).toMatchObject({
      kind: 'retire',
      rollbackWindowSeconds: 300,
      warmAfterWindowSeconds: 600,
    });
    expect(plan.totalBakeSeconds).toBe(45);
  });
});

describe('Function: buildPlan', () => {
  it('dispatches a canary strategy to the canary planner, for the new slot', () => {
    expect(buildPlan(checkout, { newSlot: 'blue' })).toEqual(planCanary(checkout.strategy, target, 'blue'));
  });
});
