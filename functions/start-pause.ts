import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema, taskTokenSchema } from '../lib/domain/schemas.ts';
import { startPause } from '../lib/use-cases/pause.ts';
import { createWaitRegistry } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = { waits: createWaitRegistry() };

/** The pause step: registers its task token under the release for a person's promote or approve command. */
export const handler = shiplineHandler(
  'start-pause',
  z.object({ deployment: deploymentSchema, cursor: stepCursorSchema, taskToken: taskTokenSchema }),
  async ({ deployment, cursor, taskToken }) => startPause(ports, deployment, cursor, taskToken),
);
