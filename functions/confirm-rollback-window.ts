import * as z from 'zod/mini';
import { deploymentSchema, stepCursorSchema } from '../lib/domain/schemas.ts';
import { confirmRollbackWindow } from '../lib/use-cases/bake.ts';
import { createAlarmWatcher, createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), alarms: createAlarmWatcher() };

/** End of a quiet rollback window: confirms with DescribeAlarms that nothing fired (AlarmAfterPromotion if it did). */
export const handler = shiplineHandler(
  'confirm-rollback-window',
  z.object({ deployment: deploymentSchema, cursor: stepCursorSchema }),
  async ({ deployment, cursor }) => confirmRollbackWindow(ports, deployment, cursor),
);
