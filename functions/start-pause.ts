import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema, taskTokenSchema } from '../lib/domain/schemas.ts';
import { startPause } from '../lib/use-cases/pause.ts';
import { createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore() };

/** The pause step: records the task token on the release for a person's promote or approve command. */
export const handler = shiplineHandler(
  'start-pause',
  z.object({ deployment: deploymentSchema, cursor: stepCursorSchema, taskToken: taskTokenSchema }),
  async ({ deployment, cursor, taskToken }) => startPause(ports, deployment, cursor, taskToken),
);
