import * as z from 'zod/mini';
import {
  caughtFailureSchema,
  deploymentSchema,
  executionRefSchema,
  releaseRequestSchema,
} from '../lib/domain/schemas.ts';
import { REPORT_KINDS, recordLostNotification } from '../lib/use-cases/finish-release.ts';
import { createMetrics, createStore } from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), metrics: createMetrics() };

/**
 * A report state failed past its retries: records the release anyway, counts the lost notification
 * (CloudWatch Shipline/NotificationsLost, so an alarm pages) and says so in the execution.
 */
export const handler = shiplineHandler(
  'record-lost-notification',
  z.extend(executionRefSchema, {
    kind: z.enum(REPORT_KINDS),
    request: releaseRequestSchema,
    deployment: z.optional(deploymentSchema),
    failure: z.optional(caughtFailureSchema),
    rolledBackBecause: z.optional(caughtFailureSchema),
    supersededBy: z.optional(z.string()),
    error: caughtFailureSchema,
  }),
  async (input) => {
    const result = await recordLostNotification(ports, input);
    logger.error('a release notification was lost', { notificationLost: result.notificationLost });
    return result;
  },
);
