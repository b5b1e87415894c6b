import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema, taskTokenSchema } from '../lib/domain/schemas.ts';
import { startRollbackWindow } from '../lib/use-cases/bake.ts';
import { createAlarmWatcher, createReleaseEvents, createStore, createTaskTokens } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = {
  store: createStore(),
  alarms: createAlarmWatcher(),
  tokens: createTaskTokens(),
  events: createReleaseEvents(),
};

/** After promotion: registers the window's task token against the watched alarms; an alarm rolls back at once. */
export const handler = shiplineHandler(
  'start-rollback-window',
  z.object({ deployment: deploymentSchema, cursor: stepCursorSchema, taskToken: taskTokenSchema }),
  async ({ deployment, cursor, taskToken }) => startRollbackWindow(ports, deployment, cursor, taskToken),
);
