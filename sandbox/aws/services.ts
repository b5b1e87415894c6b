import type { SeededRandom } from '../random.ts';
import type { VirtualClock } from '../virtual-clock.ts';
import type { AsyncInvocationSettings } from './async-invocation.ts';
import type { Timing } from './timing.ts';

/** One line of a run's timeline. `service` names the scenario service it concerns, where known. */
export interface TimelineEntry {
  at: number;
  kind:
    | 'state'
    | 'traffic'
    | 'alarm'
    | 'notify'
    | 'ecs'
    | 'event'
    | 'fault'
    | 'execution'
    | 'lambda'
    | 'metric'
    | 'retry';
  text: string;
  execution?: string;
  service?: string;
}

/**
 * What every simulated AWS service gets from the world it lives in: the account and region, the clock,
 * the timeline and the default event bus. Services get only this (plus what each needs below), never the
 * whole world, so `sandbox/aws` has no import cycle and a service can be built and tested on its own.
 */
export interface AwsServiceContext {
  readonly clock: VirtualClock;
  readonly region: string;
  readonly account: string;
  /** The run's seeded random source (jitter, ids, tokens): the same seed gives the same timeline. */
  readonly random: SeededRandom;
  /** Adds a timeline entry (`service`: the scenario service it concerns, when known). */
  record(kind: TimelineEntry['kind'], text: string, execution?: string, service?: string): void;
  /** The scenario service a resource (a listener rule, ECS service, task definition family or alarm ARN) belongs to, for the timeline. */
  serviceOf(resource: string): string | undefined;
  /**
   * Puts an event on the default bus as AWS emits it; matching rules invoke their function asynchronously.
   * `id`: the event's id when the service derives it (then the run's random source is not drawn on, so an
   * event no rule matches leaves every later draw, and the timeline, as it was).
   */
  emitEvent(
    source: string,
    detailType: string,
    resources: string[],
    detail: Record<string, unknown>,
    id?: string,
  ): Record<string, unknown>;
}

/**
 * The world's Lambda service as the simulated services use it: the pipeline's functions (each with its
 * EventBridge rule patterns) and their invocation. sandbox/lambda-runtime.ts implements it; the services know
 * only this, so nothing here imports the runtime (which runs handlers inside a world, see context.ts).
 */
export interface LambdaService {
  readonly functions: ReadonlyMap<
    string,
    { readonly key: string; readonly eventPatterns: Record<string, unknown>[] }
  >;
  /** Invocations so far. */
  readonly invocations: number;
  /** Invokes a function with an event as Lambda does; a function error rejects with a LambdaInvocationError. */
  invoke(key: string, event: unknown): Promise<unknown>;
  /** How Lambda retries a function's asynchronous events (its configuration in the world), if it says. */
  asyncInvocation(key: string): AsyncInvocationSettings | undefined;
}

/** What a world gets its Lambda service from: the loaded handlers, with execution environments on its clock. */
export interface LambdaServiceFactory {
  forWorld(clock: VirtualClock, timing: Timing): LambdaService;
}

/** Integrates traffic up to now: called before anything that changes routing (`resource`: what changes). */
export interface TrafficAccumulator {
  accumulate(resource?: string): void;
}

/** ECS: its deployments take time, may fail to start (per version), and change what traffic reaches. */
export interface EcsContext extends AwsServiceContext {
  readonly versions: { failsToStart(image: string): boolean };
  readonly ecsDeploySeconds: number;
  /** How long things take on AWS in this world (defaults and sources in `timing.ts`). */
  readonly timing: Timing;
  readonly traffic: TrafficAccumulator;
}

/** ELBv2: weight changes move traffic. */
export interface Elbv2Context extends AwsServiceContext {
  readonly traffic: TrafficAccumulator;
}

/** CloudWatch: alarm transitions are kept for the run's summary (rollback reaction time). */
export interface CloudWatchContext extends AwsServiceContext {
  readonly alarmTransitions: Array<{ at: number; alarm: string; from: string; state: string }>;
  /**
   * An alarm action: CloudWatch publishes the alarm's notification to an SNS topic itself (not through
   * EventBridge). Throws as SNS refuses it (a topic that does not exist).
   */
  publishAlarmAction(topicArn: string, subject: string, message: string): void;
}

/**
 * Step Functions: the counts of its executions (AWS/States ExecutionsStarted, ExecutionsSucceeded,
 * ExecutionsFailed, ExecutionsAborted, ExecutionsTimedOut, dimension StateMachineArn) reach CloudWatch.
 */
export interface StepFunctionsContext extends AwsServiceContext {
  /**
   * Adds `value` to an AWS service's own metric in the current minute, visible to alarm evaluation as the
   * other AWS metrics are (at the end of the minute plus CloudWatch's modeled metric delay). With
   * `awaitActions`, the run is not over until every alarm with actions that reads the metric has acted on it.
   */
  putAwsMetric(
    namespace: string,
    name: string,
    dimensions: Array<{ Name: string; Value: string }>,
    value: number,
    awaitActions?: boolean,
  ): void;
}
