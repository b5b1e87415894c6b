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

const serviceField = z.string().min(1).optional().meta({
  description: "The service (of the config) it concerns; defaults to the scenario's service.",
});

const pushSchema = z
  .object({ version: z.string().min(1), tag: z.string().optional(), service: serviceField })
  .strict();

const manualSchema = z
  .object({ version: z.string().min(1), requestedBy: z.string().optional(), service: serviceField })
  .strict();

const percentSchema = z.number().int().min(0).max(100);

/**
 * One service's state at the start of the run. The scenario's own service may also be described by the
 * same fields directly under `world` (the single-service shorthand).
 */
const serviceStateShape = {
  serving: z
    .string()
    .min(1)
    .meta({ description: 'Version the stable slot runs (serving 100% unless `weights` says otherwise).' }),
  stableSlot: z.enum(['blue', 'green']).default('blue'),
  desiredCount: z.number().int().min(1).default(4),
  requestsPerMinute: z
    .number()
    .min(0)
    .default(6000)
    .meta({ description: "Requests per minute through the service's listener rule." }),
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
  idleServing: z.string().min(1).optional().meta({
    description:
      'Version the idle slot runs at the start (desiredCount tasks); omit for an idle slot with no task.',
  }),
  weights: z
    .object({ blue: percentSchema, green: percentSchema })
    .strict()
    .refine((w) => w.blue + w.green === 100, 'blue and green weights must add up to 100')
    .optional()
    .meta({
      description:
        'Listener rule weights at the start, e.g. { blue: 75, green: 25 } (a split an interrupted release left); default 100 to the stable slot.',
    }),
  lock: z
    .object({
      holder: z
        .string()
        .min(1)
        .default('earlier-release')
        .meta({ description: 'Release id holding the lock.' }),
      requestedAgo: durationSchema
        .default('1h')
        .meta({ description: "How long before the start the holder's image was pushed." }),
      leaseRemaining: durationSchema.meta({
        description: 'How long after the start its lease expires (then a waiting release takes the lock).',
      }),
    })
    .strict()
    .optional()
    .meta({
      description: 'A release lock held at the start by an earlier execution that will not release it.',
    }),
  history: z
    .array(
      z
        .object({
          releaseId: z.string().min(1).optional().meta({ description: 'Default: history-<index>.' }),
          fromVersion: z.string().min(1).optional(),
          toVersion: z.string().min(1),
          status: z.enum(['in_progress', ...RELEASE_OUTCOMES]),
          ago: durationSchema.meta({ description: 'How long before the start it was requested.' }),
          reason: z.string().optional(),
        })
        .strict(),
    )
    .default([])
    .meta({
      description: 'Earlier release records in the release table, as the pipeline wrote them (newest last).',
    }),
};

const serviceStateSchema = z.object(serviceStateShape).strict();

/** One service's expected end state. */
const serviceExpectationSchema = z
  .object({
    outcome: z.enum(RELEASE_OUTCOMES).optional(),
    servingVersion: z.string().optional(),
    notifications: z
      .array(z.string())
      .optional()
      .meta({ description: "The service's notification events in order, e.g. [started, promoted]." }),
  })
  .strict();

const triggerSchema = z.union([
  z
    .object({ push: pushSchema })
    .strict()
    .meta({ description: 'An ECR push of a version, delivered as AWS emits the ECR Image Action event.' }),
  z
    .object({ event: z.record(z.string(), z.unknown()) })
    .strict()
    .meta({ description: 'A raw EventBridge event, delivered as is.' }),
  z.object({ manual: manualSchema }).strict(),
]);

const scheduledEventSchema = z.intersection(
  z.object({ at: durationSchema }),
  z.union([
    z.object({ push: pushSchema }),
    z.object({ event: z.record(z.string(), z.unknown()) }),
    z.object({ manual: manualSchema }),
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
        ...serviceStateShape,
        serving: serviceStateShape.serving.optional().meta({
          description:
            "Single-service shorthand: the version the scenario's service serves at the start (with the fields beside it). Omit when world.services describes that service.",
        }),
        ecsDeploySeconds: z.number().int().min(1).default(90),
        services: z.record(z.string(), serviceStateSchema).default({}).meta({
          description:
            "Each service's state at the start (services of the config); the scenario's service may use the shorthand fields above instead, never both.",
        }),
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
              'EventBridge loses the next `times` events of this detail-type (no function is invoked).',
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
        services: z
          .record(z.string(), serviceExpectationSchema)
          .optional()
          .meta({ description: 'Expected end state per service (several services in one world).' }),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Scenario = z.output<typeof scenarioSchema>;

/** One service's state at the start of a run (from `world.services.<name>` or the shorthand under `world`). */
export type ServiceWorldState = z.output<typeof serviceStateSchema>;
