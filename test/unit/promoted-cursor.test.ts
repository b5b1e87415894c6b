import { describe, expect, it } from 'vitest';
import { nextCursor, promotedCursor } from '../../lib/domain/cursor.ts';
import type { PlanStep, ReleasePlan } from '../../lib/domain/plan.ts';
import { CANARY_STEPS, cursorAt, ROLLOUT } from './fixtures.ts';

const plan: ReleasePlan = { strategy: 'canary', steps: CANARY_STEPS, totalBakeSeconds: 1800 };
const AT = '2025-03-04T10:05:00.000Z';
const at5 = [{ percent: 5, shiftedAt: '2025-03-04T10:02:00.000Z' }];

describe('Domain: the cursor after a person promoted the release', () => {
  it('ends the bake as passed and goes on with the next step, saying who and why', () => {
    const next = promotedCursor(
      plan,
      cursorAt(3, { shifts: at5 }),
      {
        outcome: 'promoted',
        full: false,
        by: 'arn:aws:iam::123456789012:user/alice',
        reason: 'metrics look fine',
      },
      AT,
    );

    expect(next).toEqual({
      index: 4,
      step: CANARY_STEPS[4],
      shifts: at5,
      rollout: ROLLOUT,
      note: 'bake ended as passed by arn:aws:iam::123456789012:user/alice: metrics look fine',
      promotions: [
        {
          index: 3,
          by: 'arn:aws:iam::123456789012:user/alice',
          reason: 'metrics look fine',
          full: false,
          at: AT,
        },
      ],
    });
  });

  it('with full, goes straight to the retire step, skipping the shifts and bakes left', () => {
    const next = promotedCursor(
      plan,
      cursorAt(3, { shifts: at5 }),
      { outcome: 'promoted', full: true, by: 'slack:T1/U1', reason: 'hotfix' },
      AT,
    );

    expect(next).toMatchObject({
      index: 8,
      step: { kind: 'retire' },
      shifts: at5,
      rollout: ROLLOUT,
      note: 'promoted in full by slack:T1/U1: hotfix; 4 steps skipped',
      promotions: [{ index: 3, by: 'slack:T1/U1', reason: 'hotfix', full: true, at: AT }],
    });
  });

  it('skips checks and pauses too, and lands on retire from the last bake with nothing skipped', () => {
    const steps: PlanStep[] = [
      { kind: 'deploy', index: 0, label: 'Deploy' },
      { kind: 'shift', index: 1, label: 'Shift 10%', percent: 10 },
      { kind: 'bake', index: 2, label: 'Bake 5m', seconds: 300, inconclusive: 'fail' },
      {
        kind: 'check',
        index: 3,
        label: 'Check smoke',
        name: 'smoke',
        test: { type: 'lambda', functionName: 'smoke' },
        timeoutSeconds: 60,
      },
      { kind: 'pause', index: 4, label: 'Pause', timeoutSeconds: 3600, onTimeout: 'fail' },
      { kind: 'shift', index: 5, label: 'Shift 100%', percent: 100 },
      { kind: 'bake', index: 6, label: 'Bake 5m', seconds: 300, inconclusive: 'fail' },
      { kind: 'retire', index: 7, label: 'Promote', rollbackWindowSeconds: 600, warmAfterWindowSeconds: 0 },
    ];
    const mixed: ReleasePlan = { strategy: 'linear', steps, totalBakeSeconds: 600 };
    const promotion = { outcome: 'promoted' as const, full: true, by: 'bob', reason: '' };
    const bake2 = { index: 2, step: steps[2] as PlanStep, shifts: [], rollout: ROLLOUT };

    expect(promotedCursor(mixed, bake2, promotion, AT)).toMatchObject({
      index: 7,
      step: { kind: 'retire' },
      note: 'promoted in full by bob; 4 steps skipped',
    });
    const bake6 = { index: 6, step: steps[6] as PlanStep, shifts: [], rollout: ROLLOUT };
    expect(promotedCursor(mixed, bake6, promotion, AT)).toMatchObject({
      index: 7,
      note: expect.stringContaining('0 steps skipped'),
    });
  });

  it('keeps earlier promotions along the following steps, for the promotion at the end to name', () => {
    const promoted = promotedCursor(
      plan,
      cursorAt(3),
      { outcome: 'promoted', full: false, by: 'alice', reason: 'ok' },
      AT,
    );
    const after = nextCursor(plan, promoted);
    expect(after.promotions).toEqual(promoted.promotions);
    const again = promotedCursor(
      plan,
      { ...cursorAt(5), promotions: after.promotions ?? [] },
      {
        outcome: 'promoted',
        full: true,
        by: 'bob',
        reason: 'go',
      },
      AT,
    );
    expect(again.promotions?.map((p) => [p.index, p.by, p.full])).toEqual([
      [3, 'alice', false],
      [5, 'bob', true],
    ]);
  });
});
