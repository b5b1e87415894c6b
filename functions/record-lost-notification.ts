import * as z from 'zod/mini';
import { caughtFailureSchema } from '../lib/domain/schemas.ts';
import { recordLostNotification } from '../lib/use-cases/finish-release.ts';
import { createMetrics, createReleaseEvents, createStore } from './shared/adapters.ts';
import { reportInputSchema } from './shared/report-input.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), metrics: createMetrics(), events: createReleaseEvents() };

/**
 * A report state failed past its retries: records the release anyway, counts the lost notification
 * (CloudWatch Shipline/NotificationsLost, so an alarm pages) and says so in the execution.
 */
export const handler = shiplineHandler(
  'record-lost-notification',
  z.extend(reportInputSchema, { error: caughtFailureSchema }),
  async (input) => {
    const result = await recordLostNotification(ports, input);
    if (result.notificationLost)
      logger.error('a release notification was lost', { notificationLost: result.notificationLost });
    return result;
  },
);
