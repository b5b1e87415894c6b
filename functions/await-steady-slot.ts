import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema, taskTokenSchema } from '../lib/domain/schemas.ts';
import { awaitSteadySlot } from '../lib/use-cases/deploy-slot.ts';
import {
  createDeployer,
  createDriver,
  createReleaseEvents,
  createStore,
  createTaskTokens,
} from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = {
  store: createStore(),
  driver: createDriver({ slots: createDeployer() }),
  tokens: createTaskTokens(),
  events: createReleaseEvents(),
};

/** The await-ready step: parks the task token until ECS reports the new slot's deployment completed or failed. */
export const handler = shiplineHandler(
  'await-steady-slot',
  z.object({
    deployment: deploymentSchema,
    cursor: stepCursorSchema,
    taskToken: taskTokenSchema,
  }),
  async ({ deployment, cursor, taskToken }) => awaitSteadySlot(ports, deployment, cursor, taskToken),
);
