import { parse as parseArn } from '@aws-sdk/util-arn-parser';
import * as z from 'zod';
import { parseDurationSeconds } from '../duration.ts';

/**
 * The longest duration Step Functions accepts as a Wait `Seconds` or a Task `TimeoutSeconds`: "a positive,
 * integer value from 0 up to 99999999"
 * (https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-wait-state.html). Bakes,
 * the steady timeout and the scale-down delay all end up as one of those.
 */
export const MAX_STATE_SECONDS = 99_999_999;

/** A duration written as `90s`, `10m`, `1h30m` or a number of seconds. */
export const durationSchema = z
  .union([z.string(), z.number()], { error: 'expected a duration such as 30s, 10m or 1h30m' })
  .check((ctx) => {
    const seconds = parseDurationSeconds(ctx.value);
    if (seconds === undefined) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `expected a duration in whole seconds such as 30s, 10m or 1h30m, got ${JSON.stringify(ctx.value)}`,
      });
    } else if (seconds > MAX_STATE_SECONDS) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `${JSON.stringify(ctx.value)} is longer than Step Functions allows (at most ${MAX_STATE_SECONDS} seconds)`,
      });
    }
  })
  .meta({ description: 'A duration such as 30s, 10m, 1h30m, or a number of seconds (at most 99999999).' });

/** The kinds of ARN the config refers to, with what each must look like. */
const ARN_KINDS = {
  'listener-rule': {
    service: 'elasticloadbalancing',
    resource: /^listener-rule\/app\/[^/]+\/[^/]+\/[^/]+\/[^/]+$/,
    shape:
      'arn:aws:elasticloadbalancing:<region>:<account>:listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id>',
  },
  'target-group': {
    service: 'elasticloadbalancing',
    resource: /^targetgroup\/[^/]+\/[^/]+$/,
    shape: 'arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>',
  },
  'sns-topic': {
    service: 'sns',
    resource: /^[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/,
    shape: 'arn:aws:sns:<region>:<account>:<topic>',
  },
  // IAM is global: a role ARN has no region (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
  'iam-role': {
    service: 'iam',
    resource: /^role\/(?:[\x21-\x7E]*\/)?[\w+=,.@-]{1,64}$/,
    shape: 'arn:aws:iam::<account>:role/<name>',
  },
} as const;

const ARN_LABELS = {
  'listener-rule': 'a listener-rule',
  'target-group': 'a target group',
  'sns-topic': 'an SNS topic',
  'iam-role': 'an IAM role',
} as const;

/** A kind of ARN `arnOf` checks. */
export type ArnKind = keyof typeof ARN_KINDS;

/** What an ARN that does not match was instead, for the message: `a listener-rule ARN`, `an sns ARN`. */
const describeArn = (text: string): string => {
  try {
    const arn = parseArn(text);
    const resourceType = arn.resource.split(/[/:]/)[0];
    const what = arn.service === 'elasticloadbalancing' && resourceType ? resourceType : arn.service;
    return `${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what} ARN`;
  } catch {
    return JSON.stringify(text);
  }
};

/**
 * A string that must be an ARN of one kind (parsed with `@aws-sdk/util-arn-parser`, service and resource
 * checked), with a region and a 12-digit account. Other config sections reuse it for their ARNs.
 */
export const arnOf = (kind: ArnKind) => {
  const { service, resource, shape } = ARN_KINDS[kind];
  return z.string().check((ctx) => {
    let arn: ReturnType<typeof parseArn> | undefined;
    try {
      arn = parseArn(ctx.value);
    } catch {
      arn = undefined;
    }
    if (
      !arn ||
      !/^aws(?:-[a-z]+)*$/.test(arn.partition) ||
      arn.service !== service ||
      !resource.test(arn.resource) ||
      (service === 'iam' ? arn.region !== '' : !/^[a-z]{2}(?:-[a-z]+)+-\d+$/.test(arn.region)) ||
      !/^\d{12}$/.test(arn.accountId)
    ) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `expected ${ARN_LABELS[kind]} ARN (${shape}), got ${describeArn(ctx.value)}`,
      });
    }
  });
};

/**
 * CloudWatch alarm names: 1 to 255 characters, no control characters
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html, AlarmName).
 */
const alarmNameSchema = z
  .string()
  .min(1, 'expected an alarm name')
  .max(255, 'an alarm name has at most 255 characters')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'an alarm name has no control characters');

/**
 * ECS service, container and cluster names: up to 255 letters, numbers, underscores and hyphens
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html, serviceName;
 * ContainerDefinition name; CreateCluster clusterName).
 */
const ecsNameSchema = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,255}$/, `expected an ECS ${what} name: 1 to 255 letters, digits, _ and -`);

/**
 * ECR repository names: 2 to 256 characters matching ECR's pattern
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html, repositoryName).
 */
const ecrRepositorySchema = z
  .string()
  .regex(
    /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    'expected an ECR repository name: 2 to 256 lowercase letters and digits, separated by ., _, - or /',
  );

const nameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,46}$/, 'expected lowercase letters, digits and dashes, at most 47 characters');

const slotSchema = z
  .object({
    service: ecsNameSchema('service').meta({ description: 'ECS service name of this slot.' }),
    targetGroupArn: arnOf('target-group').meta({
      description: 'Target group the slot registers its tasks in.',
    }),
    alarms: z.array(alarmNameSchema).default([]).meta({
      description: 'Alarms scoped to this slot; watched only while this slot carries the new version.',
    }),
  })
  .strict();

/** An ECS service deployed as two slots (blue, green) behind one ALB listener rule with weighted target groups. */
export const ecsAlbTargetSchema = z
  .object({
    type: z.literal('ecs-alb'),
    cluster: z
      .union(
        [
          ecsNameSchema('cluster'),
          z.string().regex(/^arn:aws(?:-[a-z]+)*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/),
        ],
        { error: 'expected an ECS cluster name (1 to 255 letters, digits, _ and -) or cluster ARN' },
      )
      .meta({ description: 'ECS cluster name or ARN.' }),
    container: ecsNameSchema('container').meta({
      description: 'Name of the container whose image is replaced.',
    }),
    listenerRuleArn: arnOf('listener-rule').meta({
      description: 'ALB listener rule that forwards to both slot target groups with weights.',
    }),
    slots: z.object({ blue: slotSchema, green: slotSchema }).strict(),
    taskRoleArns: z.array(arnOf('iam-role')).min(1).optional().meta({
      description:
        "The task and execution roles the service's task definitions name. When every service declares them, the deploy function may pass only these roles to ECS (iam:PassRole); otherwise any role of the account, to ECS tasks only.",
    }),
    scaleDownDelay: durationSchema
      .default('15m')
      .meta({ description: 'How long the old slot stays warm after promotion, for instant rollback.' }),
    rollbackWindow: durationSchema
      .refine((value) => (parseDurationSeconds(value) ?? 1) >= 1, {
        message: 'the rollback window must be at least 1s',
      })
      .optional()
      .meta({
        description:
          "After promotion, how long the new slot's alarms are still watched: an alarm in this window rolls back at once to the old slot, kept warm until the window ends (then scaled to 0). Defaults to scaleDownDelay.",
      }),
    steadyTimeout: durationSchema
      .refine((value) => (parseDurationSeconds(value) ?? 1) >= 1, {
        message: 'the steady timeout must be at least 1s',
      })
      .default('20m')
      .meta({
        description:
          'How long the new slot may take to reach a steady state before the release is rolled back.',
      }),
  })
  .strict();

const percentSchema = z
  .number({ error: 'expected a whole percentage from 1 to 100' })
  .int('expected a whole percentage from 1 to 100')
  .min(1, 'expected a whole percentage from 1 to 100')
  .max(100, 'expected a whole percentage from 1 to 100');

const canaryStepObjectSchema = z.object({ percent: percentSchema, bake: durationSchema.optional() }).strict();

const canaryStepSchema = z.union([percentSchema, canaryStepObjectSchema], {
  error: 'expected a step: a percentage from 1 to 100, or { percent, bake }',
});

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
export const strategySchema = z.discriminatedUnion('type', [canaryStrategySchema], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'expected type: canary' : 'expected a strategy with a type (canary)',
});

export const serviceSchema = z
  .object({
    image: z
      .object({
        repository: ecrRepositorySchema.meta({
          description: 'ECR repository whose pushes release this service.',
        }),
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
    target: z.discriminatedUnion('type', [ecsAlbTargetSchema], {
      error: (issue) =>
        issue.code === 'invalid_union' ? 'expected type: ecs-alb' : 'expected a target with a type (ecs-alb)',
    }),
    alarms: z
      .array(alarmNameSchema)
      .default([])
      .meta({ description: 'CloudWatch alarm names watched during every bake.' }),
    strategy: strategySchema,
    watchAlarms: z
      .boolean()
      .default(true)
      .meta({
        description:
          'Set to false to release a service that declares no alarm at all (no service or slot alarms): ' +
          'its bakes then watch nothing. Without it, such a service is refused.',
      }),
    notify: z
      .object({ topicArn: arnOf('sns-topic').optional() })
      .strict()
      .default({})
      .meta({ description: 'Where this service is notified; defaults to the pipeline topic.' }),
  })
  .strict();

export const shiplineConfigSchema = z
  .object({
    version: z.literal(1).default(1),
    services: z
      .preprocess(
        (services, ctx) => {
          // A YAML `__proto__` key is an own key of the parsed document, but copying the record would set
          // the prototype instead and the service would silently vanish: refuse it by name.
          if (typeof services === 'object' && services !== null && Object.hasOwn(services, '__proto__')) {
            ctx.issues.push({
              code: 'custom',
              input: services,
              path: ['__proto__'],
              message:
                'service name "__proto__" must be lowercase letters, digits and dashes, at most 47 characters',
            });
          }
          return services;
        },
        z.record(z.string(), serviceSchema),
      )
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
      const watched = service.alarms.length + blue.alarms.length + green.alarms.length;
      if (watched === 0 && service.watchAlarms) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', name],
          message:
            'watches no alarm; add alarms (service alarms or slot alarms) or set watchAlarms: false to release without watching',
        });
      }
      if (watched > 0 && !service.watchAlarms) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', name, 'watchAlarms'],
          message: 'watchAlarms: false but alarms are declared; remove the alarms or watchAlarms',
        });
      }
      checkSameAccountAndRegion(ctx, name, service);
      const lease =
        (parseDurationSeconds(service.target.steadyTimeout) ?? 0) +
        totalBakeSeconds(service.strategy) +
        Math.max(
          parseDurationSeconds(service.target.scaleDownDelay) ?? 0,
          parseDurationSeconds(service.target.rollbackWindow ?? service.target.scaleDownDelay) ?? 0,
        ) +
        LEASE_MARGIN_SECONDS;
      if (lease > MAX_LEASE_SECONDS) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', name],
          message: `a release of ${name} may hold its lock for ${lease} seconds (steady timeout + every bake + the longer of scale-down delay and rollback window + 1h), more than a Step Functions execution may run (${MAX_LEASE_SECONDS} seconds, one year); shorten them`,
        });
      }
      if (blue.service === green.service || blue.targetGroupArn === green.targetGroupArn) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', name, 'target', 'slots'],
          message: 'blue and green must be different ECS services in different target groups',
        });
      }
    }
  });

/** Every ARN of one service, by field path, for the account and region check. */
const serviceArns = (service: ServiceConfig): [PropertyKey[], string][] => [
  [['target', 'listenerRuleArn'], service.target.listenerRuleArn],
  [['target', 'slots', 'blue', 'targetGroupArn'], service.target.slots.blue.targetGroupArn],
  [['target', 'slots', 'green', 'targetGroupArn'], service.target.slots.green.targetGroupArn],
  ...(service.notify.topicArn
    ? [[['notify', 'topicArn'], service.notify.topicArn] as [PropertyKey[], string]]
    : []),
];

/** The listener rule, both target groups and the topic of a service must live in one account and region. */
const checkSameAccountAndRegion = (ctx: z.RefinementCtx, name: string, service: ServiceConfig): void => {
  const parsed = (text: string) => {
    try {
      return parseArn(text);
    } catch {
      return undefined; // arnOf reported it
    }
  };
  const rule = parsed(service.target.listenerRuleArn);
  if (!rule) return;
  for (const [path, text] of serviceArns(service).slice(1)) {
    const arn = parsed(text);
    if (!arn) continue;
    if (arn.region !== rule.region || arn.accountId !== rule.accountId) {
      ctx.addIssue({
        code: 'custom',
        path: ['services', name, ...path],
        message: `expected account ${rule.accountId} in ${rule.region} like the listener rule, got account ${arn.accountId} in ${arn.region}`,
      });
    }
  }
  // ECS passes a role to tasks only within the account (IAM roles have no region).
  (service.target.taskRoleArns ?? []).forEach((text, index) => {
    const arn = parsed(text);
    if (arn && arn.accountId !== rule.accountId) {
      ctx.addIssue({
        code: 'custom',
        path: ['services', name, 'target', 'taskRoleArns', index],
        message: `expected a role of account ${rule.accountId} like the listener rule, got account ${arn.accountId}`,
      });
    }
  });
};

/** Seconds every step of a strategy bakes, in total. */
const totalBakeSeconds = (strategy: StrategyConfig): number =>
  strategy.steps.reduce<number>(
    (total, step) =>
      total +
      (parseDurationSeconds(typeof step === 'number' ? strategy.bake : (step.bake ?? strategy.bake)) ?? 0),
    0,
  );

/** Margin the release lock lease keeps beyond the longest release; `leaseSecondsFor` adds the same hour. */
export const LEASE_MARGIN_SECONDS = 3600;

/**
 * The longest a release may hold its lock: a Standard Step Functions execution runs at most one year
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), so a longer lease outlives
 * the execution that would release it.
 */
export const MAX_LEASE_SECONDS = 365 * 24 * 3600;

export type ShiplineConfig = z.output<typeof shiplineConfigSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type StrategyConfig = z.output<typeof strategySchema>;
export type EcsAlbTargetConfig = z.output<typeof ecsAlbTargetSchema>;
