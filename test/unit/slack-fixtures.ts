import type { ReleaseEventMessage, ReleaseProgress } from '../../lib/domain/progress.ts';

/** A release-events message of checkout v1 -> v2 (canary 5/25/100), at one transition. */
export const releaseEvent = (
  overrides: Partial<Omit<ReleaseEventMessage, 'progress'>> & { progress?: Partial<ReleaseProgress> } = {},
): ReleaseEventMessage => {
  const { progress, ...rest } = overrides;
  return {
    version: 1,
    kind: 'step',
    service: 'checkout',
    environment: 'default',
    releaseId: 'checkout-v2-0001',
    region: 'us-east-1',
    strategy: 'canary',
    fromVersion: 'v1',
    toVersion: 'v2',
    text: 'Shifted 25% of traffic to green',
    requestedAt: '2026-11-22T10:00:00.000Z',
    at: '2026-11-22T10:14:00.000Z',
    ...rest,
    progress: {
      sequence: 5,
      step: 4,
      steps: 7,
      kind: 'bake',
      label: 'Bake 10m at 25%',
      state: 'baking',
      newPercent: 25,
      stepStartedAt: '2026-11-22T10:14:00.000Z',
      endsAt: '2026-11-22T10:24:00.000Z',
      updatedAt: '2026-11-22T10:14:00.000Z',
      ...progress,
    },
  };
};
