import * as z from 'zod/mini';
import { handOffService } from '../lib/use-cases/finish-release.ts';
import { createStore, createTaskTokens } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), tokens: createTaskTokens() };

/** On every path that ends a release (and after promotion): releases the service lock and wakes the queued release. */
export const handler = shiplineHandler(
  'hand-off-service',
  z.object({ service: z.string().check(z.minLength(1)), releaseId: z.string().check(z.minLength(1)) }),
  async ({ service, releaseId }) => handOffService(ports, service, releaseId),
);
