import { describe, expect, it } from 'vitest';
import {
  changeTimeOfRequest,
  ENDING_SEQUENCE,
  progressAt,
  progressSequence,
  releaseEventOf,
  subjectOfDeployment,
  type TransitionPhase,
} from '../../lib/domain/release-progress.ts';
import { CANARY_STEPS, cursorAt, deploymentFixture, releaseRequest } from './fixtures.ts';

const plan = { steps: CANARY_STEPS };
const AT = '2025-03-04T10:10:00.000Z';

describe('Domain: release progress', () => {
  it('derives the step, its label and state, and the traffic share from the cursor', () => {
    const shifts = [{ percent: 5, shiftedAt: '2025-03-04T10:02:00.000Z' }];
    expect(
      progressAt(plan, cursorAt(3, { shifts }), {
        phase: 'begin',
        at: AT,
        endsAt: '2025-03-04T10:20:00.000Z',
        watchedAlarms: ['checkout-5xx', 'checkout-p99'],
      }),
    ).toEqual({
      sequence: 2 + 3 * 4,
      step: 4,
      steps: 9,
      kind: 'bake',
      label: 'Bake 10m watching 2 alarms',
      state: 'baking',
      newPercent: 5,
      stepStartedAt: AT,
      endsAt: '2025-03-04T10:20:00.000Z',
      watchedAlarms: ['checkout-5xx', 'checkout-p99'],
      updatedAt: AT,
    });
  });

  it('an ending that moved traffic back keeps how far the shifts had got; others do not', () => {
    const shifts = [
      { percent: 5, shiftedAt: '2025-03-04T10:02:00.000Z' },
      { percent: 25, shiftedAt: '2025-03-04T10:12:00.000Z' },
    ];
    const rolledBack = progressAt(plan, cursorAt(5, { shifts }), {
      phase: 'ended',
      state: 'rolled-back',
      at: AT,
      newPercent: 0,
    });
    expect(rolledBack).toMatchObject({ step: 6, newPercent: 0, reachedPercent: 25 });
    const promoted = progressAt(plan, cursorAt(8, { shifts }), {
      phase: 'promoted',
      at: AT,
      newPercent: 100,
    });
    expect(promoted.reachedPercent).toBeUndefined();
    const baking = progressAt(plan, cursorAt(5, { shifts }), { phase: 'begin', at: AT });
    expect(baking.reachedPercent).toBeUndefined();
    const neverShifted = progressAt(plan, cursorAt(1, { shifts: [] }), {
      phase: 'ended',
      state: 'rolled-back',
      at: AT,
      newPercent: 0,
    });
    expect(neverShifted.reachedPercent).toBeUndefined();
  });

  it('names a state for every step kind', () => {
    const states = CANARY_STEPS.map(
      (_step, index) => progressAt(plan, cursorAt(index), { phase: 'begin', at: AT }).state,
    );
    expect(states).toEqual([
      'deploying',
      'waiting-ready',
      'shifting',
      'baking',
      'shifting',
      'baking',
      'shifting',
      'baking',
      'promoted',
    ]);
  });

  it('is at step 0 while queued or just started, and counts no step then', () => {
    expect(progressAt(undefined, undefined, { phase: 'queued', at: AT })).toEqual({
      sequence: 0,
      step: 0,
      steps: 0,
      state: 'queued',
      newPercent: 0,
      stepStartedAt: AT,
      updatedAt: AT,
    });
    expect(progressAt(plan, undefined, { phase: 'started', at: AT })).toMatchObject({
      sequence: 1,
      step: 0,
      steps: 9,
      state: 'deploying',
    });
  });

  it('grows the sequence along every path the state machine takes, endings last', () => {
    // A healthy canary: each step's begin (and each bake's end), promotion, the window and its close.
    const healthy: Array<[TransitionPhase, number]> = [
      ['queued', 0],
      ['started', 0],
      ['begin', 0],
      ['begin', 1],
      ['begin', 2],
      ['begin', 3],
      ['end', 3],
      ['begin', 4],
      ['begin', 5],
      ['end', 5],
      ['begin', 6],
      ['begin', 7],
      ['end', 7],
      ['promoted', 8],
      ['window', 8],
      ['window-closed', 8],
      // An alarm after the window opened: rolling back, then rolled back.
      ['rolling-back', 0],
      ['ended', 0],
    ];
    const sequences = healthy.map(([phase, index]) => progressSequence(phase, index));
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    expect(new Set(sequences).size).toBe(sequences.length);
    // An inconclusive bake's pause at the bake's own index comes after the bake's end.
    expect(progressSequence('pause-instead', 3)).toBeGreaterThan(progressSequence('end', 3));
    expect(progressSequence('pause-instead', 3)).toBeLessThan(progressSequence('begin', 4));
    // However long a plan is, an ending comes after its last step.
    expect(progressSequence('ended')).toBeGreaterThan(progressSequence('window-closed', 10_000));
    expect(progressSequence('ended')).toBe(ENDING_SEQUENCE + 1);
  });

  it('the same transition retried gives the same progress (a reader keeps either)', () => {
    const first = progressAt(plan, cursorAt(4), { phase: 'begin', at: AT, newPercent: 25 });
    const retried = progressAt(plan, cursorAt(4), { phase: 'begin', at: AT, newPercent: 25 });
    expect(retried).toEqual(first);
  });

  it('builds the topic message of an ending with its outcome and end time, and the change time', () => {
    const deployment = deploymentFixture({
      changeTime: { at: '2025-03-04T09:00:00Z', source: 'deploy-request' },
    });
    const progress = progressAt(deployment.plan, undefined, {
      phase: 'ended',
      state: 'rolled-back',
      at: AT,
      newPercent: 0,
    });
    expect(
      releaseEventOf(subjectOfDeployment(deployment), {
        kind: 'rolled_back',
        text: 'Rolled back',
        progress,
        region: 'us-east-1',
        environment: 'default',
        reason: 'alarm checkout-5xx went to ALARM at 25%',
      }),
    ).toEqual({
      version: 1,
      kind: 'rolled_back',
      service: 'checkout',
      environment: 'default',
      releaseId: deployment.id,
      region: 'us-east-1',
      strategy: 'canary',
      fromVersion: 'v1',
      toVersion: 'v2',
      digest: deployment.image.digest,
      text: 'Rolled back',
      reason: 'alarm checkout-5xx went to ALARM at 25%',
      progress,
      outcome: 'rolled_back',
      endedAt: AT,
      requestedAt: deployment.requestedAt,
      changeTime: { at: '2025-03-04T09:00:00Z', source: 'deploy-request' },
      at: AT,
    });
  });

  it('takes the change time from a deploy request, and leaves it unset otherwise', () => {
    expect(changeTimeOfRequest(releaseRequest({ commitTime: '2025-03-04T09:00:00Z' }))).toEqual({
      at: '2025-03-04T09:00:00Z',
      source: 'deploy-request',
    });
    expect(changeTimeOfRequest(releaseRequest())).toBeUndefined();
  });
});
