import * as z from 'zod/mini';
import { deploymentSchema, shiftStepSchema, stepShiftsSchema } from '../lib/domain/schemas.ts';
import { confirmBake } from '../lib/use-cases/bake.ts';
import { createAlarmWatcher, createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), alarms: createAlarmWatcher() };

/** End of a quiet bake: confirms with DescribeAlarms that nothing fired (guard against a lost event). */
export const handler = shiplineHandler(
  'confirm-bake',
  z.object({ deployment: deploymentSchema, step: shiftStepSchema, shifts: z.optional(stepShiftsSchema) }),
  async ({ deployment, step, shifts }) => confirmBake(ports, deployment, step, shifts),
);
