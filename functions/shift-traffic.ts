import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema } from '../lib/domain/schemas.ts';
import { moveTraffic } from '../lib/use-cases/shift-traffic.ts';
import { createDriver, createReleaseEvents, createRouter, createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = {
  driver: createDriver({ router: createRouter() }),
  store: createStore(),
  events: createReleaseEvents(),
};

/**
 * The traffic steps: shift (weights), swap (all production traffic in one call) and test-traffic (the test
 * route); returns the next step's cursor.
 */
export const handler = shiplineHandler(
  'shift-traffic',
  z.object({ deployment: deploymentSchema, cursor: stepCursorSchema }),
  async ({ deployment, cursor }) => moveTraffic(ports, deployment, cursor),
);
