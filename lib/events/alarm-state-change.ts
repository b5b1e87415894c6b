import * as z from 'zod/mini';

const alarmStateSchema = z.object({
  value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  reason: z._default(z.string(), ''),
  reasonData: z.optional(z.string()),
  timestamp: z.string().check(z.minLength(1)),
});

/** "CloudWatch Alarm State Change" as EventBridge delivers it (delivery is guaranteed by CloudWatch). */
export const alarmStateChangeEventSchema = z.object({
  version: z.string(),
  id: z.string().check(z.minLength(1)),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  source: z.literal('aws.cloudwatch'),
  account: z.string(),
  time: z.string().check(z.minLength(1)),
  region: z.string(),
  resources: z._default(z.array(z.string()), []),
  detail: z.object({
    alarmName: z.string().check(z.minLength(1)),
    state: alarmStateSchema,
    previousState: z.optional(alarmStateSchema),
    configuration: z.optional(z.record(z.string(), z.unknown())),
  }),
});

export type AlarmStateChangeEvent = z.output<typeof alarmStateChangeEventSchema>;
