import * as z from 'zod/mini';
import { handOffEndedExecution } from '../lib/use-cases/finish-release.ts';
import {
  createNotifier,
  createReleaseEvents,
  createStarter,
  createStore,
  createTaskTokens,
} from './shared/adapters.ts';
import { createPendingPushReporter } from './shared/pending-push.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const store = createStore();
const ports = {
  store,
  tokens: createTaskTokens(),
  starter: createStarter(),
  supersedePending: createPendingPushReporter({
    store,
    notifier: createNotifier(),
    events: createReleaseEvents(),
  }),
};

/**
 * "Step Functions Execution Status Change" of a release execution that ended ABORTED, TIMED_OUT or FAILED
 * (EventBridge): runs the hand-off for it, so a push queued as data behind it is started even though the
 * execution's own hand-off state never ran.
 */
export const handler = shiplineHandler(
  'hand-off-ended-execution',
  z.object({
    'detail-type': z.literal('Step Functions Execution Status Change'),
    detail: z.object({
      name: z.string().check(z.minLength(1)),
      status: z.string().check(z.minLength(1)),
      input: z.nullable(z.string()),
    }),
  }),
  async ({ detail }) => {
    const result = await handOffEndedExecution(ports, detail);
    logger.info('ended execution handed on', { execution: detail.name, status: detail.status, ...result });
    return result;
  },
);
