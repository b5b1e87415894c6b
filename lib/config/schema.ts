import { parse as parseArn } from '@aws-sdk/util-arn-parser';
import * as z from 'zod';
import { INCONCLUSIVE_POLICIES } from '../domain/plan.ts';
import { parseDurationSeconds } from '../duration.ts';
import { buildPlan } from '../strategies/index.ts';
import { LEASE_MARGIN_SECONDS, leaseSecondsOf } from '../strategies/lease.ts';
import { serviceSlackSchema, slackSchema } from './slack-schema.ts';

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

/**
 * A duration in the config: written as `durationSchema` accepts it, parsed to whole seconds. Every duration
 * of the parsed config (and of the packaged JSON the functions read) is a number of seconds under its own
 * field name (`steadyTimeout: 1200`); a number is read as seconds again, so a parsed config parses the same.
 */
const secondsSchema = durationSchema.transform((value) => parseDurationSeconds(value) ?? 0);

/** A duration that must be at least 1 s (a Step Functions task timeout or a bake), `what` naming it. */
const positiveSeconds = (what: string) =>
  secondsSchema.refine((seconds) => seconds >= 1, { message: `${what} must be at least 1s` });

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

/** An ECS cluster name or ARN. */
const clusterSchema = z
  .union(
    [
      ecsNameSchema('cluster'),
      z.string().regex(/^arn:aws(?:-[a-z]+)*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/),
    ],
    { error: 'expected an ECS cluster name (1 to 255 letters, digits, _ and -) or cluster ARN' },
  )
  .meta({ description: 'ECS cluster name or ARN.' });

const taskRoleArnsSchema = z.array(arnOf('iam-role')).min(1).optional().meta({
  description:
    "The task and execution roles the service's task definitions name. When every service declares them, the deploy function may pass only these roles to ECS (iam:PassRole); otherwise any role of the account, to ECS tasks only.",
});

const steadyTimeoutSchema = positiveSeconds('the steady timeout').prefault('20m');

/**
 * An ECS service deployed as two slots (blue, green) behind one ALB listener rule with weighted target
 * groups. Parsed, `rollbackWindow` always holds seconds (the scale-down delay when not given, at least 1 s:
 * a Step Functions task timeout must be positive).
 */
export const ecsAlbTargetSchema = z
  .object({
    type: z.literal('ecs-alb'),
    cluster: clusterSchema,
    container: ecsNameSchema('container').meta({
      description: 'Name of the container whose image is replaced.',
    }),
    listenerRuleArn: arnOf('listener-rule').meta({
      description: 'ALB listener rule that forwards to both slot target groups with weights.',
    }),
    slots: z.object({ blue: slotSchema, green: slotSchema }).strict(),
    taskRoleArns: taskRoleArnsSchema,
    scaleDownDelay: secondsSchema
      .prefault('15m')
      .meta({ description: 'How long the old slot stays warm after promotion, for instant rollback.' }),
    rollbackWindow: positiveSeconds('the rollback window').optional().meta({
      description:
        "After promotion, how long the new slot's alarms are still watched: an alarm in this window rolls back at once to the old slot, kept warm until the window ends (then scaled to 0). Defaults to scaleDownDelay.",
    }),
    steadyTimeout: steadyTimeoutSchema.meta({
      description:
        'How long the new slot may take to reach a steady state before the release is rolled back.',
    }),
    testListenerRuleArn: arnOf('listener-rule').optional().meta({
      description:
        'A second ALB listener rule (e.g. on a test listener or a header match) that the pipeline points at the new slot while its checks run, and back at the stable slot after: the test route. Needed by blue-green.',
    }),
    testUrl: z
      .url({ protocol: /^https?$/, error: 'expected an http or https URL such as https://test.example.com' })
      .optional()
      .meta({
        description:
          'Base URL (http or https) that reaches the test route: http checks request their path on it, Lambda checks receive it. Needs testListenerRuleArn.',
      }),
  })
  .strict()
  .transform(({ rollbackWindow, ...target }) => ({
    ...target,
    rollbackWindow: rollbackWindow ?? Math.max(1, target.scaleDownDelay),
  }));

/**
 * One ECS service updated in place (rolling update with the deployment circuit breaker): no slots, no
 * weights. Parsed, `rollbackWindow` holds seconds, 0 when not given (no window: promotion ends the release).
 */
export const ecsRollingTargetSchema = z
  .object({
    type: z.literal('ecs-rolling'),
    cluster: clusterSchema,
    service: ecsNameSchema('service').meta({ description: 'The ECS service updated in place.' }),
    container: ecsNameSchema('container').meta({
      description: 'Name of the container whose image is replaced.',
    }),
    taskRoleArns: taskRoleArnsSchema,
    steadyTimeout: steadyTimeoutSchema.meta({
      description:
        'How long the rolling deployment may take to complete (ECS deployment COMPLETED) before the release is rolled back.',
    }),
    rollbackWindow: positiveSeconds('the rollback window').optional().meta({
      description:
        'After promotion, how long the alarms are still watched: an alarm in this window deploys the previous task definition again. None by default.',
    }),
  })
  .strict()
  .transform(({ rollbackWindow, ...target }) => ({ ...target, rollbackWindow: rollbackWindow ?? 0 }));

/** Target kinds are a discriminated union on `type`. */
export const targetSchema = z.discriminatedUnion('type', [ecsAlbTargetSchema, ecsRollingTargetSchema], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? 'expected type: ecs-alb or ecs-rolling'
      : 'expected a target with a type (ecs-alb or ecs-rolling)',
});

const percentSchema = z
  .number({ error: 'expected a whole percentage from 1 to 100' })
  .int('expected a whole percentage from 1 to 100')
  .min(1, 'expected a whole percentage from 1 to 100')
  .max(100, 'expected a whole percentage from 1 to 100');

const canaryStepObjectSchema = z.object({ percent: percentSchema, bake: secondsSchema.optional() }).strict();

const canaryStepSchema = z.union([percentSchema, canaryStepObjectSchema], {
  error: 'expected a step: a percentage from 1 to 100, or { percent, bake }',
});

/**
 * A Lambda function as Invoke names it: a name, a partial or full ARN, optionally qualified
 * (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html, FunctionName: 1 to 170 characters).
 */
const lambdaFunctionSchema = z
  .string()
  .max(170, 'a Lambda function name or ARN has at most 170 characters')
  .regex(
    /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$/,
    'expected a Lambda function name or ARN, e.g. checkout-smoke or arn:aws:lambda:us-east-1:123456789012:function:checkout-smoke',
  );

/** The time a check may take when it does not say. */
export const DEFAULT_CHECK_TIMEOUT = '60s';

/**
 * The longest a check may take. It runs inside one invocation of the runCheck function, which Lambda stops
 * after at most 900 seconds (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html); the
 * check aborts itself at its timeout and reports why, so the function (timeout 900 in serverless.yml) must
 * outlive it by a margin, else Lambda kills it first and the release rolls back on "Task timed out".
 */
export const MAX_CHECK_SECONDS = 840;

const checkBase = {
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/,
      'expected a check name: 1 to 64 letters, digits, spaces, ., _ and -, starting with a letter or digit',
    )
    .meta({ description: 'The name the plan, the console and notifications show, e.g. login-smoke.' }),
  timeout: positiveSeconds('a check timeout')
    .refine((seconds) => seconds <= MAX_CHECK_SECONDS, {
      message: `a check timeout must be at most 14m (${MAX_CHECK_SECONDS}s): the check runs inside one Lambda invocation, which lasts at most 15 minutes`,
    })
    .prefault(DEFAULT_CHECK_TIMEOUT)
    .meta({ description: 'How long the check may take before it counts as failed.' }),
};

/**
 * A smoke test: a Lambda function the user names (invoked with the release and the test URL, answers
 * `{ passed, reason? }`), or an HTTP request from the pipeline to `target.testUrl` + `path`.
 */
export const checkSchema = z.union(
  [
    z
      .object({
        ...checkBase,
        lambda: lambdaFunctionSchema.meta({
          description: 'The function to invoke: name or ARN (of the pipeline account and region).',
        }),
      })
      .strict(),
    z
      .object({
        ...checkBase,
        http: z
          .object({
            path: z
              .string()
              .regex(/^\/\S*$/, 'expected a path starting with /, e.g. /health')
              .meta({ description: 'Path (with query) requested on target.testUrl.' }),
            expectStatus: z
              .number()
              .int('expected an HTTP status from 100 to 599')
              .min(100, 'expected an HTTP status from 100 to 599')
              .max(599, 'expected an HTTP status from 100 to 599')
              .default(200)
              .meta({ description: 'The status that passes the check.' }),
          })
          .strict(),
      })
      .strict(),
  ],
  { error: 'expected a check: { name, lambda: <function> } or { name, http: { path } }' },
);

const checksSchema = z
  .array(checkSchema)
  .default([])
  .meta({
    description:
      'Smoke tests run after the new version is ready and before it takes production traffic (blue-green: against the test route), in order; one failure rolls back.',
  })
  .superRefine((checks, ctx) => {
    const seen = new Set<string>();
    checks.forEach((check, index) => {
      if (seen.has(check.name))
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `check "${check.name}" is declared twice; give each check its own name`,
        });
      seen.add(check.name);
    });
  });

/**
 * Canary: shift a growing share of traffic to the new version, baking at each step. Parsed, `steps` are
 * `{ percent, bakeSeconds }` (a step's own bake, else the strategy's) and `bake` holds seconds.
 */
export const canaryStrategySchema = z
  .object({
    type: z.literal('canary'),
    steps: z
      .array(canaryStepSchema)
      .min(1)
      .meta({ description: 'Traffic percentages sent to the new version, in order; the last must be 100.' }),
    bake: secondsSchema.meta({ description: 'How long each step bakes while alarms are watched.' }),
    checks: checksSchema,
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
      if (bake === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index],
          message: 'a canary step must bake at least 1s',
        });
      }
    });
  })
  .transform((strategy) => ({
    ...strategy,
    steps: strategy.steps.map((step) =>
      typeof step === 'number'
        ? { percent: step, bakeSeconds: strategy.bake }
        : { percent: step.percent, bakeSeconds: step.bake ?? strategy.bake },
    ),
  }));

/**
 * Linear: shift `stepPercent` more every `interval` (10% every 3m: 10, 20, ..., 100), each share baked for
 * the interval; a stepPercent that does not divide 100 ends with a last shift to 100. Parsed, `interval`
 * holds seconds and `steps` the shifts as a canary's (`{ percent, bakeSeconds }`).
 */
export const linearStrategySchema = z
  .object({
    type: z.literal('linear'),
    stepPercent: percentSchema.meta({ description: 'How much more traffic each step sends, e.g. 10.' }),
    interval: positiveSeconds('the interval').meta({
      description: 'How long each step bakes (alarms watched) before the next, e.g. 3m.',
    }),
    checks: checksSchema,
  })
  .strict()
  .transform((strategy) => {
    const steps: { percent: number; bakeSeconds: number }[] = [];
    for (let percent = strategy.stepPercent; percent < 100; percent += strategy.stepPercent)
      steps.push({ percent, bakeSeconds: strategy.interval });
    steps.push({ percent: 100, bakeSeconds: strategy.interval });
    return { ...strategy, steps };
  });

/** All at once: one shift to 100% (or, on ecs-rolling, the rolling update itself), then one bake. */
export const allAtOnceStrategySchema = z
  .object({
    type: z.literal('all-at-once'),
    bake: positiveSeconds('the bake').meta({
      description: 'How long the new version bakes at 100% while alarms are watched.',
    }),
    checks: checksSchema,
  })
  .strict();

/** A wait for a person before blue-green's swap: resumed by promote/approve, or timed out. */
const pauseSchema = z
  .object({
    timeout: positiveSeconds('the pause timeout').meta({
      description: 'How long the release waits for a person before onTimeout applies.',
    }),
    onTimeout: z
      .enum(['fail', 'continue'], { error: 'expected onTimeout: fail or continue' })
      .default('fail')
      .meta({
        description: 'What the timeout means: roll back (fail, the default) or swap anyway (continue).',
      }),
  })
  .strict();

/**
 * Blue/green (ecs-alb only): deploy to the idle slot, point the test route (`target.testListenerRuleArn`) at
 * it, run the checks, optionally pause for a person, swap all production traffic in one call, bake.
 */
export const blueGreenStrategySchema = z
  .object({
    type: z.literal('blue-green'),
    bake: positiveSeconds('the bake').meta({
      description: 'How long the new slot bakes after the swap while alarms are watched.',
    }),
    pause: pauseSchema.optional().meta({ description: 'Wait for a person before the swap.' }),
    checks: checksSchema,
  })
  .strict();

/** Strategies are a discriminated union on `type`. */
export const strategySchema = z.discriminatedUnion(
  'type',
  [canaryStrategySchema, linearStrategySchema, allAtOnceStrategySchema, blueGreenStrategySchema],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'expected type: canary, linear, all-at-once or blue-green'
        : 'expected a strategy with a type (canary, linear, all-at-once or blue-green)',
  },
);

/** How long an inconclusive bake waits for a person when `inconclusive: pause` does not say. */
export const DEFAULT_INCONCLUSIVE_PAUSE_TIMEOUT = '1h';

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
    target: targetSchema,
    alarms: z.array(alarmNameSchema).default([]).meta({
      description:
        'CloudWatch alarm names watched during every bake (and, on ecs-rolling, during the rollout and the rollback window).',
    }),
    strategy: strategySchema,
    inconclusive: z
      .enum(INCONCLUSIVE_POLICIES, { error: 'expected inconclusive: fail, pass or pause' })
      .default('fail')
      .meta({
        description:
          'What a bake whose watched alarms stayed INSUFFICIENT_DATA the whole time means: fail (roll back, the default), pass (go on), or pause (wait for a person to resume or abort, at most inconclusivePauseTimeout, then roll back).',
      }),
    inconclusivePauseTimeout: positiveSeconds('the inconclusive pause timeout')
      .optional()
      .meta({
        description: `With inconclusive: pause, how long an inconclusive bake waits for a person before the release rolls back (default ${DEFAULT_INCONCLUSIVE_PAUSE_TIMEOUT}).`,
      }),
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
    slack: serviceSlackSchema.optional().meta({
      description:
        "This service's Slack thread settings, overriding the top-level slack ones field by field; false: no Slack for this service.",
    }),
  })
  .strict()
  .superRefine((service, ctx) => {
    if (service.inconclusivePauseTimeout !== undefined && service.inconclusive !== 'pause')
      ctx.addIssue({
        code: 'custom',
        path: ['inconclusivePauseTimeout'],
        message: `only means something with inconclusive: pause (inconclusive is ${service.inconclusive}); remove it or set inconclusive: pause`,
      });
  })
  // Parsed, `inconclusivePauseTimeout` holds seconds exactly when the policy is pause.
  .transform(
    ({ inconclusivePauseTimeout, ...service }): typeof service & { inconclusivePauseTimeout?: number } =>
      service.inconclusive === 'pause'
        ? {
            ...service,
            inconclusivePauseTimeout:
              inconclusivePauseTimeout ??
              (parseDurationSeconds(DEFAULT_INCONCLUSIVE_PAUSE_TIMEOUT) as number),
          }
        : service,
  );

export const shiplineConfigSchema = z
  .object({
    version: z.literal(1).default(1),
    slack: slackSchema.optional().meta({
      description:
        'Release threads in Slack (one per release, with buttons for the allowlisted users); services may override it.',
    }),
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
    const claims: ResourceClaims = new Map();
    for (const [name, service] of Object.entries(config.services)) {
      // A service with an issue in its fields may not have been transformed (zod runs this refinement after
      // continuable issues): its cross-field checks wait until its fields are valid.
      const broken = ctx.issues.some((issue) => issue.path?.[0] === 'services' && issue.path[1] === name);
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
      checkServiceSlack(ctx, name, service, config.slack !== undefined);
      if (!broken) {
        checkService(ctx, name, service);
        claimResources(ctx, name, service, claims);
      }
    }
  });

/** Which service (and where in it) first named each listener rule, target group and ECS service. */
type ResourceClaims = Map<string, { owner: string; where: string }>;

/**
 * Two services on one listener rule, target group or ECS service would move each other's traffic and tasks:
 * each release holds its own service's lock only, so nothing would keep them apart. Refused, naming the
 * service that has it first.
 */
const claimResources = (
  ctx: z.RefinementCtx,
  name: string,
  service: ServiceConfig,
  claims: ResourceClaims,
): void => {
  const claim = (
    key: string,
    where: string,
    path: PropertyKey[],
    what: (owner: string, at: string) => string,
  ) => {
    const prior = claims.get(key);
    if (!prior) claims.set(key, { owner: name, where });
    else if (prior.owner !== name)
      ctx.addIssue({
        code: 'custom',
        path: ['services', name, ...path],
        message: what(prior.owner, prior.where),
      });
  };
  const { target } = service;
  // A cluster is named by its name or its ARN: both are the same cluster.
  const cluster = target.cluster.slice(target.cluster.lastIndexOf('/') + 1);
  const ecsService = (ecsName: string, where: string, path: PropertyKey[]) =>
    claim(
      `ecs:${cluster}/${ecsName}`,
      where,
      path,
      (owner, at) =>
        `ECS service ${ecsName} of cluster ${cluster} already runs service "${owner}" (${at}): each service needs its own`,
    );
  if (target.type === 'ecs-rolling') {
    ecsService(target.service, 'target.service', ['target', 'service']);
    return;
  }
  const rules = [
    ['listenerRuleArn', target.listenerRuleArn],
    ['testListenerRuleArn', target.testListenerRuleArn],
  ] as const;
  for (const [field, arn] of rules)
    if (arn !== undefined)
      claim(
        `rule:${arn}`,
        `target.${field}`,
        ['target', field],
        (owner) =>
          `listener rule ${arn} already routes service "${owner}": each service needs its own (a release moves its rule's weights)`,
      );
  for (const slot of ['blue', 'green'] as const) {
    const { targetGroupArn, service: slotService } = target.slots[slot];
    claim(
      `target-group:${targetGroupArn}`,
      `slots.${slot}`,
      ['target', 'slots', slot, 'targetGroupArn'],
      (owner, at) =>
        `target group ${targetGroupArn} already serves service "${owner}" (${at}): each service needs its own`,
    );
    ecsService(slotService, `slots.${slot}`, ['target', 'slots', slot, 'service']);
  }
};

/** With no top-level `slack`, a service's own Slack section must say everything a thread needs. */
const checkServiceSlack = (
  ctx: z.RefinementCtx,
  name: string,
  service: ServiceConfig,
  pipelineSlack: boolean,
): void => {
  const slack = service.slack;
  if (pipelineSlack || slack === undefined || slack === false) return;
  const missing = (['channel', 'botToken', 'signingSecret'] as const).filter((field) => !slack[field]);
  if (missing.length > 0)
    ctx.addIssue({
      code: 'custom',
      path: ['services', name, 'slack'],
      message: `needs ${missing.join(', ')}: there is no top-level slack section to take ${missing.length > 1 ? 'them' : 'it'} from`,
    });
};

/** Why a rolling target takes only all-at-once: part of the refusal message. */
const ROLLING_ONLY_ALL_AT_ONCE =
  'an ecs-rolling target supports only all-at-once: a rolling update replaces the tasks of its one service, so no share of traffic can be held on the new version (canary, linear) and there is no idle slot to test and swap to (blue-green)';

/** The checks across the fields of one service: target and strategy fit, alarms, slots, ARNs, lease. */
const checkService = (ctx: z.RefinementCtx, name: string, service: ServiceConfig): void => {
  const issue = (path: PropertyKey[], message: string) =>
    ctx.addIssue({ code: 'custom', path: ['services', name, ...path], message });
  const { target, strategy } = service;
  if (target.type === 'ecs-rolling' && strategy.type !== 'all-at-once') {
    issue(['strategy', 'type'], `strategy ${strategy.type} is refused: ${ROLLING_ONLY_ALL_AT_ONCE}`);
  }
  if (target.type === 'ecs-alb') {
    if (strategy.type === 'blue-green' && target.testListenerRuleArn === undefined) {
      issue(
        ['target', 'testListenerRuleArn'],
        'strategy blue-green needs target.testListenerRuleArn: the listener rule that forwards test traffic to the new slot while its checks run, before the swap',
      );
    }
    if (target.testUrl !== undefined && target.testListenerRuleArn === undefined) {
      issue(
        ['target', 'testUrl'],
        'testUrl reaches the test route, which needs target.testListenerRuleArn (the listener rule the pipeline points at the new slot); declare it or remove testUrl',
      );
    }
  }
  strategy.checks.forEach((check, index) => {
    if (!('http' in check)) return;
    if (target.type === 'ecs-rolling') {
      issue(
        ['strategy', 'checks', index, 'http'],
        `http check "${check.name}" needs a test route, which an ecs-rolling target has not (its new tasks serve production at once); use a lambda check`,
      );
    } else if (target.testUrl === undefined) {
      issue(
        ['strategy', 'checks', index, 'http'],
        `http check "${check.name}" needs target.testUrl, the base URL (http or https) that reaches the test route`,
      );
    }
  });
  const slotAlarms =
    target.type === 'ecs-alb' ? target.slots.blue.alarms.length + target.slots.green.alarms.length : 0;
  const watched = service.alarms.length + slotAlarms;
  if (watched === 0 && service.watchAlarms) {
    issue(
      [],
      target.type === 'ecs-alb'
        ? 'watches no alarm; add alarms (service alarms or slot alarms) or set watchAlarms: false to release without watching'
        : 'watches no alarm; add alarms or set watchAlarms: false to release without watching',
    );
  }
  if (watched > 0 && !service.watchAlarms) {
    issue(['watchAlarms'], 'watchAlarms: false but alarms are declared; remove the alarms or watchAlarms');
  }
  if (target.type === 'ecs-alb') {
    checkSameAccountAndRegion(ctx, name, service, target);
    const { blue, green } = target.slots;
    if (blue.service === green.service || blue.targetGroupArn === green.targetGroupArn) {
      issue(['target', 'slots'], 'blue and green must be different ECS services in different target groups');
    }
    if (target.testListenerRuleArn !== undefined && target.testListenerRuleArn === target.listenerRuleArn) {
      issue(
        ['target', 'testListenerRuleArn'],
        'the test listener rule must be another rule than listenerRuleArn: it carries test traffic only, never production',
      );
    }
  }
  // Only a plan of a strategy the target takes has a meaningful length.
  if (target.type === 'ecs-alb' || strategy.type === 'all-at-once') {
    const lease = leaseSecondsOf(service, buildPlan(service, {}));
    if (lease > MAX_LEASE_SECONDS) {
      issue(
        [],
        `a release of ${name} may hold its lock for ${lease} seconds (every step of its plan at its longest: steady timeout, checks, pauses, bakes, the longer of scale-down delay and rollback window; + ${LEASE_MARGIN_SECONDS / 3600}h), more than a Step Functions execution may run (${MAX_LEASE_SECONDS} seconds, one year); shorten them`,
      );
    }
  }
};

/** Every ARN of one service, by field path, for the account and region check. */
const serviceArns = (service: ServiceConfig, target: EcsAlbTargetConfig): [PropertyKey[], string][] => [
  [['target', 'listenerRuleArn'], target.listenerRuleArn],
  [['target', 'slots', 'blue', 'targetGroupArn'], target.slots.blue.targetGroupArn],
  [['target', 'slots', 'green', 'targetGroupArn'], target.slots.green.targetGroupArn],
  ...(target.testListenerRuleArn
    ? [[['target', 'testListenerRuleArn'], target.testListenerRuleArn] as [PropertyKey[], string]]
    : []),
  ...(service.notify.topicArn
    ? [[['notify', 'topicArn'], service.notify.topicArn] as [PropertyKey[], string]]
    : []),
];

/** The listener rule, both target groups and the topic of a service must live in one account and region. */
const checkSameAccountAndRegion = (
  ctx: z.RefinementCtx,
  name: string,
  service: ServiceConfig,
  target: EcsAlbTargetConfig,
): void => {
  const parsed = (text: string) => {
    try {
      return parseArn(text);
    } catch {
      return undefined; // arnOf reported it
    }
  };
  const rule = parsed(target.listenerRuleArn);
  if (!rule) return;
  for (const [path, text] of serviceArns(service, target).slice(1)) {
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
  (target.taskRoleArns ?? []).forEach((text, index) => {
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

export { LEASE_MARGIN_SECONDS } from '../strategies/lease.ts';

/**
 * The longest a release may hold its lock: a Standard Step Functions execution runs at most one year
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), so a longer lease outlives
 * the execution that would release it.
 */
export const MAX_LEASE_SECONDS = 365 * 24 * 3600;

export type ShiplineConfig = z.output<typeof shiplineConfigSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type StrategyConfig = z.output<typeof strategySchema>;
export type TargetConfig = z.output<typeof targetSchema>;
export type EcsAlbTargetConfig = z.output<typeof ecsAlbTargetSchema>;
export type EcsRollingTargetConfig = z.output<typeof ecsRollingTargetSchema>;
export type CanaryStrategyConfig = z.output<typeof canaryStrategySchema>;
export type LinearStrategyConfig = z.output<typeof linearStrategySchema>;
export type AllAtOnceStrategyConfig = z.output<typeof allAtOnceStrategySchema>;
export type BlueGreenStrategyConfig = z.output<typeof blueGreenStrategySchema>;
export type CheckConfig = z.output<typeof checkSchema>;
