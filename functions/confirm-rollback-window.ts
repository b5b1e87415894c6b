import * as z from 'zod/mini';
import { bakePromotionSchema, deploymentSchema, stepCursorSchema } from '../lib/domain/schemas.ts';
import { confirmRollbackWindow, promoteRollbackWindow } from '../lib/use-cases/bake.ts';
import { createAlarmWatcher, createReleaseEvents, createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), alarms: createAlarmWatcher(), events: createReleaseEvents() };

/**
 * End of a quiet rollback window: confirms with DescribeAlarms that nothing fired (AlarmAfterPromotion if it
 * did). With a `promotion` (a person promoted the release during the window), the window ends now.
 */
export const handler = shiplineHandler(
  'confirm-rollback-window',
  z.object({
    deployment: deploymentSchema,
    cursor: stepCursorSchema,
    promotion: z.optional(bakePromotionSchema),
  }),
  async ({ deployment, cursor, promotion }) =>
    promotion
      ? promoteRollbackWindow(ports, deployment, cursor, promotion)
      : confirmRollbackWindow(ports, deployment, cursor),
);
