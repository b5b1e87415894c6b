import * as z from 'zod/mini';
import { handOffService } from '../lib/use-cases/finish-release.ts';
import {
  createMetrics,
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
  metrics: createMetrics(),
  log: logger,
};

/**
 * On every path that ends a release (and after promotion): releases the service lock and wakes the queued
 * release: resumes an execution waiting on its task token, or starts a pending push's execution.
 */
export const handler = shiplineHandler(
  'hand-off-service',
  z.object({ service: z.string().check(z.minLength(1)), releaseId: z.string().check(z.minLength(1)) }),
  async ({ service, releaseId }) => handOffService(ports, service, releaseId),
);
