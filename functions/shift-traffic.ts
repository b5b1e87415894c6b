import * as z from 'zod/mini';
import { deploymentSchema, shiftStepSchema, stepShiftsSchema } from '../lib/domain/schemas.ts';
import { shiftTraffic } from '../lib/use-cases/shift-traffic.ts';
import { createRouter, createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = { router: createRouter(), store: createStore() };

/** Sets the target-group weights of one plan step. */
export const handler = shiplineHandler(
  'shift-traffic',
  z.object({ deployment: deploymentSchema, step: shiftStepSchema, shifts: z.optional(stepShiftsSchema) }),
  async ({ deployment, step, shifts }) => shiftTraffic(ports, deployment, step, shifts),
);
