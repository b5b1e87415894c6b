import * as z from 'zod';

const alarmStateSchema = z.object({
  value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  reason: z.string().default(''),
  reasonData: z.string().optional(),
  timestamp: z.string().min(1),
});

/** "CloudWatch Alarm State Change" as EventBridge delivers it (delivery is guaranteed by CloudWatch). */
export const alarmStateChangeEventSchema = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  source: z.literal('aws.cloudwatch'),
  account: z.string(),
  time: z.string().min(1),
  region: z.string(),
  resources: z.array(z.string()).default([]),
  detail: z.object({
    alarmName: z.string().min(1),
    state: alarmStateSchema,
    previousState: alarmStateSchema.optional(),
    configuration: z.record(z.string(), z.unknown()).optional(),
  }),
});

export type AlarmStateChangeEvent = z.output<typeof alarmStateChangeEventSchema>;
