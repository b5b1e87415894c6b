import { createSfnExecutionHistory } from '../lib/adapters/sfn-workflow.ts';
import { environment } from '../lib/env.ts';
import { alarmNotificationsFromSns, earliestStateChange } from '../lib/events/alarm-notification.ts';
import { snsEventSchema } from '../lib/events/sns.ts';
import type { ExecutionHistory } from '../lib/ports/index.ts';
import { reconcileEndedExecutions } from '../lib/use-cases/reconcile-ended-executions.ts';
import { lazyPort } from './shared/adapters.ts';
import { createEndedExecutionPorts } from './shared/ended-execution.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = {
  ...createEndedExecutionPorts(),
  history: lazyPort<ExecutionHistory>(() => createSfnExecutionHistory(environment.stateMachineArn), {
    listEnded: true,
    describe: true,
  }),
};

/**
 * Subscribed to the execution-ends topic, where the alarms on the release state machine's
 * ExecutionsAborted, ExecutionsTimedOut and ExecutionsFailed metrics send their ALARM and OK actions: the
 * backstop of the "Step Functions Execution Status Change" event (delivered best effort). Each notification
 * hands on every release execution that ended abnormally within the hour before the alarm's state change,
 * as that event would have.
 */
export const handler = shiplineHandler('reconcile-ended-executions', snsEventSchema, async (event) => {
  const notifications = alarmNotificationsFromSns(event);
  // The hour before the alarm's state change, however late Lambda runs (or retries) the notification.
  const notifiedAt = earliestStateChange(notifications);
  const result = await reconcileEndedExecutions(ports, notifiedAt ? { notifiedAt } : {});
  logger.info('ended executions reconciled', {
    alarms: notifications.map((n) => `${n.AlarmName} ${n.OldStateValue} -> ${n.NewStateValue}`),
    since: result.since,
    executions: result.executions.length,
  });
  return result;
});
