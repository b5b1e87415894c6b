import * as z from 'zod/mini';
import { executionRefSchema, releaseRequestSchema, taskTokenSchema } from '../lib/domain/schemas.ts';
import { waitForReleaseLock } from '../lib/use-cases/release-lock.ts';
import {
  createNotifier,
  createReleaseEvents,
  createStarter,
  createStore,
  createTaskTokens,
} from './shared/adapters.ts';
import { createPendingPushReporter } from './shared/pending-push.ts';
import { shiplineHandler } from './shared/stack.ts';

const store = createStore();
const tokens = createTaskTokens();
const events = createReleaseEvents();
// Whether a push a hand-off was starting, replaced here, has an execution (else it is told superseded).
const starter = createStarter();
const supersedePending = createPendingPushReporter({ store, notifier: createNotifier(), events });

/**
 * Queues the release behind the running one; resumed through its task token (or superseded). A pending
 * push it replaces (queued by the trigger, with no execution) is recorded and told as superseded here.
 */
export const handler = shiplineHandler(
  'wait-for-lock',
  z.extend(executionRefSchema, { request: releaseRequestSchema, taskToken: taskTokenSchema }),
  async ({ request, releaseId, taskToken }) =>
    waitForReleaseLock({ store, tokens, events, starter, supersedePending }, request, releaseId, taskToken),
);
