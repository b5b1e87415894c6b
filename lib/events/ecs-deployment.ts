import * as z from 'zod/mini';

/** "ECS Deployment State Change" as EventBridge delivers it. */
export const ecsDeploymentStateChangeEventSchema = z.object({
  version: z.string(),
  id: z.string().check(z.minLength(1)),
  'detail-type': z.literal('ECS Deployment State Change'),
  source: z.literal('aws.ecs'),
  account: z.string(),
  time: z.string().check(z.minLength(1)),
  region: z.string(),
  resources: z._default(z.array(z.string()), []),
  detail: z.object({
    eventType: z.string(),
    eventName: z.enum([
      'SERVICE_DEPLOYMENT_IN_PROGRESS',
      'SERVICE_DEPLOYMENT_COMPLETED',
      'SERVICE_DEPLOYMENT_FAILED',
    ]),
    deploymentId: z.string().check(z.minLength(1)),
    updatedAt: z.optional(z.string()),
    reason: z.optional(z.string()),
  }),
});

export type EcsDeploymentStateChangeEvent = z.output<typeof ecsDeploymentStateChangeEventSchema>;
