import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema, taskTokenSchema } from '../lib/domain/schemas.ts';
import { startBake } from '../lib/use-cases/bake.ts';
import { createAlarmWatcher, createReleaseEvents, createStore, createTaskTokens } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = {
  store: createStore(),
  alarms: createAlarmWatcher(),
  tokens: createTaskTokens(),
  events: createReleaseEvents(),
};

/** Registers the bake's task token against the watched alarms; an alarm event ends the bake at once. */
export const handler = shiplineHandler(
  'start-bake',
  z.object({
    deployment: deploymentSchema,
    cursor: stepCursorSchema,
    taskToken: taskTokenSchema,
  }),
  async ({ deployment, cursor, taskToken }) => startBake(ports, deployment, cursor, taskToken),
);
