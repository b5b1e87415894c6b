import { describe, expect, it } from 'vitest';
import { cloneData } from '../../sandbox/aws/clone.ts';

describe('cloneData', () => {
  it('copies plain data as structuredClone does, sharing nothing with the original', () => {
    const original = {
      name: 'svc',
      count: 3,
      missing: undefined,
      nothing: null,
      when: new Date('2026-11-22T10:00:00Z'),
      bytes: Buffer.from('payload'),
      rules: [{ Priority: '1', Conditions: [{ Field: 'path-pattern', Values: ['/*'] }] }],
    };
    const copy = cloneData(original);
    expect(copy).toStrictEqual(structuredClone(original));
    expect(copy).not.toBe(original);
    expect(copy.rules[0]?.Conditions).not.toBe(original.rules[0]?.Conditions);
    expect(copy.when).not.toBe(original.when);
    expect(copy.when.getTime()).toBe(original.when.getTime());
    // A Buffer comes back as structuredClone gives it: a Uint8Array with the same bytes, not the same memory.
    expect(copy.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(copy.bytes)).toBe(false);
    expect(Buffer.from(copy.bytes).toString()).toBe('payload');
    copy.bytes[0] = 0;
    expect(original.bytes.toString()).toBe('payload');
    expect(Object.hasOwn(copy, 'missing')).toBe(true);
  });

  it('copies anything but plain data (a Map, a class instance) with structuredClone', () => {
    class Point {
      public constructor(public x: number) {}
    }
    const original = { map: new Map([['a', 1]]), point: new Point(2) };
    const copy = cloneData(original);
    expect(copy.map).toBeInstanceOf(Map);
    expect(copy.map).not.toBe(original.map);
    expect(copy.map.get('a')).toBe(1);
    expect(copy.point).not.toBeInstanceOf(Point);
    expect(copy.point).toEqual({ x: 2 });
  });
});
