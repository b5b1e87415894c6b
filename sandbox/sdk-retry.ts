import { AsyncLocalStorage } from 'node:async_hooks';
import { perEnvironment } from '../lib/per-environment.ts';
import { formatDelay } from './aws/sfn-retry.ts';
import type { SimulatedWorld } from './aws/world.ts';

/**
 * The SDK's cap on one backoff delay: `MAXIMUM_RETRY_DELAY = 20 * 1000` ms in @smithy/core's util-retry
 * constants, applied by its DefaultRetryBackoffStrategy.
 */
export const SDK_MAXIMUM_RETRY_DELAY_MS = 20_000;

/** The parts of @smithy/core's StandardRetryStrategy this module relies on (checked at run time). */
interface SdkRetryToken {
  getRetryCount(): number;
  isLongPoll?(): boolean;
}
interface SdkRetryStrategy {
  retryBackoffStrategy: {
    setDelayBase(delay: number): void;
    computeNextBackoffDelay(attempt: number): number;
  };
  refreshRetryTokenForRetry(token: SdkRetryToken, errorInfo: { error?: unknown }): Promise<SdkRetryToken>;
}

/**
 * The refresh running in this async context (concurrent requests stay apart): the backoff the SDK computes
 * for it, and what its timeline entry says (`record`: the entry, written the moment the SDK decides).
 */
interface PendingBackoff {
  baseMs: number;
  delayMs: number;
  record?: (delayMs: number, retry: number) => void;
}
const pendingBackoff = new AsyncLocalStorage<PendingBackoff>();

const isStrategy = (value: unknown): value is SdkRetryStrategy => {
  const candidate = value as Partial<SdkRetryStrategy> | undefined;
  return (
    typeof candidate?.refreshRetryTokenForRetry === 'function' &&
    typeof candidate.retryBackoffStrategy?.computeNextBackoffDelay === 'function' &&
    typeof candidate.retryBackoffStrategy.setDelayBase === 'function'
  );
};

/**
 * Puts an SDK client's retry delays on the sandbox's virtual clock, leaving every retry decision to the
 * SDK. The client keeps its own StandardRetryStrategy: which errors are retried (throttling and transient),
 * how many attempts (`maxAttempts`, 3 by default) and the retry quota (500 tokens; a retry costs 5 after
 * throttling, 14 otherwise) are the SDK's. Only its backoff is replaced: the SDK's formula (DefaultRetryBackoffStrategy:
 * `floor(random() x min(base x 2^retryCount, 20 s))`, base 1 s after throttling and 50 ms otherwise, set by
 * the strategy) computed with the run's seeded random source, awaited as a virtual sleep, while the SDK itself
 * waits 0 ms. Each retry is on the timeline. `world` gives the run the request belongs to.
 */
export const retryInVirtualTime = (
  client: object,
  clientName: string,
  world: () => SimulatedWorld | undefined,
): void => {
  const config = (client as { config?: { retryStrategy?: unknown; maxAttempts?: unknown } }).config;
  const original = config?.retryStrategy;
  if (!config || typeof original !== 'function') return;
  // The client's strategy as the SDK built it, before any request used it: the template of each one below.
  let pristine: Promise<SdkRetryStrategy> | undefined;
  const template = (): Promise<SdkRetryStrategy> => {
    pristine ??= (original as () => Promise<unknown>)().then((strategy) => {
      if (!isStrategy(strategy))
        throw new Error(
          `the ${clientName} client's retry strategy is not the SDK's StandardRetryStrategy: the sandbox cannot put its delays on the virtual clock`,
        );
      return Object.assign(Object.create(Object.getPrototypeOf(strategy) as object) as object, strategy);
    });
    return pristine;
  };
  // The strategy holds the retry quota, which on AWS is the client's and so its execution environment's
  // (each builds its own clients). The sandbox's environments share the client (a handler module is loaded
  // once per process): each environment, of each world, gets a strategy of its own, a copy of the pristine
  // one, so a cold start begins with a full quota and no world drains another's.
  const perEnvironmentStrategy = perEnvironment(() =>
    template().then((pristineStrategy) => {
      const strategy = Object.assign(
        Object.create(Object.getPrototypeOf(pristineStrategy) as object) as object,
        pristineStrategy,
      ) as SdkRetryStrategy;
      strategy.retryBackoffStrategy = {
        setDelayBase: (delay) => {
          const slot = pendingBackoff.getStore();
          if (slot) slot.baseMs = delay;
        },
        computeNextBackoffDelay: (retryCount) => {
          const slot = pendingBackoff.getStore();
          const random = world()?.random;
          if (slot && random) {
            slot.delayMs = Math.floor(
              random.next() * Math.min(slot.baseMs * 2 ** retryCount, SDK_MAXIMUM_RETRY_DELAY_MS),
            );
            // The SDK computes a backoff only for a retry it makes (or a long poll's, recorded later): the
            // retry enters the timeline now, before the SDK's zero-length real wait, so no other work of the
            // world running meanwhile can come before it depending on how long that real wait took.
            slot.record?.(slot.delayMs, retryCount + 1);
          }
          // The SDK's own wait (a real timer) is for nothing: the delay passes on the virtual clock instead.
          return 0;
        },
      };
      const refresh = strategy.refreshRetryTokenForRetry.bind(strategy);
      strategy.refreshRetryTokenForRetry = async (token, errorInfo) => {
        const run = world();
        const maxAttempts =
          typeof config.maxAttempts === 'function'
            ? Number(await (config.maxAttempts as () => Promise<number>)())
            : 3;
        const error = (errorInfo.error as { name?: string } | undefined)?.name ?? 'Error';
        const record = (delayMs: number, retry: number): void =>
          run?.record(
            'retry',
            `${clientName} SDK: ${error}, retry ${retry} of ${maxAttempts - 1} in ${formatDelay(delayMs)}`,
          );
        const longPoll = token.isLongPoll?.() === true;
        const slot: PendingBackoff = { baseMs: 0, delayMs: 0, ...(longPoll ? {} : { record }) };
        // Throws when the SDK decides not to retry: the error goes to the caller as it would on AWS.
        const next = await pendingBackoff.run(slot, () => refresh(token, errorInfo));
        if (run) {
          if (longPoll) record(slot.delayMs, next.getRetryCount());
          await run.clock.sleep(slot.delayMs / 1000);
        }
        return next;
      };
      return strategy;
    }),
  );
  config.retryStrategy = perEnvironmentStrategy;
};
