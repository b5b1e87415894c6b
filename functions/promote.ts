import * as z from 'zod/mini';
import { deploymentSchema, executionRefSchema, stepCursorSchema } from '../lib/domain/schemas.ts';
import { promoteRelease } from '../lib/use-cases/finish-release.ts';
import {
  createDriver,
  createNotifier,
  createReleaseEvents,
  createRouter,
  createStore,
  settings,
} from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = {
  store: createStore(),
  driver: createDriver({ router: createRouter() }),
  notifier: createNotifier(),
  events: createReleaseEvents(),
};

/** Records the new slot as stable and announces the promotion (the next state hands the lock on). */
export const handler = shiplineHandler(
  'promote',
  z.extend(executionRefSchema, {
    deployment: deploymentSchema,
    cursor: stepCursorSchema,
  }),
  async ({ deployment, cursor, executionArn }) => {
    const result = await promoteRelease(ports, settings(), deployment, executionArn, cursor);
    if (result.warnings.length > 0) logger.error('promoted with warnings', { warnings: result.warnings });
    return result;
  },
);
