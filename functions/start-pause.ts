import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema, taskTokenSchema } from '../lib/domain/schemas.ts';
import { environment } from '../lib/env.ts';
import { startPause } from '../lib/use-cases/pause.ts';
import {
  createNotificationMarks,
  createNotifier,
  createProgressRecords,
  createReleaseEvents,
  createWaitRegistry,
} from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = {
  waits: createWaitRegistry(),
  store: createNotificationMarks(),
  notifier: createNotifier(),
  records: createProgressRecords(),
  events: createReleaseEvents(),
};

/**
 * The pause step: registers its task token under the release for a person's `shipline approve` or
 * `abort`, and sends the `paused` notification naming those commands.
 */
export const handler = shiplineHandler(
  'start-pause',
  z.object({
    deployment: deploymentSchema,
    cursor: stepCursorSchema,
    taskToken: taskTokenSchema,
    executionArn: z.optional(z.string().check(z.minLength(1))),
  }),
  async ({ deployment, cursor, taskToken, executionArn }) => {
    const result = await startPause(
      ports,
      { region: environment.region(), tableName: environment.tableName() },
      deployment,
      cursor,
      taskToken,
      executionArn,
    );
    if (result.warnings) logger.error('paused with warnings', { warnings: result.warnings });
    return result;
  },
);
