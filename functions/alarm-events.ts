import { alarmStateChangeEventSchema } from '../lib/events/alarm-state-change.ts';
import { onAlarmStateChange } from '../lib/use-cases/bake.ts';
import { createStore, createTaskTokens } from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), tokens: createTaskTokens() };

/**
 * EventBridge "CloudWatch Alarm State Change" -> fails every bake and rolling rollout watching that alarm, and
 * ends rollback windows.
 */
export const handler = shiplineHandler('alarm-events', alarmStateChangeEventSchema, async (event) => {
  const result = await onAlarmStateChange(ports, event);
  logger.info('alarm state change', {
    alarm: event.detail.alarmName,
    state: event.detail.state.value,
    ...result,
  });
  return result;
});
