import * as z from 'zod/mini';
import { findService } from '../lib/config/lookup.ts';
import type { ReleaseRequest } from '../lib/domain/types.ts';
import { environment } from '../lib/env.ts';
import { InvalidInputError } from '../lib/errors.ts';
import { parseInput } from '../lib/events/parse.ts';
import { looksLikeWithdrawal, withdrawRequestSchema } from '../lib/events/withdraw-request.ts';
import { queueBehindHolder } from '../lib/use-cases/queue-push.ts';
import { startRelease } from '../lib/use-cases/start-release.ts';
import { heldReleaseEvents } from '../lib/use-cases/transitions.ts';
import {
  config,
  createMetrics,
  createNotifier,
  createReleaseEvents,
  createStarter,
  createStore,
  createTaskTokens,
} from './shared/adapters.ts';
import { createPendingPushReporter } from './shared/pending-push.ts';
import { createQueuedPushes } from './shared/queued-pushes.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const starter = createStarter();
const store = createStore();
const events = createReleaseEvents();
const tokens = createTaskTokens();
const notifier = createNotifier();
const metrics = createMetrics();

/**
 * The queue's ports for one invocation: its release events are held and published together when it ends
 * (a queued push that replaces another announces two: one PublishBatch request instead of two Publish).
 */
const queueFor = (held: ReturnType<typeof heldReleaseEvents>) => {
  const ports = {
    store,
    starter,
    tokens,
    events: held,
    supersedePending: createPendingPushReporter({ store, notifier, events: held, metrics }),
  };
  return (request: ReleaseRequest, executionName: string) => queueBehindHolder(ports, request, executionName);
};
const queuedPushes = createQueuedPushes({ store, notifier, events, starter, metrics });

/**
 * How long before Lambda's timeout middy stops waiting for the trigger's handler (an SDK call retrying past
 * the function's time) and publishes the release events the invocation holds before answering with its
 * TimeoutError. Enough for one PublishBatch request (the trigger holds two or three events) with the SDK's
 * standard retries, as the SNS client has no request timeout of its own: three attempts, waiting up to 1 s
 * then up to 2 s after throttling (@smithy/util-retry's backoff: random x min(1 s x 2^retry, 20 s)), and
 * their round trips.
 */
export const TRIGGER_TIMEOUT_EARLY_MS = 4_000;

/** The pipeline's account, from its state machine ARN (`arn:aws:states:<region>:<account>:stateMachine:<name>`). */
const pipelineAccount = (): string => environment.stateMachineArn().split(':')[4] ?? '';

/**
 * ECR push (EventBridge) or manual deploy request -> exactly one execution per service and digest; while
 * another release of the service runs, the push is queued as data (a pending push) instead, and started
 * when that release hands the service on. An event of a repository no service releases, or of another
 * account's or region's registry, is ignored with a log line; a malformed event of a released repository
 * throws and starts nothing.
 */
export const handler = shiplineHandler(
  'trigger',
  z.unknown(),
  async (event, context, invocation) => {
    if (looksLikeWithdrawal(event)) {
      // `shipline abort` of a push queued as data: the CLI has neither the config nor the topics.
      const { withdraw } = parseInput(withdrawRequestSchema, event, 'withdrawal request');
      if (!findService(config(), withdraw.service))
        throw new InvalidInputError(
          `withdrawal request names service ${withdraw.service}, which shipline.yml does not declare`,
        );
      const result = await queuedPushes.withdraw(withdraw);
      logger.info(`queued push ${result.status}`, { ...result, actor: withdraw.actor });
      return result;
    }
    const held = heldReleaseEvents(events);
    // Out of time, the `finally` below would never run (middy answers, and the environment is frozen with
    // this strand in it): what the invocation announced is published before middy answers. The invocation
    // still fails, so its event is retried; a retry announces nothing already published (its push is then
    // a duplicate, its superseded push already told), as when it fails after the `finally` today.
    invocation.beforeTimeout(() => held.flush());
    let result: Awaited<ReturnType<typeof startRelease>>;
    try {
      result = await startRelease({ starter, queue: queueFor(held) }, config(), event, {
        receiptId: context.awsRequestId,
        pipeline: { account: pipelineAccount(), region: environment.region() },
      });
    } finally {
      // What the invocation announced went out even when it failed afterwards (as it would have one by one).
      await held.flush();
    }
    if (result.status === 'ignored') logger.info('push ignored', { reason: result.reason });
    else logger.info(`release ${result.status}`, { ...result });
    return result;
  },
  { timeoutEarlyInMillis: TRIGGER_TIMEOUT_EARLY_MS },
);
