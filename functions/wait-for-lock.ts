import * as z from 'zod/mini';
import { executionRefSchema, releaseRequestSchema, taskTokenSchema } from '../lib/domain/schemas.ts';
import { waitForReleaseLock } from '../lib/use-cases/release-lock.ts';
import { createReleaseEvents, createStore, createTaskTokens } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const store = createStore();
const tokens = createTaskTokens();
const events = createReleaseEvents();

/** Queues the release behind the running one; resumed through its task token (or superseded). */
export const handler = shiplineHandler(
  'wait-for-lock',
  z.extend(executionRefSchema, { request: releaseRequestSchema, taskToken: taskTokenSchema }),
  async ({ request, releaseId, taskToken }) =>
    waitForReleaseLock({ store, tokens, events }, request, releaseId, taskToken),
);
