import * as z from 'zod/mini';
import {
  caughtFailureSchema,
  deploymentSchema,
  executionRefSchema,
  stepCursorSchema,
} from '../lib/domain/schemas.ts';
import { rollBackRelease } from '../lib/use-cases/finish-release.ts';
import {
  createDriver,
  createNotifier,
  createReleaseEvents,
  createReverter,
  createRouter,
  createScaler,
  createStore,
  settings,
} from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = {
  store: createStore(),
  driver: createDriver({ router: createRouter(), slots: { ...createScaler(), ...createReverter() } }),
  notifier: createNotifier(),
  events: createReleaseEvents(),
};

/** All traffic back to the stable slot, new slot to zero, record, notify (the next state hands the lock on). */
export const handler = shiplineHandler(
  'roll-back',
  z.extend(executionRefSchema, {
    deployment: deploymentSchema,
    failure: z.optional(caughtFailureSchema),
    cursor: z.optional(stepCursorSchema),
  }),
  async ({ deployment, failure, executionArn, cursor }) => {
    const result = await rollBackRelease(ports, settings(), deployment, failure, executionArn, cursor);
    if (result.warnings.length > 0) logger.error('rolled back with warnings', { warnings: result.warnings });
    return result;
  },
);
