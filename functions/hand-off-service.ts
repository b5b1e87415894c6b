import * as z from 'zod/mini';
import { deploymentSchema } from '../lib/domain/schemas.ts';
import { handOffService } from '../lib/use-cases/finish-release.ts';
import { createStore, createTaskTokens } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), tokens: createTaskTokens() };

/** After promotion: releases the service lock and wakes the queued release. */
export const handler = shiplineHandler(
  'hand-off-service',
  z.object({ deployment: deploymentSchema }),
  async ({ deployment }) => handOffService(ports, deployment),
);
