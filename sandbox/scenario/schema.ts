import * as z from 'zod';
import { durationSchema } from '../../lib/config/schema.ts';
import { NOTIFICATION_KINDS } from '../../lib/domain/notifications.ts';
import { RELEASE_OUTCOMES } from '../../lib/domain/types.ts';
import { parseDurationSeconds } from '../../lib/duration.ts';
import { CLOUDWATCH_TIMING_DEFAULTS, PERCENTILE_PATTERN } from '../aws/cloudwatch.ts';
import { MAX_P99_TO_MEAN } from '../aws/histogram.ts';
import { ALB_METRICS, DEFAULT_P99_TO_MEAN } from '../aws/traffic.ts';
import { didYouMean } from './did-you-mean.ts';
import { clickSchema, slackExpectationSchema, slackWorldSchema } from './slack-schema.ts';

const p99Description = `99th-percentile response time (ms). Response times are log-normal with this mean and p99, so the p99 must be between latencyMs and ${MAX_P99_TO_MEAN.toFixed(1)}x latencyMs.`;

/** A log-normal shape exists only for 1 <= p99/mean <= MAX_P99_TO_MEAN: say so instead of bending it. */
const tailProblem = (latencyMs: number | undefined, latencyP99Ms: number | undefined): string | undefined => {
  if (latencyMs === undefined || latencyP99Ms === undefined) return undefined;
  if (latencyP99Ms >= latencyMs && latencyP99Ms <= latencyMs * MAX_P99_TO_MEAN) return undefined;
  return `latencyP99Ms ${latencyP99Ms} must be between latencyMs (${latencyMs}) and ${MAX_P99_TO_MEAN.toFixed(1)}x latencyMs (${(latencyMs * MAX_P99_TO_MEAN).toFixed(0)}) for a log-normal response time`;
};

const checkTail = (value: { latencyMs?: number; latencyP99Ms?: number }, ctx: z.RefinementCtx): void => {
  const message = tailProblem(value.latencyMs, value.latencyP99Ms);
  if (message) ctx.addIssue({ code: 'custom', path: ['latencyP99Ms'], message });
};

/** `0.1%` or `0.001`: a fraction of requests. */
const rateSchema = z
  .union(
    [
      z.number().min(0).max(1),
      z
        .string()
        .regex(/^\d+(\.\d+)?%$/, 'expected a percentage such as 0.1% or 8%')
        .refine((text) => Number(text.slice(0, -1)) <= 100, 'a rate is at most 100%'),
    ],
    // A value of neither type (.nan, a list): one message saying what a rate is.
    { error: 'expected a rate: a fraction from 0 to 1 (0.001) or a percentage from 0% to 100% (0.1%)' },
  )
  .transform((value) => (typeof value === 'number' ? value : Number(value.slice(0, -1)) / 100));

/** A status a web application can answer (the Fetch API's Response refuses any other). */
const httpStatusSchema = z.number().int().min(200).max(599);

/**
 * An image tag as Docker and ECR take one: "valid ASCII ... lowercase and uppercase letters, digits,
 * underscores, periods and hyphens ... may not start with a period or a hyphen and may contain a maximum of
 * 128 characters" (Docker CLI reference, docker image tag). A version's name is its tag in ECR.
 */
const imageTagSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
    'expected an image tag: letters, digits, _ . and - (not first), at most 128 characters',
  );

const digestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>');

const changeSchema = z
  .object({
    after: durationSchema.optional().meta({
      description:
        "Once the version has served the service's traffic this long (per service: another service running the same image counts from its own first request).",
    }),
    atTrafficPercentAtLeast: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .meta({ description: 'While it receives at least this share.' }),
    errorRate: rateSchema.optional(),
    latencyMs: z.number().min(0).optional(),
    latencyP99Ms: z
      .number()
      .min(0)
      .optional()
      .meta({
        description: `${p99Description} A change setting latencyMs alone keeps the p99/mean ratio in effect.`,
      }),
  })
  .strict()
  .superRefine(checkTail)
  .refine(
    (change) =>
      change.errorRate !== undefined || change.latencyMs !== undefined || change.latencyP99Ms !== undefined,
    'a change says what changes: errorRate, latencyMs or latencyP99Ms',
  );

const versionSchema = z
  .object({
    digest: digestSchema,
    errorRate: rateSchema.default(0.001),
    latencyMs: z.number().min(0).default(80).meta({ description: 'Mean response time (ms).' }),
    latencyP99Ms: z
      .number()
      .min(0)
      .optional()
      .meta({ description: `${p99Description} Default ${DEFAULT_P99_TO_MEAN}x latencyMs.` }),
    failsToStart: z
      .boolean()
      .default(false)
      .meta({ description: 'Tasks never become healthy (ECS circuit breaker fails the deployment).' }),
    changes: z.array(changeSchema).default([]),
    created: z.iso.datetime({ offset: true }).optional().meta({
      description:
        "The image's org.opencontainers.image.created label (RFC 3339, e.g. 2026-03-04T08:00:00Z): DORA's change lead time starts there. Without it the image carries no label.",
    }),
    httpStatus: z
      .union([
        httpStatusSchema,
        z.record(z.string().regex(/^\//, 'a path starts with /, e.g. /health'), httpStatusSchema),
      ])
      .optional()
      .meta({
        description:
          'The HTTP status the version answers through a test route (an HTTP check): one status for every path, or per path, e.g. { /health: 200, /ready: 503 } (a path not listed answers 404). Default 200 for every path.',
      }),
  })
  .strict()
  .superRefine((version, ctx) => {
    checkTail(version, ctx);
    // A change that sets only the tail keeps the version's mean: the pair must still make a shape.
    version.changes.forEach((change, i) => {
      const message =
        change.latencyMs === undefined ? tailProblem(version.latencyMs, change.latencyP99Ms) : undefined;
      if (message) ctx.addIssue({ code: 'custom', path: ['changes', i, 'latencyP99Ms'], message });
    });
  });

/**
 * The AWS/ApplicationELB metrics an Application Load Balancer publishes that the simulated one does not
 * (Elastic Load Balancing, CloudWatch metrics for your Application Load Balancer:
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html).
 */
const UNSIMULATED_ALB_METRICS: ReadonlySet<string> = new Set([
  'ActiveConnectionCount',
  'AnomalousHostCount',
  'ClientTLSNegotiationErrorCount',
  'ConsumedLCUs',
  'DesyncMitigationMode_NonCompliant_Request_Count',
  'DroppedInvalidHeaderRequestCount',
  'ForwardedInvalidHeaderRequestCount',
  'GrpcRequestCount',
  'HTTP_Fixed_Response_Count',
  'HTTP_Redirect_Count',
  'HTTP_Redirect_Url_Limit_Exceeded_Count',
  'HTTPCode_ELB_3XX_Count',
  'HTTPCode_ELB_4XX_Count',
  'HTTPCode_ELB_500_Count',
  'HTTPCode_ELB_502_Count',
  'HTTPCode_ELB_503_Count',
  'HTTPCode_ELB_504_Count',
  'HTTPCode_Target_2XX_Count',
  'HTTPCode_Target_3XX_Count',
  'HTTPCode_Target_4XX_Count',
  'HealthyHostCount',
  'HealthyStateDNS',
  'HealthyStateRouting',
  'IPv6ProcessedBytes',
  'IPv6RequestCount',
  'LambdaInternalError',
  'LambdaTargetProcessedBytes',
  'LambdaUserError',
  'MitigatedHostCount',
  'NewConnectionCount',
  'NonStickyRequestCount',
  'ProcessedBytes',
  'RejectedConnectionCount',
  'RequestCountPerTarget',
  'RuleEvaluations',
  'TargetConnectionErrorCount',
  'TargetTLSNegotiationErrorCount',
  'UnHealthyHostCount',
  'UnhealthyRoutingRequestCount',
  'UnhealthyStateDNS',
  'UnhealthyStateRouting',
  'ELBAuthError',
  'ELBAuthFailure',
  'ELBAuthLatency',
  'ELBAuthRefreshTokenSuccess',
  'ELBAuthSuccess',
  'ELBAuthUserClaimsSizeExceeded',
]);

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
    statistic: z
      .enum(['Sum', 'Average', 'Maximum', 'Minimum', 'SampleCount'])
      .optional()
      .meta({ description: 'Statistic (default Sum); or give extendedStatistic instead, not both.' }),
    extendedStatistic: z
      .string()
      .regex(PERCENTILE_PATTERN, 'expected a percentile p0.0 to p100, e.g. p99 or p99.9')
      .optional()
      .meta({
        description:
          'A percentile (ExtendedStatistic), e.g. p99 on TargetResponseTime. PutMetricAlarm takes Statistic or ExtendedStatistic, not both.',
      }),
    evaluateLowSampleCountPercentile: z.enum(['evaluate', 'ignore']).optional().meta({
      description:
        'Percentile alarms only (EvaluateLowSampleCountPercentile): ignore keeps the state while a period has fewer than 10/(1-p) samples (1000 for p99); evaluate (the default) evaluates whatever the count.',
    }),
    period: z
      .number()
      .int()
      .min(60, 'a period is at least 60 seconds (ALB publishes one datapoint a minute)')
      .multipleOf(60, 'a period is a multiple of 60 seconds')
      .default(60),
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
  .strict()
  .superRefine((alarm, ctx) => {
    // PutMetricAlarm's own rules (CloudWatch API Reference, PutMetricAlarm): M of N needs M <= N, and "an
    // alarm's total current evaluation period can be no longer than seven days ... For alarms with a period
    // of less than one hour (3,600 seconds), the total evaluation period can't be longer than one day".
    if (alarm.datapointsToAlarm !== undefined && alarm.datapointsToAlarm > alarm.evaluationPeriods)
      ctx.addIssue({
        code: 'custom',
        path: ['datapointsToAlarm'],
        message: `datapointsToAlarm ${alarm.datapointsToAlarm} is more than evaluationPeriods ${alarm.evaluationPeriods}: the alarm could never fire (M out of N needs M <= N)`,
      });
    const limit = alarm.period < 3600 ? 86_400 : 604_800;
    if (alarm.period * alarm.evaluationPeriods > limit)
      ctx.addIssue({
        code: 'custom',
        path: ['evaluationPeriods'],
        message: `period x evaluationPeriods is ${alarm.period * alarm.evaluationPeriods} seconds; CloudWatch allows at most ${limit} (${alarm.period < 3600 ? 'one day for a period under an hour' : 'seven days'})`,
      });
    if (alarm.evaluateLowSampleCountPercentile !== undefined && alarm.extendedStatistic === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['evaluateLowSampleCountPercentile'],
        message:
          'evaluateLowSampleCountPercentile is only for a percentile alarm (give extendedStatistic, e.g. p99)',
      });
    // An alarm on a load balancer metric the simulated ALB does not publish would never see a datapoint:
    // a scenario expecting it quiet would pass for the wrong reason. (Other namespaces are the team's own
    // metrics: the sandbox publishes none, which inconclusive bakes use.)
    // A real metric the sandbox lacks is its limit, not the user's mistake: no "did you mean" then.
    const published: readonly string[] = ALB_METRICS;
    if (alarm.namespace === 'AWS/ApplicationELB' && !published.includes(alarm.metric))
      ctx.addIssue({
        code: 'custom',
        path: ['metric'],
        message: `the simulated load balancer publishes ${ALB_METRICS.join(', ')} in AWS/ApplicationELB, not ${alarm.metric}${
          UNSIMULATED_ALB_METRICS.has(alarm.metric)
            ? `: ${alarm.metric} is an Application Load Balancer metric the sandbox does not simulate: an alarm on it would never see a datapoint here`
            : didYouMean(alarm.metric, ALB_METRICS)
        }`,
      });
    if (alarm.statistic !== undefined && alarm.extendedStatistic !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['extendedStatistic'],
        message:
          'give statistic or extendedStatistic, not both (PutMetricAlarm: InvalidParameterCombination)',
      });
  });

/**
 * A duration within the range AWS accepts for the setting, e.g. a target group's health check interval
 * (`HealthCheckIntervalSeconds` 5-300) or deregistration delay (`deregistration_delay.timeout_seconds`
 * 0-3600), ELB API Reference, CreateTargetGroup and TargetGroupAttribute.
 */
const durationWithin = (min: number, max: number, what: string) =>
  durationSchema.refine((value) => {
    const seconds = parseDurationSeconds(value);
    return seconds === undefined || (seconds >= min && seconds <= max);
  }, `${what} is ${min} to ${max} seconds on AWS`);

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
    snsDeliveryMs: millisecondsSchema.optional().meta({
      description:
        'SNS: message published to its subscribed Lambda function invoked, in ms (default 500; AWS documents no figure).',
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
    healthCheckInterval: durationWithin(5, 300, 'a health check interval')
      .optional()
      .meta({ description: 'ALB target group health check interval (default 30s, the ALB default).' }),
    unhealthyThresholdCount: z.number().int().min(2).max(10).optional().meta({
      description: 'Failed health checks before a target is unhealthy (default 2, the ALB default).',
    }),
    deregistrationDelay: durationWithin(0, 3600, 'a deregistration delay').optional().meta({
      description: 'ALB deregistration delay: old tasks drain this long before they stop (default 300s).',
    }),
  })
  .strict();

const deliveryRuleSchema = z
  .object({
    detailType: z.string().min(1).meta({
      description:
        'e.g. CloudWatch Alarm State Change; `SNS Notification` for a message of the release-events topic to its subscribers (match on `{ detail: { event: [promoted] } }`, its message attributes).',
    }),
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

/** A user's smoke-test function (`world.functions.<name>`). */
const userFunctionSchema = z
  .object({
    service: z.string().min(1).optional().meta({
      description:
        "The service whose version the function tests; default the scenario's service. The answer depends on the version one request to that service's test route reaches (its production route when it has none).",
    }),
    answers: z.record(z.string(), z.record(z.string(), z.unknown())).default({}).meta({
      description:
        'The payload the function returns per version it reaches, e.g. { v2: { passed: false, reason: login fails } }.',
    }),
    otherwise: z
      .record(z.string(), z.unknown())
      .default({ passed: true })
      .meta({ description: 'The payload for a version answers does not list (default { passed: true }).' }),
    error: z
      .object({
        errorType: z.string().min(1).default('Error'),
        errorMessage: z.string().default('the smoke test threw'),
      })
      .strict()
      .optional()
      .meta({
        description:
          'The function throws: Invoke answers 200 with FunctionError Unhandled and this error as the payload.',
      }),
    durationMs: z.number().int().min(0).default(500).meta({
      description: 'How long one invocation runs, init included, in ms (virtual time the caller waits).',
    }),
    // "you can adjust this in increments of 1 second up to a maximum value of 900 seconds (15 minutes)"
    // (Lambda Developer Guide, Configure Lambda function timeout).
    timeout: durationWithin(1, 900, "a Lambda function's timeout").default('3s').meta({
      description:
        "The function's timeout (Lambda's default 3s): a longer run ends with FunctionError Unhandled, errorType Sandbox.Timedout.",
    }),
  })
  .strict();

const serviceField = z.string().min(1).optional().meta({
  description: "The service (of the config) it concerns; defaults to the scenario's service.",
});

const pushSchema = z
  .object({ version: z.string().min(1), tag: imageTagSchema.optional(), service: serviceField })
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
  testRoute: z
    .object({
      ruleArn: z.string().min(1).optional().meta({
        description: "The test listener rule's ARN; default the config's target.testListenerRuleArn.",
      }),
      forwardsTo: z.enum(['blue', 'green']).optional().meta({
        description: 'The slot the test rule forwards to at the start (default the stable slot).',
      }),
      host: z.string().min(1).optional().meta({
        description:
          "The host the world's DNS resolves to the test route; default the host of the config's target.testUrl. Any other host fails like a DNS failure (fetch failed, ENOTFOUND).",
      }),
    })
    .strict()
    .optional()
    .meta({
      description:
        "A test listener rule (blue/green): it forwards to one slot, carries only the pipeline's checks (never production load or exposed requests), and is created whenever the config declares target.testListenerRuleArn.",
    }),
  deploymentConfiguration: z
    .object({
      minimumHealthyPercent: z.number().int().min(0).max(100).default(100),
      maximumPercent: z.number().int().min(100).default(200),
      circuitBreaker: z
        .object({ enable: z.boolean(), rollback: z.boolean() })
        .strict()
        .default({ enable: false, rollback: false }),
    })
    .strict()
    .optional()
    .meta({
      description:
        "A rolling service's deployment configuration as it was created (ECS defaults: 100 / 200, breaker off); an UpdateService that names one replaces it.",
    }),
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

/** A notification's `event`: an expectation naming another could never be met. */
const notificationKindSchema = z.enum(NOTIFICATION_KINDS);

/** One service's expected end state. */
const serviceExpectationSchema = z
  .object({
    outcome: z.enum(RELEASE_OUTCOMES).optional(),
    servingVersion: z.string().optional(),
    notifications: z
      .array(notificationKindSchema)
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
  z
    .object({
      cli: z.string().min(1).meta({
        description:
          'A person starts the run with a shipline command, e.g. "deploy checkout --image sha256:... --wait" (shell-like quoting).',
      }),
    })
    .strict(),
]);

const at = durationSchema.meta({ description: 'Virtual time after the start, e.g. 90s or 12m.' });

/** One event at a virtual time: `at` and exactly one action (unknown keys are errors, as everywhere). */
const scheduledEventSchema = z.union(
  [
    z.object({ at, push: pushSchema }).strict(),
    z.object({ at, event: z.record(z.string(), z.unknown()) }).strict(),
    z.object({ at, manual: manualSchema }).strict(),
    z
      .object({
        at,
        duplicate: z
          .literal(true)
          .meta({ description: 'Deliver the trigger event again (EventBridge at-least-once).' }),
      })
      .strict(),
    z
      .object({
        at,
        alarm: z
          .object({
            name: z.string(),
            state: z
              .enum(['OK', 'ALARM', 'INSUFFICIENT_DATA'])
              .optional()
              .meta({ description: 'Force the alarm into this state (SetAlarmState).' }),
            delete: z.literal(true).optional().meta({
              description: 'Delete the alarm (DeleteAlarms): DescribeAlarms no longer lists it.',
            }),
            reason: z.string().default('forced by the scenario'),
          })
          .strict()
          .superRefine((alarm, ctx) => {
            if ((alarm.state === undefined) === (alarm.delete === undefined))
              ctx.addIssue({ code: 'custom', message: 'give exactly one of state and delete' });
          }),
      })
      .strict(),
    z
      .object({
        at,
        approve: z
          .object({
            service: z.string().min(1).optional().meta({
              description: "The service whose release a person approves (default: the scenario's service).",
            }),
          })
          .strict()
          .meta({
            description:
              "A person runs shipline approve on the service's release (the id from its started notification): a pause step goes on.",
          }),
      })
      .strict(),
    z
      .object({
        at,
        abort: z
          .object({
            service: z.string().min(1).optional().meta({
              description: "The service whose release a person aborts (default: the scenario's service).",
            }),
            reason: z.string().min(1).meta({ description: 'Why: the rolled_back notification names it.' }),
          })
          .strict()
          .meta({
            description:
              "A person runs shipline abort on the service's release: whatever it waits on fails with ReleaseAborted and it rolls back.",
          }),
      })
      .strict(),
    z
      .object({
        at,
        stop: z
          .object({
            version: z
              .string()
              .min(1)
              .meta({ description: 'The version whose release execution is stopped.' }),
            service: z.string().min(1).optional().meta({
              description: "The service it releases (default: the scenario's service).",
            }),
            cause: z.string().min(1).optional().meta({ description: 'The cause StopExecution is given.' }),
          })
          .strict()
          .meta({
            description:
              'A person stops the release execution of this version outside Shipline (aws stepfunctions stop-execution): it ends ABORTED at once and its own states never hand the service on; the "Step Functions Execution Status Change" event does.',
          }),
      })
      .strict(),
    z
      .object({
        at,
        click: clickSchema.meta({
          description:
            "A person clicks a button of the service's Slack thread: Slack posts the signed click to the interactions function's Function URL.",
        }),
      })
      .strict(),
    z
      .object({
        at,
        cli: z.string().min(1).meta({
          description:
            "A person runs a shipline command against the simulated account, e.g. \"promote checkout --reason 'looks good'\" (shell-like quoting; a leading shipline is optional). Its output and exit code go to the timeline and to the result's cli list.",
        }),
      })
      .strict(),
  ],
  {
    error:
      'expected `at` and exactly one of push, event, manual, duplicate, alarm, approve, abort, stop, cli, click',
  },
);

/**
 * What IAM accepts in an identity policy, so a statement it would refuse (MalformedPolicyDocument) is not
 * evaluated as if attached: an action is `*` or `service:Action` (wildcards allowed), a resource `*` or an
 * ARN (the Region, Account and Stack placeholders included), a condition operator one of IAM's, with its
 * `IfExists` suffix (not on Null) and `ForAllValues:` / `ForAnyValue:` set prefix (IAM User Guide, IAM JSON
 * policy elements: Action, Resource, Condition operators). "The prefix and the action name are case
 * insensitive. For example, iam:ListAccessKeys is the same as IAM:listaccesskeys" (Action), and the evaluator
 * matches them so.
 */
const policyActionSchema = z
  .string()
  .regex(
    /^(?:\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$/,
    'expected * or service:Action, e.g. states:SendTaskSuccess (IAM: "Actions/Conditions must be prefaced by a vendor")',
  );
const policyResourceSchema = z.string().regex(/^(?:\*|arn:\S+)$/, 'expected * or an ARN');
const CONDITION_OPERATOR =
  /^(?:(?:ForAllValues:|ForAnyValue:)?(?:String(?:Not)?Equals(?:IgnoreCase)?|String(?:Not)?Like|Numeric(?:Not)?Equals|Numeric(?:LessThan|GreaterThan)(?:Equals)?|Date(?:Not)?Equals|Date(?:LessThan|GreaterThan)(?:Equals)?|Bool|BinaryEquals|(?:Not)?IpAddress|Arn(?:Not)?(?:Equals|Like))(?:IfExists)?|Null)$/;

const policyStatementSchema = z
  .object({
    Sid: z.string().optional(),
    Effect: z.enum(['Allow', 'Deny']),
    Action: z.union([policyActionSchema, z.array(policyActionSchema).min(1)]).optional(),
    NotAction: z.union([policyActionSchema, z.array(policyActionSchema).min(1)]).optional(),
    Resource: z.union([policyResourceSchema, z.array(policyResourceSchema).min(1)]).optional(),
    NotResource: z.union([policyResourceSchema, z.array(policyResourceSchema).min(1)]).optional(),
    Condition: z
      .record(z.string(), z.record(z.string(), z.unknown()))
      .superRefine((condition, ctx) => {
        for (const operator of Object.keys(condition))
          if (!CONDITION_OPERATOR.test(operator))
            ctx.addIssue({
              code: 'custom',
              path: [operator],
              message: `"${operator}" is no IAM condition operator (e.g. StringEquals, ArnLike, StringLikeIfExists, ForAnyValue:StringEquals, Null)`,
            });
      })
      .optional(),
  })
  .strict()
  // IAM: "Statements must include either an Action or NotAction element" (and a Resource or NotResource).
  .superRefine((statement, ctx) => {
    for (const [element, not] of [
      ['Action', 'NotAction'],
      ['Resource', 'NotResource'],
    ] as const)
      if ((statement[element] === undefined) === (statement[not] === undefined))
        ctx.addIssue({ code: 'custom', message: `give exactly one of ${element} and ${not}` });
  });

/**
 * An identity policy as IAM takes it: a document (`Version`, `Statement`: one statement or a list), or its
 * statements alone (one, or a list), always read as the list of its statements.
 */
const policySchema = z
  .union([
    z.array(policyStatementSchema),
    z
      .object({
        Version: z.enum(['2012-10-17', '2008-10-17']).optional(),
        Id: z.string().optional(),
        Statement: z.union([policyStatementSchema, z.array(policyStatementSchema)]),
      })
      .strict(),
    policyStatementSchema,
  ])
  .transform((policy) =>
    Array.isArray(policy) ? policy : 'Statement' in policy ? [policy.Statement].flat() : [policy],
  );

const operatorSchema = z
  .object({
    arn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:(?:iam|sts)::\d{12}:(?:user|role|assumed-role|federated-user)\/\S+$/,
        'expected the ARN of an IAM user or role, or an STS session, e.g. arn:aws:sts::123456789012:assumed-role/deployer/alice',
      )
      .optional()
      .meta({
        description:
          "The operator's principal, as STS GetCallerIdentity answers it (default: arn:aws:sts::<account>:assumed-role/shipline-operator/sandbox-operator).",
      }),
    policy: policySchema.optional().meta({
      description:
        "The operator's identity policy (a document, or its statements), with the Region, Account and Stack placeholders of iam/operator-policy.json replaced; default: that file, the policy the README shows.",
    }),
  })
  .strict();

/** A text an expected output contains: every text contains the empty one, so it would assert nothing. */
const containsSchema = z.string().min(1, 'an empty text is in every output: it would assert nothing');

const cliExpectationSchema = z
  .object({
    at: durationSchema.optional().meta({ description: 'The command given at this virtual time.' }),
    command: z.string().optional().meta({ description: 'The command with exactly this text.' }),
    exitCode: z.number().int().min(0).max(255).optional(),
    stdoutContains: z.union([containsSchema, z.array(containsSchema)]).optional(),
    stderrContains: z.union([containsSchema, z.array(containsSchema)]).optional(),
  })
  .strict()
  .refine((value) => value.at !== undefined || value.command !== undefined, {
    message: 'name the command by at or by command',
  });

/** The error an injected AWS command fault fails with when the scenario names none. */
const FAULT_ERROR_DEFAULT = 'ThrottlingException';

/**
 * What the SDK's caller gets when the response to a call it sent is lost: @smithy/node-http-handler names a
 * socket timeout, and a connection reset or broken pipe (ECONNRESET, EPIPE, ETIMEDOUT), `TimeoutError`; the
 * SDK's retry strategy retries it as a transient error (@smithy/core, service-error-classification).
 */
export const LOST_RESPONSE_ERROR = 'TimeoutError';

/** The error an AWS command fault fails the call with: the one it names, else its kind's default. */
export const commandFaultError = (fault: { error?: string | undefined; responseLost?: boolean }): string =>
  fault.error ?? (fault.responseLost ? LOST_RESPONSE_ERROR : FAULT_ERROR_DEFAULT);

const faultSchema = z.union(
  [
    z
      .object({
        command: z
          .string()
          .min(1)
          .meta({ description: 'AWS API name, e.g. ModifyRule, UpdateService, PutItem.' }),
        error: z
          .string()
          .min(1)
          .optional()
          .meta({
            description: `The error the call fails with (default ${FAULT_ERROR_DEFAULT}; with responseLost, ${LOST_RESPONSE_ERROR}, the only one it may be).`,
          }),
        message: z.string().min(1).optional().meta({
          description:
            "The error's message (default: the service's own for a throttling or throughput error, else one naming the injected error).",
        }),
        times: z.number().int().min(1).default(1),
        after: durationSchema
          .optional()
          .meta({ description: 'Only calls made at or after this virtual time fail.' }),
        responseLost: z
          .boolean()
          .default(false)
          .meta({
            description: `The service applies the call, then its response is lost (a socket timeout or a connection reset after the request was sent): the caller gets ${LOST_RESPONSE_ERROR}, and the SDK's retry sends the call again to a service that already applied it (a conditional write then fails its condition). Default false: the call fails before the service applies anything.`,
          }),
      })
      .strict()
      .superRefine((fault, ctx) => {
        if (fault.responseLost && fault.error !== undefined && fault.error !== LOST_RESPONSE_ERROR)
          ctx.addIssue({
            code: 'custom',
            path: ['error'],
            message: `a lost response reaches the caller as the SDK's ${LOST_RESPONSE_ERROR} (its HTTP handler names a socket timeout or a connection reset so); ${fault.error} is an answer the service sends, so the call was answered, not lost: leave error out, or drop responseLost`,
          });
      }),
    z
      .object({
        state: z.string().min(1).meta({ description: 'State name in the state machine.' }),
        error: z.string().min(1).default('Lambda.ServiceException'),
        cause: z.string().default('injected by the scenario'),
        times: z.number().int().min(1).default(1),
      })
      .strict(),
  ],
  {
    error:
      'a fault names exactly one of command (an AWS API the pipeline calls, e.g. ModifyRule) or state (a Task state of the state machine)',
  },
);

const notificationExpectationSchema = z
  .object({
    event: notificationKindSchema.meta({ description: 'e.g. rolled_back.' }),
    subjectContains: containsSchema.optional(),
    fields: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'Fields the message must hold with these values (nested objects: a subset).' }),
  })
  .strict();

const deadLetterExpectationSchema = z
  .object({
    fn: z.string().min(1).meta({ description: 'The function that failed the event, e.g. alarmEvents.' }),
    detailType: z.string().optional(),
    errorContains: containsSchema.optional(),
  })
  .strict();

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
        start: z.iso
          .datetime({
            error: 'expected a UTC time such as 2026-11-22T10:00:00Z (the timeline counts from it)',
          })
          .default('2026-11-22T10:00:00Z'),
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
        ecsDeploySeconds: z.number().int().min(1).optional().meta({
          description:
            'Seconds from launch until a new ECS task is healthy in its target group (default: world.timing ecsTaskStart + healthCheckInterval, 90).',
        }),
        timing: timingSchema.default({}).meta({
          description: 'How long things take on AWS; defaults and their sources in sandbox/aws/timing.ts.',
        }),
        delivery: z.array(deliveryRuleSchema).default([]).meta({
          description:
            'EventBridge (and SNS) delivery faults: an event to a function delivered late, more than once, or never.',
        }),
        cloudwatch: z
          .object({
            metricDelaySeconds: z
              .number()
              .min(0)
              .default(CLOUDWATCH_TIMING_DEFAULTS.metricDelaySeconds)
              .meta({
                description:
                  'Seconds after the end of its minute an ALB datapoint becomes visible to alarm evaluation (AWS documents 60-second publication; alarms are observed about a minute after the minute ends).',
              }),
            evaluationRangeExtraPeriods: z
              .number()
              .int()
              .min(0)
              .default(CLOUDWATCH_TIMING_DEFAULTS.evaluationRangeExtraPeriods)
              .meta({
                description:
                  'Periods CloudWatch retrieves beyond EvaluationPeriods (the evaluation range; its documented example: 5 for 3).',
              }),
          })
          .strict()
          .default({
            metricDelaySeconds: CLOUDWATCH_TIMING_DEFAULTS.metricDelaySeconds,
            evaluationRangeExtraPeriods: CLOUDWATCH_TIMING_DEFAULTS.evaluationRangeExtraPeriods,
          })
          .meta({ description: 'CloudWatch timing: metric delay and evaluation range.' }),
        services: z.record(z.string(), serviceStateSchema).default({}).meta({
          description:
            "Each service's state at the start (services of the config); the scenario's service may use the shorthand fields above instead, never both.",
        }),
        functions: z
          .record(
            z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a Lambda function name: 1-64 letters, digits, - or _'),
            userFunctionSchema,
          )
          .default({})
          .meta({
            description:
              "The user's own Lambda functions (smoke tests) the pipeline may invoke; invoking any other fails with ResourceNotFoundException, as Lambda does.",
          }),
        slack: slackWorldSchema.optional(),
        parameters: z.record(z.string(), z.string()).default({}).meta({
          description:
            'SSM Parameter Store SecureString parameters by name, e.g. { /shipline/slack/bot-token: xoxb-... }; any other name is ParameterNotFound.',
        }),
        secrets: z.record(z.string(), z.string()).default({}).meta({
          description:
            'Secrets Manager secrets by name (their SecretString); any other is ResourceNotFoundException.',
        }),
        operator: operatorSchema.optional().meta({
          description: "Who runs the scenario's cli commands, and with what IAM policy.",
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
              'EventBridge loses the next `times` events of this detail-type (no function is invoked). world.delivery with drop: true does the same per function.',
          }),
      })
      .strict(),
    versions: z
      .record(z.string(), versionSchema)
      .superRefine((versions, ctx) => {
        for (const name of Object.keys(versions))
          if (!imageTagSchema.safeParse(name).success)
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: `"${name}" is no image tag (a version's name is its tag in ECR): letters, digits, _ . and - (not first), at most 128 characters`,
            });
      })
      .meta({
        description:
          "The images, by name: each is in the service's ECR repository from the start, tagged with its name (v2), so a deploy can name <repository URI>:v2; a push with a `tag` moves that tag to it.",
      }),
    trigger: triggerSchema,
    events: z.array(scheduledEventSchema).default([]),
    faults: z.array(faultSchema).default([]),
    until: durationSchema
      .refine((value) => parseDurationSeconds(value) !== 0, 'a run lasts at least 1s: at 0s nothing happens')
      .default('6h')
      .meta({ description: 'Virtual time limit for the run.' }),
    seed: z.number().int().min(0).max(4_294_967_295).optional().meta({
      description:
        "Seed of the run's random source (retry jitter, ids, tokens): the same seed gives the same timeline. Default 1; `simulate --seed` overrides it.",
    }),
    expect: z
      .object({
        outcome: z.enum(RELEASE_OUTCOMES).optional(),
        servingVersion: z.string().optional(),
        executions: z.number().int().min(0).optional(),
        notifications: z
          .array(
            z.union([notificationKindSchema, notificationExpectationSchema], {
              error: `expected a notification event (${NOTIFICATION_KINDS.join(', ')}) or an object { event, subjectContains, fields } naming one`,
            }),
          )
          .optional()
          .meta({
            description:
              'Notifications in order: an event name (e.g. started), or an object naming the event and the fields the message must hold.',
          }),
        executionNames: z
          .array(z.string())
          .optional()
          .meta({ description: 'Names of the executions started, in start order.' }),
        deadLetters: z
          .array(deadLetterExpectationSchema)
          .optional()
          .meta({ description: 'Events left in the dead-letter queue, in order (an empty list: none).' }),
        reasonContains: containsSchema.optional(),
        maxRollbackReactionSeconds: z.number().min(0).optional(),
        minRollbackReactionSeconds: z.number().min(0).optional().meta({
          description:
            'At least this long from the alarm to traffic back on the stable version: a rollback that keeps retrying for minutes.',
        }),
        alarmChanges: z.array(z.string()).optional().meta({
          description:
            "Every change of the world's alarms in the run, in order, as the timeline shows it: `NAME FROM -> TO` (e.g. checkout-latency-p99 OK -> ALARM) or `NAME deleted`; an empty list: none moved. The pipeline's own alarms (shipline-sandbox-..., e.g. the executions-failed alarm after a rollback) are not among them.",
        }),
        maxDetectionSeconds: z.number().min(0).optional().meta({
          description:
            'At most this long from regression onset to the first watched alarm in ALARM. It asserts a regression was detected: a run without one, or whose regression no watched alarm caught, fails it.',
        }),
        maxExposedRequests: z.number().min(0).optional().meta({
          description:
            'At most this many requests served by the released version while regressed (a run without a regression exposed none).',
        }),
        productionWeightChanges: z.number().int().min(0).optional().meta({
          description:
            "Exactly this many changes of the production listener rule's weights: 0 proves production traffic was never touched (a check failed before the swap), 2 a blue/green swap and its one-call swap back.",
        }),
        slack: slackExpectationSchema.optional().meta({
          description: 'The Slack thread at the end and how each click was answered.',
        }),
        services: z
          .record(z.string(), serviceExpectationSchema)
          .optional()
          .meta({ description: 'Expected end state per service (several services in one world).' }),
        cli: z.array(cliExpectationSchema).optional().meta({
          description: "What the scenario's cli commands printed and how they exited.",
        }),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((scenario, ctx) => {
    // The run ends at `until`: an event or a fault's start later than that could never happen, and the
    // scenario would pass for the wrong reason.
    const until = parseDurationSeconds(scenario.until) ?? Number.POSITIVE_INFINITY;
    const late = (at: string | number | undefined, path: Array<string | number>, what: string): void => {
      const seconds = at === undefined ? undefined : parseDurationSeconds(at);
      if (seconds !== undefined && seconds > until)
        ctx.addIssue({
          code: 'custom',
          path,
          message: `${what} at ${at} never comes: the run ends at until (${scenario.until})`,
        });
    };
    scenario.events.forEach((event, index) => {
      late(event.at, ['events', index, 'at'], 'an event');
    });
    scenario.faults.forEach((fault, index) => {
      if ('after' in fault) late(fault.after, ['faults', index, 'after'], 'a fault starting');
    });
    // ecsDeploySeconds is launch-to-healthy whole: with it, a task's start time would be ignored.
    if (scenario.world.ecsDeploySeconds !== undefined && scenario.world.timing.ecsTaskStart !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['world', 'timing', 'ecsTaskStart'],
        message:
          'world.ecsDeploySeconds already says how long a new task takes to be healthy (start included): give ecsTaskStart or ecsDeploySeconds, not both',
      });
  });

export type Scenario = z.output<typeof scenarioSchema>;

/** One service's state at the start of a run (from `world.services.<name>` or the shorthand under `world`). */
export type ServiceWorldState = z.output<typeof serviceStateSchema>;
