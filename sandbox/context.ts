import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from 'node:http';
import { useClockSource } from '../lib/clock.ts';
import { type EnvironmentVariables, useEnvironmentSource } from '../lib/env.ts';
import { useEnvironmentKeySource } from '../lib/per-environment.ts';
import type { SimulatedWorld } from './aws/world.ts';
import type { FunctionConfig } from './function-config.ts';
import { currentFunction, type IamEnforcer } from './iam/enforce.ts';
import type { ExecutionEnvironment } from './lambda-runtime.ts';
import type { VirtualClock } from './virtual-clock.ts';

/**
 * Everything that belongs to one simulated world. Several worlds run concurrently in one process (the
 * tests, the bench), so none of this lives in a module variable: it travels with the async work of the
 * run (timers fire inside the run, so promises, SDK middleware and handlers started from them inherit it).
 */
export interface WorldContext {
  world: SimulatedWorld;
  clock: VirtualClock;
  /**
   * Authorizes every command a function sends against its role (undefined: no enforcement). A timed-out
   * invocation's own copy of the context refuses every call its handler still makes (function-config.ts).
   */
  iam?: Pick<IamEnforcer, 'authorize'>;
  /**
   * The environment lib reads outside any function's invocation: the sandbox's own code, and the handler
   * modules, imported once per process (their module scope reads nothing else).
   */
  env: EnvironmentVariables;
  /**
   * Each function's Lambda configuration (function-config.ts): during an invocation lib reads exactly its
   * function's environment, so a variable serverless.yml does not give that function is missing, as on AWS.
   */
  functions?: ReadonlyMap<string, FunctionConfig>;
  /**
   * The world's own DynamoDB server (local-dynamodb.ts): every DynamoDB request made in the world reaches it
   * in-process. Absent: the process's local server (`startLocalDynamoDb`).
   */
  dynamoDb?: Server;
  /**
   * The Lambda execution environment an invocation runs in (function-config.ts sets it on the invocation's
   * copy of the context): the state a handler module keeps per environment is keyed by it.
   */
  executionEnvironment?: ExecutionEnvironment;
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
  useEnvironmentSource(() => {
    const run = storage.getStore();
    const key = run?.functions ? currentFunction.getStore() : undefined;
    if (key === undefined) return run?.env;
    // A function the world has no configuration for gets no variables at all, never another's.
    return run?.functions?.get(key)?.environment ?? {};
  });
  // Module state kept per execution environment (lib/per-environment.ts) is the invocation's environment's;
  // outside one (a world without functions' configuration, the sandbox's own calls) it is the world's, never
  // another world's. Outside every world it is the module's own, as in Lambda.
  useEnvironmentKeySource(() => {
    const run = storage.getStore();
    return run ? (run.executionEnvironment ?? run.world) : undefined;
  });
};

/** Runs `work` (and everything it schedules) inside this world. */
export const runInWorld = <T>(context: WorldContext, work: () => T): T => {
  installSources();
  return storage.run(context, work);
};

/** The world the caller runs in, or undefined outside every sandbox run. */
export const currentWorld = (): WorldContext | undefined => storage.getStore();
