import { AsyncLocalStorage } from 'node:async_hooks';
import { useClockSource } from '../lib/clock.ts';
import { type EnvironmentVariables, useEnvironmentSource } from '../lib/env.ts';
import type { SimulatedWorld } from './aws/world.ts';
import type { IamEnforcer } from './iam/enforce.ts';
import type { VirtualClock } from './virtual-clock.ts';

/**
 * Everything that belongs to one simulated world. Several worlds run concurrently in one process (the
 * tests, the bench), so none of this lives in a module variable: it travels with the async work of the
 * run (timers fire inside the run, so promises, SDK middleware and handlers started from them inherit it).
 */
export interface WorldContext {
  world: SimulatedWorld;
  clock: VirtualClock;
  /** Authorizes every command a function sends against its role (undefined: no enforcement). */
  iam?: IamEnforcer;
  /** The environment variables the functions of this world read (their Lambda configuration). */
  env: EnvironmentVariables;
}

const storage = new AsyncLocalStorage<WorldContext>();

let sourcesInstalled = false;

/**
 * Points lib's clock and environment at the world the caller runs in. Installed once per process; outside
 * any world, lib reads the system clock (or the one a test installed) and `process.env`, as in Lambda.
 */
const installSources = (): void => {
  if (sourcesInstalled) return;
  sourcesInstalled = true;
  useClockSource(() => storage.getStore()?.clock);
  useEnvironmentSource(() => storage.getStore()?.env);
};

/** Runs `work` (and everything it schedules) inside this world. */
export const runInWorld = <T>(context: WorldContext, work: () => T): T => {
  installSources();
  return storage.run(context, work);
};

/** The world the caller runs in, or undefined outside every sandbox run. */
export const currentWorld = (): WorldContext | undefined => storage.getStore();
