import * as z from 'zod/mini';
import { snsMessagesOf } from './sns.ts';

const text = () => z.string().check(z.minLength(1));

/**
 * The JSON message a CloudWatch alarm action publishes to SNS (the fields read here; the rest, such as
 * `Trigger`, `NewStateReason`, `AlarmActions`, passes through unchecked): which alarm, from and to which
 * state, and when (`2015-06-03T17:43:27.123+0000`).
 */
export const alarmNotificationSchema = z.looseObject({
  AlarmName: text(),
  NewStateValue: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  OldStateValue: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  // `2015-06-03T17:43:27.123+0000`: the look-back ends there.
  StateChangeTime: z
    .string()
    .check(
      z.refine(
        (value) => !Number.isNaN(Date.parse(value)),
        'expected a time such as 2015-06-03T17:43:27.123+0000',
      ),
    ),
});
export type AlarmNotification = z.output<typeof alarmNotificationSchema>;

/** The earliest state change among the notifications (undefined for none): the reconciliation's look-back ends there. */
export const earliestStateChange = (notifications: readonly AlarmNotification[]): Date | undefined => {
  const times = notifications.map((n) => Date.parse(n.StateChangeTime));
  return times.length > 0 ? new Date(Math.min(...times)) : undefined;
};

/**
 * The alarm notifications an SNS invocation carries, in record order. A record that is not one is an error
 * naming it: the subscription points at the wrong topic, or the message was damaged.
 */
export const alarmNotificationsFromSns = (event: unknown): AlarmNotification[] =>
  snsMessagesOf(event, alarmNotificationSchema, 'CloudWatch alarm notification');
