import * as z from 'zod/mini';
import { executionRefSchema, releaseRequestSchema } from '../lib/domain/schemas.ts';
import { acquireReleaseLock } from '../lib/use-cases/release-lock.ts';
import { config, createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const store = createStore();

/** Takes the service's release lock (DynamoDB conditional write with a lease). */
export const handler = shiplineHandler(
  'acquire-lock',
  z.extend(executionRefSchema, { request: releaseRequestSchema }),
  async ({ request, releaseId }) => acquireReleaseLock({ store }, config(), request, releaseId),
);
