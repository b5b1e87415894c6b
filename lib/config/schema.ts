import * as z from 'zod';
import { parseDurationSeconds } from '../duration.ts';

/** A duration written as `90s`, `10m`, `1h30m` or a number of seconds. */
export const durationSchema = z
  .union([z.string(), z.number()])
  .refine((value) => parseDurationSeconds(value) !== undefined, {
    message: 'expected a duration such as 30s, 10m or 1h30m',
  })
  .meta({ description: 'A duration such as 30s, 10m, 1h30m, or a number of seconds.' });

const nameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,46}$/, 'expected lowercase letters, digits and dashes, at most 47 characters');

const arnSchema = (service: string) =>
  z
    .string()
    .regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), `expected an ${service} ARN (arn:aws:${service}:...)`);

const slotSchema = z
  .object({
    service: z.string().min(1).meta({ description: 'ECS service name of this slot.' }),
    targetGroupArn: arnSchema('elasticloadbalancing').meta({
      description: 'Target group the slot registers its tasks in.',
    }),
    alarms: z.array(z.string().min(1)).default([]).meta({
      description: 'Alarms scoped to this slot; watched only while this slot carries the new version.',
    }),
  })
  .strict();

/** An ECS service deployed as two slots (blue, green) behind one ALB listener rule with weighted target groups. */
export const ecsAlbTargetSchema = z
  .object({
    type: z.literal('ecs-alb'),
    cluster: z.string().min(1).meta({ description: 'ECS cluster name or ARN.' }),
    container: z.string().min(1).meta({ description: 'Name of the container whose image is replaced.' }),
    listenerRuleArn: arnSchema('elasticloadbalancing').meta({
      description: 'ALB listener rule that forwards to both slot target groups with weights.',
    }),
    slots: z.object({ blue: slotSchema, green: slotSchema }).strict(),
    scaleDownDelay: durationSchema
      .default('15m')
      .meta({ description: 'How long the old slot stays warm after promotion, for instant rollback.' }),
    rollbackWindow: durationSchema
      .refine((value) => (parseDurationSeconds(value) ?? 0) >= 1, {
        message: 'the rollback window must be at least 1s',
      })
      .optional()
      .meta({
        description:
          "After promotion, how long the new slot's alarms are still watched: an alarm in this window rolls back at once to the old slot, kept warm until the window ends (then scaled to 0). Defaults to scaleDownDelay.",
      }),
    steadyTimeout: durationSchema
      .refine((value) => (parseDurationSeconds(value) ?? 0) >= 1, {
        message: 'the steady timeout must be at least 1s',
      })
      .default('20m')
      .meta({
        description:
          'How long the new slot may take to reach a steady state before the release is rolled back.',
      }),
  })
  .strict();

const canaryStepSchema = z.union([
  z.number().int().min(1).max(100),
  z.object({ percent: z.number().int().min(1).max(100), bake: durationSchema.optional() }).strict(),
]);

/** Canary: shift a growing share of traffic to the new version, baking at each step. */
export const canaryStrategySchema = z
  .object({
    type: z.literal('canary'),
    steps: z
      .array(canaryStepSchema)
      .min(1)
      .meta({ description: 'Traffic percentages sent to the new version, in order; the last must be 100.' }),
    bake: durationSchema.meta({ description: 'How long each step bakes while alarms are watched.' }),
  })
  .strict()
  .superRefine((strategy, ctx) => {
    const percents = strategy.steps.map((step) => (typeof step === 'number' ? step : step.percent));
    percents.forEach((percent, index) => {
      const previous = percents[index - 1];
      if (previous !== undefined && percent <= previous) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index],
          message: `steps must increase: ${percent} follows ${previous}`,
        });
      }
    });
    if (percents.at(-1) !== 100) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'the last step must be 100' });
    }
    strategy.steps.forEach((step, index) => {
      const bake = typeof step === 'number' ? strategy.bake : (step.bake ?? strategy.bake);
      if (parseDurationSeconds(bake) === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index],
          message: 'a canary step must bake at least 1s',
        });
      }
    });
  });

/** Strategies are a discriminated union on `type`; later strategies (linear, all-at-once, blue-green) join it. */
export const strategySchema = z.discriminatedUnion('type', [canaryStrategySchema]);

export const serviceSchema = z
  .object({
    image: z
      .object({
        repository: z
          .string()
          .min(1)
          .meta({ description: 'ECR repository whose pushes release this service.' }),
        registry: z
          .object({
            account: z
              .string()
              .regex(/^\d{12}$/, 'expected a 12-digit account id')
              .meta({ description: 'AWS account that owns the ECR registry.' }),
            region: z
              .string()
              .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as us-east-1')
              .meta({ description: 'Region of the ECR registry.' }),
          })
          .strict()
          .optional()
          .meta({
            description:
              "The ECR registry whose pushes release this service. Defaults to the pipeline's own account and region: a push of the same repository name from any other registry is ignored.",
          }),
      })
      .strict(),
    target: z.discriminatedUnion('type', [ecsAlbTargetSchema]),
    alarms: z
      .array(z.string().min(1))
      .default([])
      .meta({ description: 'CloudWatch alarm names watched during every bake.' }),
    strategy: strategySchema,
    notify: z
      .object({ topicArn: arnSchema('sns').optional() })
      .strict()
      .default({})
      .meta({ description: 'Where this service is notified; defaults to the pipeline topic.' }),
  })
  .strict();

export const shiplineConfigSchema = z
  .object({
    version: z.literal(1).default(1),
    services: z
      .record(z.string(), serviceSchema)
      .refine((services) => Object.keys(services).length > 0, { message: 'declare at least one service' }),
  })
  .strict()
  .superRefine((config, ctx) => {
    const owners = new Map<string, string>();
    for (const [name, service] of Object.entries(config.services)) {
      const validName = nameSchema.safeParse(name);
      if (!validName.success) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', name],
          message: `service name "${name}" must be lowercase letters, digits and dashes, at most 47 characters`,
        });
      }
      const owner = owners.get(service.image.repository);
      if (owner) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', name, 'image', 'repository'],
          message: `repository "${service.image.repository}" already releases service "${owner}"`,
        });
      }
      owners.set(service.image.repository, name);
      const { blue, green } = service.target.slots;
      if (blue.service === green.service || blue.targetGroupArn === green.targetGroupArn) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', name, 'target', 'slots'],
          message: 'blue and green must be different ECS services in different target groups',
        });
      }
    }
  });

export type ShiplineConfig = z.output<typeof shiplineConfigSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type StrategyConfig = z.output<typeof strategySchema>;
export type EcsAlbTargetConfig = z.output<typeof ecsAlbTargetSchema>;
