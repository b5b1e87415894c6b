import * as z from 'zod';
import { durationSchema } from '../../lib/config/schema.ts';
import { RELEASE_OUTCOMES } from '../../lib/domain/types.ts';

/** `0.1%` or `0.001`: a fraction of requests. */
const rateSchema = z
  .union([
    z.number().min(0).max(1),
    z.string().regex(/^\d+(\.\d+)?%$/, 'expected a percentage such as 0.1% or 8%'),
  ])
  .transform((value) => (typeof value === 'number' ? value : Number(value.slice(0, -1)) / 100));

const digestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>');

const changeSchema = z
  .object({
    after: durationSchema.optional().meta({ description: 'Once the version has served traffic this long.' }),
    atTrafficPercentAtLeast: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .meta({ description: 'While it receives at least this share.' }),
    errorRate: rateSchema.optional(),
    latencyMs: z.number().min(0).optional(),
  })
  .strict();

const versionSchema = z
  .object({
    digest: digestSchema,
    errorRate: rateSchema.default(0.001),
    latencyMs: z.number().min(0).default(80),
    failsToStart: z
      .boolean()
      .default(false)
      .meta({ description: 'Tasks never become healthy (ECS circuit breaker fails the deployment).' }),
    changes: z.array(changeSchema).default([]),
  })
  .strict();

const alarmSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    metric: z.string().default('HTTPCode_Target_5XX_Count'),
    namespace: z.string().default('AWS/ApplicationELB'),
    targetGroup: z
      .enum(['blue', 'green'])
      .optional()
      .meta({ description: 'Scope to one slot; omit for the whole load balancer.' }),
    statistic: z.enum(['Sum', 'Average', 'Maximum', 'Minimum', 'SampleCount']).default('Sum'),
    period: z.number().int().multipleOf(60).default(60),
    evaluationPeriods: z.number().int().min(1).default(2),
    datapointsToAlarm: z.number().int().min(1).optional(),
    threshold: z.number(),
    comparison: z
      .enum([
        'GreaterThanThreshold',
        'GreaterThanOrEqualToThreshold',
        'LessThanThreshold',
        'LessThanOrEqualToThreshold',
      ])
      .default('GreaterThanThreshold'),
    treatMissingData: z.enum(['missing', 'notBreaching', 'breaching', 'ignore']).default('notBreaching'),
    initialState: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']).default('OK'),
    stateSince: durationSchema
      .default('1h')
      .meta({ description: 'How long before the start the alarm entered its initial state.' }),
  })
  .strict();

/** Whole milliseconds, for latencies under a second. */
const millisecondsSchema = z.number().int().min(0);

/**
 * `world.timing`: how long things take on AWS. Every field is optional; the defaults and their sources are
 * in `sandbox/aws/timing.ts`.
 */
const timingSchema = z
  .object({
    eventDeliveryMs: millisecondsSchema.optional().meta({
      description:
        'EventBridge: event put on the bus to its target invoked, in ms (default 500: "near real-time").',
    }),
    lambdaColdStartMs: millisecondsSchema.optional().meta({
      description:
        'Lambda init in a new execution environment, in ms (default 400; AWS: "under 100 ms to over 1 second").',
    }),
    lambdaWarmStartMs: millisecondsSchema
      .optional()
      .meta({ description: 'Lambda invocation overhead in a warm environment, in ms (default 5).' }),
    lambdaIdleReclaim: durationSchema.optional().meta({
      description:
        'An idle Lambda execution environment is reclaimed after this long (default 5m; AWS: "non-deterministic").',
    }),
    apiCallMs: millisecondsSchema
      .optional()
      .meta({ description: 'Each AWS API call a function makes, in ms (default 30).' }),
    ecsTaskStart: durationSchema.optional().meta({
      description: 'ECS task launch to container started: capacity, image pull, start (default 60s).',
    }),
    healthCheckInterval: durationSchema
      .optional()
      .meta({ description: 'ALB target group health check interval (default 30s, the ALB default).' }),
    unhealthyThresholdCount: z.number().int().min(2).max(10).optional().meta({
      description: 'Failed health checks before a target is unhealthy (default 2, the ALB default).',
    }),
    deregistrationDelay: durationSchema.optional().meta({
      description: 'ALB deregistration delay: old tasks drain this long before they stop (default 300s).',
    }),
  })
  .strict();

const deliveryRuleSchema = z
  .object({
    detailType: z.string().min(1).meta({ description: 'e.g. CloudWatch Alarm State Change.' }),
    fn: z.string().min(1).optional().meta({
      description: 'Only deliveries to this function (serverless.yml key); all matching when absent.',
    }),
    match: z.record(z.string(), z.unknown()).optional().meta({
      description:
        'An EventBridge pattern the event must also match, e.g. { detail: { state: { value: [ALARM] } } }.',
    }),
    delay: durationSchema.optional().meta({
      description: 'Deliver this long late (reorder: delay an event past the next one).',
    }),
    duplicate: z.number().int().min(1).max(10).optional().meta({
      description: 'Deliver this many extra copies (EventBridge is at-least-once).',
    }),
    drop: z.literal(true).optional().meta({ description: 'Never deliver it.' }),
    times: z
      .number()
      .int()
      .min(1)
      .default(1)
      .meta({ description: 'How many matching events this applies to, in order.' }),
  })
  .strict()
  .refine((rule) => rule.delay !== undefined || rule.duplicate !== undefined || rule.drop !== undefined, {
    message: 'say what happens to the event: delay, duplicate or drop',
  })
  .refine((rule) => !(rule.drop && (rule.delay !== undefined || rule.duplicate !== undefined)), {
    message: 'a dropped event is never delivered: drop cannot go with delay or duplicate',
  });

const pushSchema = z.object({ version: z.string().min(1), tag: z.string().optional() }).strict();

const triggerSchema = z.union([
  z
    .object({ push: pushSchema })
    .strict()
    .meta({ description: 'An ECR push of a version, delivered as AWS emits the ECR Image Action event.' }),
  z
    .object({ event: z.record(z.string(), z.unknown()) })
    .strict()
    .meta({ description: 'A raw EventBridge event, delivered as is.' }),
  z
    .object({ manual: z.object({ version: z.string().min(1), requestedBy: z.string().optional() }).strict() })
    .strict(),
]);

const scheduledEventSchema = z.intersection(
  z.object({ at: durationSchema }),
  z.union([
    z.object({ push: pushSchema }),
    z.object({ event: z.record(z.string(), z.unknown()) }),
    z.object({ manual: z.object({ version: z.string().min(1) }).strict() }),
    z.object({
      duplicate: z
        .literal(true)
        .meta({ description: 'Deliver the trigger event again (EventBridge at-least-once).' }),
    }),
    z.object({
      alarm: z
        .object({
          name: z.string(),
          state: z.enum(['OK', 'ALARM']),
          reason: z.string().default('forced by the scenario'),
        })
        .strict(),
    }),
  ]),
);

const faultSchema = z.union([
  z
    .object({
      command: z
        .string()
        .min(1)
        .meta({ description: 'AWS API name, e.g. ModifyRule, UpdateService, PutItem.' }),
      error: z.string().default('ThrottlingException'),
      message: z.string().default('Rate exceeded'),
      times: z.number().int().min(1).default(1),
      after: durationSchema
        .optional()
        .meta({ description: 'Only calls made at or after this virtual time fail.' }),
    })
    .strict(),
  z
    .object({
      state: z.string().min(1).meta({ description: 'State name in the state machine.' }),
      error: z.string().default('Lambda.ServiceException'),
      cause: z.string().default('injected by the scenario'),
      times: z.number().int().min(1).default(1),
    })
    .strict(),
]);

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    config: z
      .union([z.string(), z.record(z.string(), z.unknown())])
      .default('../shipline.yml')
      .meta({ description: 'shipline.yml path (relative to the scenario file) or the config inline.' }),
    service: z
      .string()
      .optional()
      .meta({ description: 'Service to release; defaults to the first one in the config.' }),
    world: z
      .object({
        start: z.iso.datetime().default('2026-11-22T10:00:00Z'),
        account: z
          .string()
          .regex(/^\d{12}$/)
          .default('123456789012'),
        region: z.string().default('us-east-1'),
        serving: z.string().min(1).meta({ description: 'Version serving 100% at the start.' }),
        stableSlot: z.enum(['blue', 'green']).default('blue'),
        desiredCount: z.number().int().min(1).default(4),
        requestsPerMinute: z.number().min(0).default(6000),
        ecsDeploySeconds: z.number().int().min(1).optional().meta({
          description:
            'Seconds from launch until a new ECS task is healthy in its target group (default: world.timing ecsTaskStart + healthCheckInterval, 90).',
        }),
        timing: timingSchema.default({}).meta({
          description: 'How long things take on AWS; defaults and their sources in sandbox/aws/timing.ts.',
        }),
        delivery: z.array(deliveryRuleSchema).default([]).meta({
          description:
            'EventBridge delivery faults: an event to a function delivered late, more than once, or never.',
        }),
        alarms: z.array(alarmSchema).default([]),
        taskDefinitionTags: z.record(z.string(), z.string()).default({}).meta({
          description:
            'Extra tags on the stable task definition, as CloudFormation or the team left them (aws: tags allowed).',
        }),
        listenerRule: z
          .object({
            authenticate: z.enum(['oidc']).optional().meta({
              description: 'Authenticate with an OIDC IdP (an authenticate-oidc action) before forwarding.',
            }),
          })
          .strict()
          .default({}),
        dropEvents: z
          .array(
            z
              .object({
                detailType: z.string().min(1).meta({ description: 'e.g. CloudWatch Alarm State Change.' }),
                times: z.number().int().min(1).default(1),
              })
              .strict(),
          )
          .default([])
          .meta({
            description:
              'EventBridge loses the next `times` events of this detail-type (no function is invoked). world.delivery with drop: true does the same per function.',
          }),
      })
      .strict(),
    versions: z.record(z.string(), versionSchema),
    trigger: triggerSchema,
    events: z.array(scheduledEventSchema).default([]),
    faults: z.array(faultSchema).default([]),
    until: durationSchema.default('6h').meta({ description: 'Virtual time limit for the run.' }),
    expect: z
      .object({
        outcome: z.enum(RELEASE_OUTCOMES).optional(),
        servingVersion: z.string().optional(),
        executions: z.number().int().min(0).optional(),
        notifications: z
          .array(z.string())
          .optional()
          .meta({ description: 'Notification events in order, e.g. [started, promoted].' }),
        reasonContains: z.string().optional(),
        maxRollbackReactionSeconds: z.number().min(0).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Scenario = z.output<typeof scenarioSchema>;
