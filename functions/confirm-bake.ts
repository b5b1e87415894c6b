import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema } from '../lib/domain/schemas.ts';
import { finishBake } from '../lib/use-cases/bake.ts';
import { createAlarmWatcher, createReleaseEvents, createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), alarms: createAlarmWatcher(), events: createReleaseEvents() };

/**
 * End of a quiet bake: confirms with DescribeAlarms and the alarms' history that nothing fired (guard
 * against a lost event) and returns the next step's cursor; a failed bake throws BakeFailed.
 */
export const handler = shiplineHandler(
  'confirm-bake',
  z.object({ deployment: deploymentSchema, cursor: stepCursorSchema }),
  async ({ deployment, cursor }) => finishBake(ports, deployment, cursor),
);
