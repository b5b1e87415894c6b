import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema } from '../lib/domain/schemas.ts';
import { deployToIdleSlot } from '../lib/use-cases/deploy-slot.ts';
import {
  createDeployer,
  createDriver,
  createProgressRecords,
  createReleaseEvents,
  createRouter,
} from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = {
  // The router: a slot still taking production traffic (a split left behind) is taken out of it first.
  driver: createDriver({ slots: createDeployer(), router: createRouter() }),
  store: createProgressRecords(),
  events: createReleaseEvents(),
};

/** The deploy step: a new task definition revision pinned to the digest, rolled out to the idle slot. */
export const handler = shiplineHandler(
  'deploy-slot',
  z.object({ deployment: deploymentSchema, cursor: stepCursorSchema }),
  async ({ deployment, cursor }) => deployToIdleSlot(ports, deployment, cursor),
);
