import { syncBuiltinESMExports } from 'node:module';
import timers from 'node:timers';
import { currentWorld } from './context.ts';
import { currentFunction } from './iam/enforce.ts';

/** A timer a function set during its invocation: the sandbox's clock decides the invocation's end instead. */
interface HeldTimeout {
  ref(): HeldTimeout;
  unref(): HeldTimeout;
  hasRef(): boolean;
  refresh(): HeldTimeout;
}

const heldTimeouts = new WeakSet<object>();

let installed = false;

/**
 * Keeps wall time out of a function's invocation. Middy's core imports its setTimeout from `node:timers` to
 * answer `timeoutEarlyInMillis` (5 ms) before Lambda's timeout, as a real timer of the time left that the
 * context reports, which in the sandbox is virtual: an invocation that took 10 virtual seconds but 30 wall
 * seconds (a large fleet on a loaded machine) would fail with middy's TimeoutError depending on the
 * machine, and one that outlived its timeout in virtual time would leave a real timer of up to 15 minutes
 * keeping the process alive after the run. The sandbox ends an invocation at its timeout on the virtual
 * clock itself (function-config.ts, Sandbox.Timedout), so a `node:timers` timer set during an invocation in
 * a world never fires; every other timer, and the global `setTimeout`, stay real. (On AWS middy answers
 * 5 ms before Lambda would, with TimeoutError; the sandbox's Sandbox.Timedout comes at the timeout.)
 * Installed once per process, before handlers run.
 */
export const installVirtualTimers = (): void => {
  if (installed) return;
  installed = true;
  const realSetTimeout = timers.setTimeout;
  const realClearTimeout = timers.clearTimeout;
  const setTimeoutOutsideWallTime = (...args: Parameters<typeof realSetTimeout>) => {
    if (!currentWorld() || currentFunction.getStore() === undefined) return realSetTimeout(...args);
    const handle: HeldTimeout = {
      ref: () => handle,
      unref: () => handle,
      hasRef: () => false,
      refresh: () => handle,
    };
    heldTimeouts.add(handle);
    return handle;
  };
  const clearTimeout = (handle: Parameters<typeof realClearTimeout>[0]): void => {
    if (typeof handle === 'object' && handle !== null && heldTimeouts.has(handle)) return;
    realClearTimeout(handle);
  };
  timers.setTimeout = setTimeoutOutsideWallTime as unknown as typeof timers.setTimeout;
  timers.clearTimeout = clearTimeout as typeof timers.clearTimeout;
  // The named imports of `node:timers` (middy's `import { setTimeout } from "node:timers"`) follow.
  syncBuiltinESMExports();
};
