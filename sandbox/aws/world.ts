import { Uint8ArrayBlobAdapter } from '@smithy/core/serde';
import { matchesEventPattern } from '../eventbridge/pattern.ts';
import { currentFunction } from '../iam/enforce.ts';
import { SeededRandom } from '../random.ts';
import type { VirtualClock } from '../virtual-clock.ts';
import {
  type AsyncInvocationSettings,
  afterFailedAttempt,
  LAMBDA_ASYNC_DEFAULTS,
  type QueuedEvent,
} from './async-invocation.ts';
import { SimulatedCloudFormation } from './cloudformation.ts';
import { SimulatedCloudWatch } from './cloudwatch.ts';
import { DeliveryFaults } from './delivery.ts';
import { SimulatedEcr } from './ecr.ts';
import { SimulatedEcs } from './ecs.ts';
import { SimulatedElbv2 } from './elbv2.ts';
import { LambdaInvocationError, SimulatedAwsError, UnsupportedCommandError } from './errors.ts';
import { type LambdaFunctionsContext, payloadText, SimulatedLambdaFunctions } from './lambda-functions.ts';
import { SimulatedSecretsManager, SimulatedSsm } from './secrets.ts';
import type {
  CloudWatchContext,
  EcsContext,
  Elbv2Context,
  LambdaService,
  LambdaServiceFactory,
  StepFunctionsContext,
  TimelineEntry,
} from './services.ts';
import { SimulatedStepFunctions } from './sfn.ts';
import { formatDelay } from './sfn-retry.ts';
import { SimulatedSlack } from './slack.ts';
import { type PublishedMessage, SimulatedSns } from './sns.ts';
import { SimulatedSts } from './sts.ts';
import { SimulatedTestRoutes, type TestRouteContext } from './test-route.ts';
import { DEFAULT_TIMING, sleepMs, type Timing, taskHealthySeconds } from './timing.ts';
import { type TrafficContext, TrafficModel, type VersionCatalog } from './traffic.ts';

export type { TimelineEntry } from './services.ts';

/** EventBridge accepts events up to 256 KB (PutEvents entry size, UTF-8). */
export const MAX_EVENT_BYTES = 262_144;

/** A few words saying which event this is in the timeline (an alarm's state, an ECS event's name). */
const describeEvent = (event: Record<string, unknown>): string => {
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  const state = (detail.state as { value?: unknown } | undefined)?.value;
  if (typeof detail.alarmName === 'string' && typeof state === 'string')
    return ` (${detail.alarmName} ${state})`;
  if (typeof detail.eventName === 'string') return ` (${detail.eventName})`;
  return '';
};

/** The detail-type a `world.delivery` rule names to act on SNS deliveries (to the topics' subscribers). */
export const SNS_DETAIL_TYPE = 'SNS Notification';

/**
 * The asynchronous invocation settings of a function the world has no configuration for (a test's bare
 * world): Lambda's defaults, with a dead-letter queue, as every asynchronously invoked function of
 * serverless.yml has.
 */
const UNCONFIGURED_ASYNC: AsyncInvocationSettings = {
  ...LAMBDA_ASYNC_DEFAULTS,
  onFailure: 'the dead-letter queue',
};

/** `7 min`, `6 h`: an event age as serverless.yml's `maximumEventAge` reads in a person's words. */
const formatAge = (seconds: number): string =>
  seconds % 3600 === 0 ? `${seconds / 3600} h` : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;

export interface CommandFault {
  command: string;
  error: string;
  message: string;
  remaining: number;
  /** Virtual time (ms) from which calls fail. */
  activeFrom: number;
  /** The service applies the call, then its response is lost: the caller gets the error all the same. */
  responseLost?: boolean;
}

export interface WorldOptions {
  clock: VirtualClock;
  /** The loaded handlers (sandbox/lambda-runtime.ts): the world runs them on its own clock. */
  lambda: LambdaServiceFactory;
  region: string;
  account: string;
  /** Every version of the scenario (names are world-wide), recognised by the image a task runs. */
  versions: VersionCatalog;
  /** Requests per minute through a listener rule whose load the scenario does not set. */
  requestsPerMinute: number;
  /** Time from launch until a new task is healthy (older option; `timing.ecsTaskHealthySeconds` wins). */
  ecsDeploySeconds?: number;
  /** Overrides of AWS's latencies (defaults and sources in `timing.ts`). */
  timing?: Partial<Timing>;
  /** The ALB metrics' LoadBalancer dimension for a listener rule whose ARN names none. */
  loadBalancerDimension?: string;
  onRecord?: (entry: TimelineEntry) => void;
  /** The run's seeded random source (jitter, ids, tokens); a fixed default seed when absent. */
  random?: SeededRandom;
}

/**
 * The simulated AWS account: every SDK command the pipeline sends (but DynamoDB's, which go to a real
 * local DynamoDB server) is answered here. A command no service models fails loudly, naming it.
 */
export class SimulatedWorld
  implements
    EcsContext,
    StepFunctionsContext,
    Elbv2Context,
    CloudWatchContext,
    TrafficContext,
    LambdaFunctionsContext,
    TestRouteContext
{
  public readonly clock: VirtualClock;
  public readonly region: string;
  public readonly account: string;
  public readonly versions: VersionCatalog;
  /** Seconds from launch until a new task is healthy in its target group. */
  public readonly ecsDeploySeconds: number;
  /** How long things take on AWS in this world (defaults and sources in `timing.ts`). */
  public readonly timing: Timing;
  /** Delivery faults the scenario injects (`world.delivery`): late, duplicated or lost events. */
  public readonly delivery = new DeliveryFaults();
  public readonly loadBalancerDimension: string;
  public readonly timeline: TimelineEntry[] = [];
  public readonly alarmTransitions: Array<{ at: number; alarm: string; from: string; state: string }> = [];
  public readonly commands: Array<{ at: number; service: string; command: string; input: unknown }> = [];
  public readonly commandFaults: CommandFault[] = [];
  /**
   * Each function's EventBridge rule patterns as deployed (variables resolved from the run's config);
   * a function absent here uses its patterns as serverless.yml writes them.
   */
  public eventPatterns = new Map<string, Record<string, unknown>[]>();
  /**
   * Each function's SNS subscriptions (serverless.yml `events: - sns: ...`), resolved for this world: a
   * message published to a topic is delivered to every function subscribed to it whose filter policy
   * matches, as an asynchronous invocation with the SNS event AWS sends.
   */
  public snsSubscriptions = new Map<
    string,
    Array<{ topicArn: string; filterPolicy?: Record<string, unknown> }>
  >();
  /** Events EventBridge loses (scenario `world.dropEvents`): the next `remaining` of this detail-type. */
  public readonly droppedEvents: Array<{ detailType: string; remaining: number }> = [];
  public readonly ecs: SimulatedEcs;
  public readonly elbv2: SimulatedElbv2;
  public readonly cloudwatch: SimulatedCloudWatch;
  public readonly ecr: SimulatedEcr;
  public readonly sns: SimulatedSns;
  /** SSM parameters and Secrets Manager secrets the scenario declares (`world.parameters`, `world.secrets`). */
  public readonly ssm: SimulatedSsm;
  public readonly secretsManager: SimulatedSecretsManager;
  /** The Slack workspace the scenario declares (`world.slack`): its Web API answers the functions' fetch. */
  public readonly slack: SimulatedSlack;
  public readonly sfn: SimulatedStepFunctions;
  public readonly traffic: TrafficModel;
  public readonly lambda: LambdaService;
  /** The user's own Lambda functions (smoke tests), as the scenario declares them (`world.functions`). */
  public readonly functions: SimulatedLambdaFunctions;
  /** The hosts of the services' test routes (test listener rules), answered by the versions behind them. */
  public readonly testRoutes: SimulatedTestRoutes;
  /** The pipeline's stack (DescribeStacks) and the operator's identity (GetCallerIdentity), for the CLI. */
  public readonly cloudformation: SimulatedCloudFormation;
  public readonly sts: SimulatedSts;
  /** Each scenario service's production listener rule (for the version a smoke test reaches without a test route). */
  public readonly productionRules = new Map<string, string>();
  public readonly random: SeededRandom;
  private readonly onRecord?: (entry: TimelineEntry) => void;

  public constructor(options: WorldOptions) {
    this.clock = options.clock;
    this.timing = {
      ...DEFAULT_TIMING,
      ...(options.ecsDeploySeconds !== undefined ? { ecsTaskHealthySeconds: options.ecsDeploySeconds } : {}),
      ...options.timing,
    };
    // One Lambda service per world: its execution environments (cold and warm starts) live on this clock.
    this.lambda = options.lambda.forWorld(this.clock, this.timing);
    this.region = options.region;
    this.account = options.account;
    this.versions = options.versions;
    this.ecsDeploySeconds = taskHealthySeconds(this.timing);
    this.loadBalancerDimension = options.loadBalancerDimension ?? 'app/sandbox/0000000000000000';
    this.onRecord = options.onRecord;
    this.random = options.random ?? new SeededRandom();
    this.ecs = new SimulatedEcs(this);
    this.elbv2 = new SimulatedElbv2(this);
    this.cloudwatch = new SimulatedCloudWatch(this);
    this.ecr = new SimulatedEcr(this);
    this.sns = new SimulatedSns(this);
    this.sns.onPublished = (message) => this.deliverSns(message);
    this.ssm = new SimulatedSsm(this);
    this.secretsManager = new SimulatedSecretsManager(this);
    this.slack = new SimulatedSlack(this);
    this.sfn = new SimulatedStepFunctions(this, this.lambda);
    this.traffic = new TrafficModel(this, options.requestsPerMinute);
    this.functions = new SimulatedLambdaFunctions(this);
    this.testRoutes = new SimulatedTestRoutes(this);
    this.cloudformation = new SimulatedCloudFormation(this);
    this.sts = new SimulatedSts(this);
  }

  /** The version one request to the service's test route reaches; with no test route, its production route. */
  public versionReachedBy(service: string): string | undefined {
    const ruleArn = this.testRoutes.ofService(service)?.ruleArn ?? this.productionRules.get(service);
    return ruleArn === undefined ? undefined : this.testRoutes.versionThrough(ruleArn).version;
  }

  /**
   * Which scenario service each resource belongs to (listener rules, ECS services, task definition families,
   * alarms by ARN), set when the world is seeded, for the timeline. A resource two services share (an alarm
   * both declare) is neither's: undefined.
   */
  public readonly resourceServices = new Map<string, string | undefined>();

  public serviceOf(resource: string): string | undefined {
    return this.resourceServices.get(resource);
  }

  /** Says a resource is this service's, unless another service has already claimed it (then it is no one's). */
  public claimResource(resource: string, service: string): void {
    const owner = this.resourceServices.get(resource);
    this.resourceServices.set(
      resource,
      this.resourceServices.has(resource) && owner !== service ? undefined : service,
    );
  }

  /** Adds a timeline entry; `service` names the scenario service it concerns, when the caller knows it. */
  public record(kind: TimelineEntry['kind'], text: string, execution?: string, service?: string): void {
    const entry: TimelineEntry = {
      at: this.clock.nowMillis,
      kind,
      text,
      ...(execution ? { execution } : {}),
      ...(service ? { service } : {}),
    };
    this.timeline.push(entry);
    this.onRecord?.(entry);
  }

  /** CloudWatch's alarm action to an SNS topic: published as any message, delivered to the topic's subscribers. */
  public publishAlarmAction(topicArn: string, subject: string, message: string): void {
    this.sns.handle('Publish', { TopicArn: topicArn, Subject: subject, Message: message });
  }

  /**
   * Adds to an AWS service's own metric (Step Functions' execution counts) in the current minute, visible to
   * alarms as ALB's datapoints are: at the end of the minute plus CloudWatch's metric delay. With
   * `awaitActions` (an execution that ended outside its own states), the run is not over until every alarm
   * with actions that reads the metric has acted on it: its notification, and the function it invokes.
   */
  public putAwsMetric(
    namespace: string,
    name: string,
    dimensions: Array<{ Name: string; Value: string }>,
    value: number,
    awaitActions = false,
  ): void {
    const at = this.clock.nowMillis;
    const minuteEnd = (Math.floor(at / 60_000) + 1) * 60_000;
    this.cloudwatch.putDatapoint(namespace, name, dimensions, {
      at,
      sum: value,
      count: 1,
      min: value,
      max: value,
      visibleAt: minuteEnd + this.cloudwatch.timing.metricDelaySeconds * 1000,
    });
    // A count of an end its own states handled is awaited too while an awaited one's is: it may keep the
    // alarm in ALARM past that one's wait, and the OK action it then delays is the second look at that end.
    const series = `${namespace}|${name}|${JSON.stringify(dimensions)}`;
    if (!awaitActions && (this.awaitedSeries.get(series) ?? 0) === 0) return;
    // An alarm with actions reads it: the run goes on until that alarm has acted on it.
    const awaited = this.cloudwatch.awaitActions(namespace, name, dimensions, at, () => {
      this.pendingAlarmActions -= 1;
      this.awaitedSeries.set(series, (this.awaitedSeries.get(series) ?? 1) - 1);
    });
    if (awaited) {
      this.pendingAlarmActions += 1;
      this.awaitedSeries.set(series, (this.awaitedSeries.get(series) ?? 0) + 1);
    }
  }

  /** The AWS metrics with a datapoint still awaited (putAwsMetric), and how many. */
  private readonly awaitedSeries = new Map<string, number>();

  /**
   * AWS datapoints an alarm with actions has yet to act on (see putAwsMetric): a run is not over while one
   * is, as its action (an SNS notification, a function it invokes) may still come.
   */
  public pendingAlarmActions = 0;

  /**
   * Starts ALB's per-minute metric publication and CloudWatch's alarm evaluation. Alarms start evaluating
   * once every alarm has a full evaluation range of history, so they keep their initial state until then.
   */
  public startMinuteTicks(): void {
    // A full range is visible once its last period's datapoint has cleared the metric delay.
    const delay = this.cloudwatch.timing.metricDelaySeconds * 1000;
    const ranges = [...this.cloudwatch.alarms.values()].map(
      (a) => a.Period * a.EvaluationPeriods * 1000 + delay,
    );
    const evaluateFrom = this.clock.nowMillis + Math.max(0, ...ranges);
    const tick = (at: number) => {
      this.clock.schedule(
        at,
        () => {
          this.traffic.publishMinute(at);
          if (at >= evaluateFrom) this.cloudwatch.evaluate(at);
          tick(at + 60_000);
        },
        // Publication and evaluation are synchronous: an alarm's event is delivered by a timer of its own.
        { background: true, synchronous: true },
      );
    };
    tick((Math.floor(this.clock.nowMillis / 60_000) + 1) * 60_000);
  }

  /** Puts an event on the default bus as AWS emits it; matching rules invoke their function asynchronously. */
  public emitEvent(
    source: string,
    detailType: string,
    resources: string[],
    detail: Record<string, unknown>,
    id?: string,
  ): Record<string, unknown> {
    const event = {
      version: '0',
      id: id ?? this.random.uuid(),
      'detail-type': detailType,
      source,
      account: this.account,
      time: this.clock
        .now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      region: this.region,
      resources,
      detail,
    };
    this.deliver(event);
    return event;
  }

  /** Deliveries scheduled but not yet finished (a run is not over while one is pending). */
  public pendingDeliveries = 0;

  /** Events that failed every attempt and went to the dead-letter queue (serverless.yml `onFailure`). */
  public readonly deadLetters: Array<{
    at: number;
    fn: string;
    event: Record<string, unknown>;
    error: string;
  }> = [];

  /**
   * Delivers an event to every function whose EventBridge rule (from serverless.yml) matches it, as an
   * asynchronous Lambda invocation: Lambda retries it as the function's configuration says (see
   * async-invocation.ts: function errors after 1 and then 2 minutes, throttles from 1 s up to every 5
   * minutes, until the event's maximum age), then it goes to the function's on-failure destination, if
   * any. `target` invokes one function directly and synchronously instead (a manual request): no retry.
   * `onResult` sees each attempt's result or error. An event over 256 KB is refused (ValidationException),
   * as PutEvents refuses it.
   */
  public deliver(
    event: Record<string, unknown>,
    options: {
      target?: string;
      onResult?: (fn: string, result: { ok: true; value: unknown } | { ok: false; error: Error }) => void;
    } = {},
  ): number {
    const size = Buffer.byteLength(JSON.stringify(event), 'utf8');
    if (!options.target && size > MAX_EVENT_BYTES) {
      // What PutEvents answers for an entry over the limit: the event never reaches the bus.
      throw new SimulatedAwsError(
        'ValidationException',
        `Total size of the entries in the request is over the limit. (event of ${size} bytes; EventBridge accepts at most ${MAX_EVENT_BYTES})`,
      );
    }
    if (!options.target) {
      const drop = this.droppedEvents.find((d) => d.detailType === event['detail-type'] && d.remaining > 0);
      if (drop) {
        drop.remaining -= 1;
        this.record('fault', `EventBridge lost a ${drop.detailType} event (delivered to no function)`);
        return 0;
      }
    }
    const targets = options.target
      ? [options.target]
      : [...this.lambda.functions.values()]
          .filter((fn) =>
            (this.eventPatterns.get(fn.key) ?? fn.eventPatterns).some((pattern) =>
              matchesEventPattern(pattern, event),
            ),
          )
          .map((fn) => fn.key);
    if (options.target) {
      for (const key of targets) this.attempt(key, event, undefined, options.onResult);
      return targets.length;
    }
    // Through the bus: EventBridge's delivery latency, and whatever the scenario does to this delivery.
    const plans = this.delivery.plan(event, targets);
    let delivered = 0;
    for (const key of targets) {
      const plan = this.delivery.planFor(plans, key);
      const what = `${String(event['detail-type'])} event${describeEvent(event)} to ${key}`;
      if (plan.drop) {
        this.record('fault', `EventBridge lost the ${what}`);
        continue;
      }
      delivered += 1;
      if (plan.delayMs > 0) this.record('fault', `EventBridge delays the ${what} by ${plan.delayMs / 1000}s`);
      if (plan.duplicates > 0)
        this.record('fault', `EventBridge delivers the ${what} ${plan.duplicates + 1} times`);
      for (let copy = 0; copy <= plan.duplicates; copy += 1)
        this.attempt(key, event, this.queued(this.timing.eventDeliveryMs + plan.delayMs), options.onResult);
    }
    return delivered;
  }

  /**
   * Delivers an SNS message to every function subscribed to its topic, as SNS invokes Lambda: asynchronously
   * (Lambda's retries and dead-letter handling apply, as for an EventBridge event), after the modeled SNS
   * latency, with the event shape the Lambda Developer Guide gives ("Invoking Lambda functions with Amazon
   * SNS notifications": `Records[].Sns` with Type, MessageId, TopicArn, Subject, Message, Timestamp,
   * MessageAttributes as `{ Type, Value }`). A subscription's filter policy is matched on the message
   * attributes with the EventBridge pattern matcher: the same exact, prefix, anything-but, numeric and exists
   * operators as SNS filter policies (Amazon SNS Developer Guide, "Amazon SNS message filtering").
   */
  private deliverSns(message: PublishedMessage): void {
    const attributes = Object.fromEntries(
      Object.entries(message.attributes).map(([name, value]) => {
        const attribute = value as { DataType?: string; StringValue?: string };
        return [name, { Type: attribute.DataType ?? 'String', Value: attribute.StringValue ?? '' }];
      }),
    );
    const attributeValues = Object.fromEntries(
      Object.entries(attributes).map(([name, { Type, Value }]) => {
        if (Type === 'String.Array') {
          try {
            return [name, JSON.parse(Value) as unknown];
          } catch {
            return [name, Value];
          }
        }
        return [name, Type === 'Number' ? Number(Value) : Value];
      }),
    );
    const targets = [...this.snsSubscriptions].flatMap(([key, subscriptions]) =>
      subscriptions
        .filter(
          (subscription) =>
            subscription.topicArn === message.topicArn &&
            (!subscription.filterPolicy || matchesEventPattern(subscription.filterPolicy, attributeValues)),
        )
        .map(() => key),
    );
    // SNS delivers at least once, so a scenario may delay, duplicate or lose a delivery as for EventBridge
    // (`world.delivery` with detailType `SNS Notification`, matched on the message attributes).
    const plans = this.delivery.plan(
      {
        'detail-type': SNS_DETAIL_TYPE,
        source: 'aws.sns',
        detail: { topicArn: message.topicArn, ...attributeValues },
      },
      targets,
    );
    for (const key of targets) {
      const plan = this.delivery.planFor(plans, key);
      const what = `SNS message (${String(attributeValues.event ?? 'no event attribute')}) to ${key}`;
      if (plan.drop) {
        this.record('fault', `SNS lost the ${what}`);
        continue;
      }
      if (plan.delayMs > 0) this.record('fault', `SNS delays the ${what} by ${plan.delayMs / 1000}s`);
      if (plan.duplicates > 0) this.record('fault', `SNS delivers the ${what} ${plan.duplicates + 1} times`);
      const event = {
        Records: [
          {
            EventSource: 'aws:sns',
            EventVersion: '1.0',
            EventSubscriptionArn: `${message.topicArn}:${key}`,
            Sns: {
              Type: 'Notification',
              MessageId: message.messageId,
              TopicArn: message.topicArn,
              Subject: message.subject === '' ? null : message.subject,
              Message: message.message,
              Timestamp: new Date(message.at).toISOString(),
              SignatureVersion: '1',
              Signature: 'sandbox',
              SigningCertUrl: `https://sns.${this.region}.amazonaws.com/SimpleNotificationService-sandbox.pem`,
              UnsubscribeUrl: `https://sns.${this.region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${message.topicArn}:${key}`,
              MessageAttributes: attributes,
            },
          },
        ],
      };
      for (let copy = 0; copy <= plan.duplicates; copy += 1)
        this.attempt(key, event, this.queued(this.timing.snsDeliveryMs + plan.delayMs));
    }
  }

  /** An event Lambda accepts into a function's asynchronous queue `delayMs` from now (its delivery time). */
  private queued(delayMs: number): QueuedEvent {
    return { queuedAt: this.clock.nowMillis + delayMs, retries: 0, throttles: 0 };
  }

  /**
   * One attempt to run `key` on `event`: at once for a direct (synchronous) invocation, which nothing
   * retries (`queued` undefined), or, for an event in the function's asynchronous queue, when it is due
   * (`queued.queuedAt` for the first attempt); a failed one is retried or discarded as Lambda does.
   */
  private attempt(
    key: string,
    event: Record<string, unknown>,
    queued: QueuedEvent | undefined,
    onResult?: (fn: string, result: { ok: true; value: unknown } | { ok: false; error: Error }) => void,
    atMs = queued?.queuedAt ?? this.clock.nowMillis,
  ): void {
    this.pendingDeliveries += 1;
    this.clock.schedule(atMs, () => {
      void this.clock.track(async () => {
        try {
          const value = await this.lambda.invoke(key, event);
          onResult?.(key, { ok: true, value });
        } catch (error) {
          const failure = error as Error;
          const message = failure instanceof LambdaInvocationError ? failure.errorMessage : failure.message;
          const failed = `${key} failed: ${failure.name}: ${message}`;
          onResult?.(key, { ok: false, error: Object.assign(new Error(message), { name: failure.name }) });
          if (!queued) {
            this.record('lambda', failed);
            return;
          }
          const settings = this.lambda.asyncInvocation(key) ?? UNCONFIGURED_ASYNC;
          const next = afterFailedAttempt(queued, failure.name, this.clock.nowMillis, settings);
          if (next.kind === 'retry') {
            this.record('lambda', `${failed} (retry ${next.retry} of ${settings.maximumRetryAttempts})`);
            this.attempt(key, event, queued, onResult, next.atMs);
            return;
          }
          if (next.kind === 'throttled') {
            this.record(
              'lambda',
              `${failed} (throttled: back in Lambda's queue, next attempt in ${formatDelay(next.delayMs)})`,
            );
            this.attempt(key, event, queued, onResult, next.atMs);
            return;
          }
          const why =
            next.reason === 'age'
              ? `older than its maximum event age of ${formatAge(settings.maximumEventAgeSeconds)}`
              : settings.maximumRetryAttempts === 0
                ? 'no retry'
                : 'retries spent';
          this.record(
            'lambda',
            `${failed} (${why}: ${settings.onFailure === undefined ? 'discarded, the function has no on-failure destination' : 'sent to the dead-letter queue'})`,
          );
          if (settings.onFailure !== undefined)
            this.deadLetters.push({
              at: this.clock.nowMillis,
              fn: key,
              event,
              error: `${failure.name}: ${message}`,
            });
        } finally {
          this.pendingDeliveries -= 1;
        }
      });
    });
  }

  private takeFault(command: string): CommandFault | undefined {
    const fault = this.commandFaults.find(
      (f) => f.command === command && f.remaining > 0 && this.clock.nowMillis >= f.activeFrom,
    );
    if (fault) fault.remaining -= 1;
    return fault;
  }

  /**
   * Raises an injected fault for this command, if any (DynamoDB commands included), or returns one whose
   * response is lost: the caller applies the command, then raises it with {@link loseResponse}.
   */
  public injectFault(command: string): CommandFault | undefined {
    const fault = this.takeFault(command);
    if (!fault) return undefined;
    if (fault.responseLost) return fault;
    this.record('fault', `${command}: injected ${fault.error}`);
    // As AWS answers: a service fault is a 5xx, anything else a 400 client error. The SDK retries faults and
    // throttling errors (recognised by name) and fails at once on the rest (AccessDenied, ValidationException).
    const serverSide =
      /InternalServerError|InternalFailure|InternalError|ServiceUnavailable|ServerException/.test(
        fault.error,
      );
    throw new SimulatedAwsError(fault.error, fault.message, {
      status: serverSide ? 500 : 400,
      fault: serverSide ? 'server' : 'client',
    });
  }

  /**
   * The response to a command the service applied is lost: the caller gets the fault's error (the SDK's
   * TimeoutError, as for a socket timeout or a connection reset), as a network error carries it: no HTTP
   * status, no service fault, and the Node.js code of a reset connection. Whatever the service answered
   * (a result or its own error) never reaches the caller.
   */
  public loseResponse(command: string, fault: CommandFault): never {
    this.record('fault', `${command}: applied, then its response was lost (injected ${fault.error})`);
    throw Object.assign(new Error(fault.message), { name: fault.error, code: 'ECONNRESET' });
  }

  /**
   * A function's SDK call takes a round trip's virtual time (`timing.apiCallMs`) before AWS answers it. Only
   * calls made inside an invocation pay it: they run while the invocation holds the clock.
   */
  public async callLatency(): Promise<void> {
    if (currentFunction.getStore() === undefined) return;
    await sleepMs(this.clock, this.timing.apiCallMs);
  }

  /**
   * A synchronous Invoke of one of the pipeline's own functions (`shipline-sandbox-<key>`: the CLI invokes the
   * trigger function), or undefined for any other function. A function error is no API error: Lambda
   * answers 200 with `FunctionError: 'Unhandled'` and the error as the payload.
   */
  private invokePipelineFunction(input: Record<string, unknown>): Promise<unknown> | undefined {
    const name = String(input.FunctionName ?? '');
    const prefix = `arn:aws:lambda:${this.region}:${this.account}:function:`;
    const key = (name.startsWith(prefix) ? name.slice(prefix.length) : name).replace(
      /^shipline-sandbox-/,
      '',
    );
    if (key === name || !this.lambda.functions.has(key)) return undefined;
    const text = payloadText(input.Payload);
    const payload: unknown = text === '' ? {} : JSON.parse(text);
    const answer = (body: unknown, error = false) => ({
      StatusCode: 200,
      ExecutedVersion: '$LATEST',
      ...(error ? { FunctionError: 'Unhandled' } : {}),
      Payload: Uint8ArrayBlobAdapter.fromString(JSON.stringify(body)),
    });
    return this.lambda.invoke(key, payload).then(
      (value) => answer(value),
      (failure: Error) =>
        answer(
          {
            errorType: failure.name,
            errorMessage: failure instanceof LambdaInvocationError ? failure.errorMessage : failure.message,
          },
          true,
        ),
    );
  }

  /**
   * Counts one SDK command a function sent, with its input, and applies the scenario's faults for it.
   * Returns the command's name without its `Command` suffix, and a fault whose response is lost once the
   * command is applied (see {@link answer}).
   */
  public sent(
    clientName: string,
    commandName: string,
    input?: Record<string, unknown>,
  ): { command: string; lost?: CommandFault } {
    const command = commandName.replace(/Command$/, '');
    this.commands.push({ at: this.clock.nowMillis, service: clientName, command, input });
    const lost = this.injectFault(command);
    return lost ? { command, lost } : { command };
  }

  /**
   * The answer to a command sent: `applied` (the service's work, done or failed), unless its response is
   * lost, when the caller gets the lost response's error once the service has applied it.
   */
  public async answer<T>(sent: { command: string; lost?: CommandFault }, applied: () => T | Promise<T>) {
    if (!sent.lost) return applied();
    const { lost } = sent;
    await Promise.resolve()
      .then(applied)
      .catch(() => undefined);
    return this.loseResponse(sent.command, lost);
  }

  /** Answers one SDK command. */
  public handle(clientName: string, commandName: string, input: Record<string, unknown>): unknown {
    const sent = this.sent(clientName, commandName, input);
    if (sent.lost) return this.answer(sent, () => this.apply(clientName, sent.command, input));
    return this.apply(clientName, sent.command, input);
  }

  /** What the service does with one command (its result, or a promise of it). */
  private apply(clientName: string, command: string, input: Record<string, unknown>): unknown {
    if (clientName === 'Lambda' && command === 'Invoke') {
      const pipeline = this.invokePipelineFunction(input);
      if (pipeline) return pipeline;
    }
    const service = {
      ECS: this.ecs,
      ElasticLoadBalancingV2: this.elbv2,
      CloudWatch: this.cloudwatch,
      ECR: this.ecr,
      SNS: this.sns,
      SFN: this.sfn,
      Lambda: this.functions,
      SSM: this.ssm,
      SecretsManager: this.secretsManager,
      CloudFormation: this.cloudformation,
      STS: this.sts,
    }[clientName];
    const output = service?.handle(command, input);
    if (output === undefined) throw new UnsupportedCommandError(clientName, command);
    return output;
  }
}
