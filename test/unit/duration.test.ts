import { describe, expect, it } from 'vitest';
import { formatDuration, parseDurationSeconds } from '../../lib/duration.ts';

describe('Function: parseDurationSeconds', () => {
  it.each([
    ['90s', 90],
    ['10m', 600],
    ['1h', 3600],
    ['1h30m', 5400],
    ['1h0m15s', 3615],
    ['2m30s', 150],
    ['120', 120],
    [' 15m ', 900],
    ['0s', 0],
    [45, 45],
    [0, 0],
  ])('reads %j as %i seconds', (value, seconds) => {
    expect(parseDurationSeconds(value)).toBe(seconds);
  });

  it.each([
    [''],
    ['   '],
    ['10x'],
    ['1.5h'],
    ['10M'],
    ['m'],
    ['30m1h'],
    ['-5s'],
    [-1],
    [1.5],
    ['1.5s'],
    [Number.POSITIVE_INFINITY],
    [Number.NaN],
    ['99999999999999999999'],
    [2 ** 53],
    [`${'9'.repeat(400)}s`],
  ])('returns undefined for %j', (value) => {
    expect(parseDurationSeconds(value)).toBeUndefined();
  });
});

describe('Function: formatDuration', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [600, '10m'],
    [3600, '1h'],
    [3900, '1h5m'],
    [3661, '1h1m1s'],
    [89.6, '1m30s'],
  ])('formats %d seconds as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('round-trips with parseDurationSeconds', () => {
    for (const seconds of [1, 59, 60, 61, 3599, 3600, 5400, 86_399]) {
      expect(parseDurationSeconds(formatDuration(seconds))).toBe(seconds);
    }
  });
});
