import { InvalidInputError, TargetStateError } from '../errors.ts';
import type { PlanStep, ReleasePlan, StepKind } from './plan.ts';
import type { BakePromotion } from './progress.ts';
import type { StepCursor } from './types.ts';

/** The step a cursor points at, checked to be of the kind the state running it expects. */
export const currentStep = <K extends StepKind>(
  cursor: StepCursor,
  kind: K,
): Extract<PlanStep, { kind: K }> => {
  if (cursor.step.kind !== kind) {
    throw new InvalidInputError(
      `step ${cursor.index} is a ${cursor.step.kind} step, not a ${kind} step ("${cursor.step.label}")`,
    );
  }
  return cursor.step as Extract<PlanStep, { kind: K }>;
};

/**
 * The cursor of the step after the current one, carrying what the steps so far left for later ones. Every
 * step's function returns it, so the state machine needs no state of its own between two steps. A plan ends
 * with a step (retire) whose states never ask for a next one: asking past the end is a bug in the plan.
 */
export const nextCursor = (
  plan: ReleasePlan,
  cursor: StepCursor,
  changes: Partial<Pick<StepCursor, 'shifts' | 'rollout' | 'note'>> = {},
): StepCursor => {
  const index = cursor.index + 1;
  const step = plan.steps[index];
  if (!step) {
    throw new TargetStateError(
      `the plan has no step after step ${cursor.index} ("${cursor.step.label}"): a plan ends with retire`,
    );
  }
  return {
    index,
    step,
    shifts: changes.shifts ?? cursor.shifts,
    rollout: changes.rollout === undefined ? cursor.rollout : changes.rollout,
    ...(changes.note ? { note: changes.note } : {}),
    // Who promoted the release early stays known to the promotion at its end.
    ...(cursor.promotions ? { promotions: cursor.promotions } : {}),
  };
};

/** What a person's promotion says in the execution and in the release's messages. */
export const promotionNote = (promotion: Pick<BakePromotion, 'by' | 'reason' | 'full'>): string =>
  `${promotion.full ? 'promoted in full' : 'bake ended as passed'} by ${promotion.by}${promotion.reason ? `: ${promotion.reason}` : ''}`;

/**
 * The cursor after a person promoted the release while the current step baked: the bake ends as passed and
 * the release goes on with its next step; with `full`, it goes straight to the plan's retire step, skipping
 * every bake, check, pause and shift left (the promotion then moves the rest of the traffic to the new
 * version in one shift, and the rollback window still watches it). The promotion is kept on the cursor.
 */
export const promotedCursor = (
  plan: ReleasePlan,
  cursor: StepCursor,
  promotion: BakePromotion,
  at: string,
): StepCursor => {
  const promoted: StepCursor = {
    ...cursor,
    promotions: [
      ...(cursor.promotions ?? []),
      {
        index: cursor.index,
        by: promotion.by,
        reason: promotion.reason,
        full: promotion.full,
        at,
        ...(promotion.actor ? { actor: promotion.actor } : {}),
      },
    ],
  };
  const note = promotionNote(promotion);
  if (!promotion.full) return nextCursor(plan, promoted, { note });
  const retireIndex = plan.steps.findIndex((step, index) => index > cursor.index && step.kind === 'retire');
  const retire = plan.steps[retireIndex];
  if (!retire) {
    throw new TargetStateError(
      `the plan has no retire step after step ${cursor.index} ("${cursor.step.label}"): a plan ends with retire`,
    );
  }
  const skipped = retireIndex - cursor.index - 1;
  return {
    ...promoted,
    index: retireIndex,
    step: retire,
    note: `${note}; ${skipped} step${skipped === 1 ? '' : 's'} skipped`,
  };
};

/** The rollout the deploy step started; a step that needs it before the deploy ran is a bug in the plan. */
export const rolloutOf = (cursor: StepCursor): NonNullable<StepCursor['rollout']> => {
  if (!cursor.rollout) {
    throw new TargetStateError(
      `step ${cursor.index} ("${cursor.step.label}") needs the new version deployed, but no deploy step ran before it`,
    );
  }
  return cursor.rollout;
};
