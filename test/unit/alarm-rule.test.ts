import { describe, expect, it } from 'vitest';
import {
  alarmFailsRelease,
  alarmReason,
  classifyAlarms,
  stepOfTransition,
} from '../../lib/domain/alarm-rule.ts';
import type { AlarmStatus } from '../../lib/ports/alarm-watcher.ts';

const start = new Date('2025-03-04T10:00:00.000Z');
const alarm = (name: string, state: AlarmStatus['state'], updatedAt: string): AlarmStatus => ({
  name,
  state,
  updatedAt: new Date(updatedAt),
  reason: '',
});

describe('Function: alarmFailsRelease', () => {
  it('does not fail a release for an alarm already in ALARM before it started', () => {
    expect(alarmFailsRelease('ALARM', new Date('2025-03-04T09:59:59.999Z'), start)).toBe(false);
  });

  it('fails a release for a transition to ALARM exactly at its start', () => {
    expect(alarmFailsRelease('ALARM', new Date('2025-03-04T10:00:00.000Z'), start)).toBe(true);
  });

  it('fails a release for a transition to ALARM after its start', () => {
    expect(alarmFailsRelease('ALARM', new Date('2025-03-04T10:07:00.000Z'), start)).toBe(true);
  });

  it.each(['OK', 'INSUFFICIENT_DATA'])('does not fail a release for a transition to %s', (state) => {
    expect(alarmFailsRelease(state, new Date('2025-03-04T10:07:00.000Z'), start)).toBe(false);
  });
});

describe('Function: classifyAlarms', () => {
  it('splits firing alarms into failing (since the start) and pre-existing (before it)', () => {
    const statuses = [
      alarm('checkout-latency-p99', 'ALARM', '2025-03-04T09:00:00.000Z'),
      alarm('checkout-green-5xx', 'ALARM', '2025-03-04T10:03:00.000Z'),
      alarm('checkout-errors', 'OK', '2025-03-04T10:04:00.000Z'),
      alarm('checkout-data', 'INSUFFICIENT_DATA', '2025-03-04T08:00:00.000Z'),
    ];

    const { failing, preExisting } = classifyAlarms(statuses, start);

    expect(failing.map((a) => a.name)).toEqual(['checkout-green-5xx']);
    expect(preExisting.map((a) => a.name)).toEqual(['checkout-latency-p99']);
  });

  it('returns nothing for no alarms', () => {
    expect(classifyAlarms([], start)).toEqual({ failing: [], preExisting: [] });
  });
});

describe('Function: alarmReason', () => {
  it('says which alarm went to ALARM at which percentage', () => {
    expect(alarmReason('checkout-5xx', 25)).toBe('alarm checkout-5xx went to ALARM at 25%');
  });
});

describe('Function: stepOfTransition', () => {
  const shifts = [
    { percent: 5, shiftedAt: '2025-03-04T10:00:10.000Z' },
    { percent: 25, shiftedAt: '2025-03-04T10:10:10.000Z' },
  ];
  it.each([
    ['2025-03-04T10:00:09.999Z', 'before'],
    ['2025-03-04T10:00:10.000Z', 5],
    ['2025-03-04T10:10:09.999Z', 5],
    ['2025-03-04T10:10:10.000Z', 25],
    ['2025-03-04T10:30:00.000Z', 25],
  ])('a transition at %s belongs to %s', (at, expected) => {
    expect(stepOfTransition(shifts, new Date(at), 25)).toBe(expected);
  });
  it('falls back to the running step without shifts', () => {
    expect(stepOfTransition(undefined, new Date('2025-03-04T10:00:00.000Z'), 25)).toBe(25);
  });
});
