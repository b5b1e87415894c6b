import { AsyncResource } from 'node:async_hooks';
import { syncBuiltinESMExports } from 'node:module';
import timers from 'node:timers';
import { currentWorld } from './context.ts';
import { currentFunction } from './iam/enforce.ts';
import { currentInvocationWork, runAsTimerStrand } from './virtual-clock.ts';

/** A timer a function set during its invocation: it fires on the world's virtual clock, or never. */
interface VirtualTimeout {
  ref(): VirtualTimeout;
  unref(): VirtualTimeout;
  hasRef(): boolean;
  refresh(): VirtualTimeout;
}

/** Each virtual timer's cancel (a no-op for one that never fires). */
const virtualTimeouts = new WeakMap<object, () => void>();

/**
 * The delay Node.js gives a timer: `delay` as a number, 1 ms when it is below 1, above 2^31 - 1 or not a
 * number (Node.js API, timers, setTimeout: "When delay is larger than 2147483647 or less than 1 or NaN,
 * the delay will be set to 1").
 */
const delayOf = (delay: unknown): number => {
  const ms = Number(delay);
  return ms >= 1 && ms <= 2_147_483_647 ? ms : 1;
};

let installed = false;

/**
 * Keeps wall time out of a function's invocation and models middy's early timeout as on AWS. Middy's core
 * imports its setTimeout from `node:timers` to answer `timeoutEarlyInMillis` (5 ms) before Lambda's
 * timeout, as a timer of the time left that the context reports (virtual in the sandbox): a `node:timers`
 * timer set during an invocation fires on the world's virtual clock at now + delay (clearTimeout cancels
 * it), in the async context it was set in, as Node.js runs a timer's callback. So middy answers with its
 * TimeoutError at the deadline minus 5 ms of virtual time, however long the machine took, and no real
 * timer of up to 15 minutes is left to keep the process alive after a run. Lambda's own timeout
 * (Sandbox.Timedout, function-config.ts) remains for a handler without middy's timer. A timer that is
 * still pending when its invocation answers is cancelled (the environment is frozen); one set in a world
 * outside an invocation's work (a handler run with no Lambda configuration) never fires. Either
 * clearTimeout, `node:timers`' or the global one, clears it, as both clear Node.js's timers. Every other
 * timer, and the global `setTimeout`, stay real. Installed once per process, before handlers run.
 */
export const installVirtualTimers = (): void => {
  if (installed) return;
  installed = true;
  const realSetTimeout = timers.setTimeout;
  const realClearTimeout = timers.clearTimeout;
  const setTimeoutOnTheClock = (...args: Parameters<typeof realSetTimeout>) => {
    const [callback, delay, ...rest] = args as unknown as [unknown, unknown, ...unknown[]];
    if (!currentWorld() || currentFunction.getStore() === undefined || typeof callback !== 'function')
      return realSetTimeout(...args);
    const work = currentInvocationWork();
    const ms = delayOf(delay);
    let cancelOnClock = (): void => undefined;
    const cancel = (): void => {
      cancelOnClock();
      work?.timers.delete(cancel);
    };
    // Node.js runs a timer's callback in the async context it was set in: so does the clock.
    const fire = AsyncResource.bind(() => {
      if (!work || work.stopped) return;
      work.timers.delete(cancel);
      runAsTimerStrand(work, () => (callback as (...values: unknown[]) => void)(...rest));
    });
    const schedule = (): void => {
      if (!work || work.stopped) return;
      cancelOnClock();
      cancelOnClock = work.clock.schedule(work.clock.nowMillis + ms, fire);
      work.timers.add(cancel);
    };
    schedule();
    const handle: VirtualTimeout = {
      ref: () => handle,
      unref: () => handle,
      hasRef: () => false,
      refresh: () => {
        schedule();
        return handle;
      },
    };
    virtualTimeouts.set(handle, cancel);
    return handle;
  };
  const clearTimeout = (handle: Parameters<typeof realClearTimeout>[0]): void => {
    const cancel = typeof handle === 'object' && handle !== null ? virtualTimeouts.get(handle) : undefined;
    if (cancel) {
      cancel();
      return;
    }
    realClearTimeout(handle);
  };
  timers.setTimeout = setTimeoutOnTheClock as unknown as typeof timers.setTimeout;
  timers.clearTimeout = clearTimeout as typeof timers.clearTimeout;
  // The global clearTimeout is Node.js's too: it clears a timer `node:timers` set, and middy clears its own
  // with it (its timer would otherwise stay pending while its after middlewares run).
  const realGlobalClearTimeout = globalThis.clearTimeout;
  globalThis.clearTimeout = ((handle: Parameters<typeof realGlobalClearTimeout>[0]) => {
    const cancel = typeof handle === 'object' && handle !== null ? virtualTimeouts.get(handle) : undefined;
    if (cancel) cancel();
    else realGlobalClearTimeout(handle);
  }) as typeof globalThis.clearTimeout;
  // The named imports of `node:timers` (middy's `import { setTimeout } from "node:timers"`) follow.
  syncBuiltinESMExports();
};
