import { afterEach, describe, expect, it } from 'vitest';
import { lazyPort } from '../../functions/shared/adapters.ts';
import { perEnvironment, useEnvironmentKeySource } from '../../lib/per-environment.ts';

afterEach(() => {
  useEnvironmentKeySource(undefined);
});

describe('Function: perEnvironment', () => {
  it('is one lazy value per module without a key source, as in Lambda (a module instance is an environment)', () => {
    let built = 0;
    const value = perEnvironment(() => ({ n: ++built }));
    expect(built).toBe(0);
    const first = value();
    expect(value()).toBe(first);
    expect(value()).toBe(first);
    expect(built).toBe(1);
  });

  it('builds one value per environment the key source names, and the module value outside any', () => {
    let built = 0;
    const value = perEnvironment(() => ({ n: ++built }));
    const outside = value();
    const a = {};
    const b = {};
    let current: object | undefined = a;
    useEnvironmentKeySource(() => current);
    const inA = value();
    current = b;
    const inB = value();
    current = a;
    expect(value()).toBe(inA);
    current = undefined;
    expect(value()).toBe(outside);
    expect(new Set([outside, inA, inB]).size).toBe(3);
    expect(built).toBe(3);
  });
});

describe('Function: lazyPort', () => {
  it('builds the adapter (its client) once per module on its first call, whatever the environment', async () => {
    let built = 0;
    const port = lazyPort<{ ping: () => Promise<number> }>(
      () => {
        const id = ++built;
        return { ping: async () => id };
      },
      { ping: true },
    );
    expect(built).toBe(0);
    expect([await port.ping(), await port.ping()]).toEqual([1, 1]);
    // The sandbox's environments share the client; its retry quota is theirs (test/sandbox/per-environment).
    const environment = {};
    useEnvironmentKeySource(() => environment);
    expect(await port.ping()).toBe(1);
    expect(built).toBe(1);
  });
});
