import * as z from 'zod';

/** "ECS Deployment State Change" as EventBridge delivers it. */
export const ecsDeploymentStateChangeEventSchema = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.literal('ECS Deployment State Change'),
  source: z.literal('aws.ecs'),
  account: z.string(),
  time: z.string().min(1),
  region: z.string(),
  resources: z.array(z.string()).default([]),
  detail: z.object({
    eventType: z.string(),
    eventName: z.enum([
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
      'SERVICE_DEPLOYMENT_COMPLETED',
      'SERVICE_DEPLOYMENT_FAILED',
    ]),
    deploymentId: z.string().min(1),
    updatedAt: z.string().optional(),
    reason: z.string().optional(),
  }),
});

export type EcsDeploymentStateChangeEvent = z.output<typeof ecsDeploymentStateChangeEventSchema>;
