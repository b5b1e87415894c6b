import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema } from '../lib/domain/schemas.ts';
import { confirmSteadySlot } from '../lib/use-cases/deploy-slot.ts';
import { createAlarmWatcher, createDeployer, createDriver, createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = {
  store: createStore(),
  driver: createDriver({ slots: createDeployer() }),
  alarms: createAlarmWatcher(),
};

/** The steady wait timed out: read the deployment state directly (guard against a lost ECS event). */
export const handler = shiplineHandler(
  'confirm-steady-slot',
  z.object({
    deployment: deploymentSchema,
    cursor: stepCursorSchema,
  }),
  async ({ deployment, cursor }) => confirmSteadySlot(ports, deployment, cursor),
);
