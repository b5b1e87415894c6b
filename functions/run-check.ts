import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema } from '../lib/domain/schemas.ts';
import { runCheck } from '../lib/use-cases/run-check.ts';
import {
  createDriver,
  createProgressRecords,
  createReleaseEvents,
  createSmokeTester,
} from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = {
  smoke: createSmokeTester(),
  // Only the test URL is read: no AWS client behind it.
  driver: createDriver({}),
  store: createProgressRecords(),
  events: createReleaseEvents(),
};

/** The check step: runs its smoke test; a failure throws CheckFailed (the state machine rolls back). */
export const handler = shiplineHandler(
  'run-check',
  z.object({ deployment: deploymentSchema, cursor: stepCursorSchema }),
  async ({ deployment, cursor }) => runCheck(ports, deployment, cursor),
);
