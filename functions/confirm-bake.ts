import * as z from 'zod/mini';
import { bakePromotionSchema, deploymentSchema, stepCursorSchema } from '../lib/domain/schemas.ts';
import { finishBake, promoteBake } from '../lib/use-cases/bake.ts';
import { createAlarmWatcher, createReleaseEvents, createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), alarms: createAlarmWatcher(), events: createReleaseEvents() };

/**
 * End of a quiet bake: confirms with DescribeAlarms and the alarms' history that nothing fired (guard
 * against a lost event) and returns the next step's cursor; a failed bake throws BakeFailed. With a
 * `promotion` (a person promoted the release during the bake), the bake ends as passed on their word.
 */
export const handler = shiplineHandler(
  'confirm-bake',
  z.object({
    deployment: deploymentSchema,
    cursor: stepCursorSchema,
    promotion: z.optional(bakePromotionSchema),
  }),
  async ({ deployment, cursor, promotion }) =>
    promotion ? promoteBake(ports, deployment, cursor, promotion) : finishBake(ports, deployment, cursor),
);
