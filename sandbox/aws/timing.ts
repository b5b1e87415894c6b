import type { VirtualClock } from '../virtual-clock.ts';

/**
 * How long things take on AWS, as the sandbox models them. Each figure is a default a scenario can
 * override under `world.timing`; the comment on each says where it comes from. Where AWS documents no
 * figure, the comment says so and why the chosen one is not kinder than AWS.
 */
export interface Timing {
  /**
   * EventBridge: from an event put on the bus to its target invoked. AWS documents delivery "in near
   * real-time" (EventBridge FAQ, https://aws.amazon.com/eventbridge/faqs/) and exposes the figure as the
   * `IngestionToInvocationStartLatency` metric (EventBridge User Guide, "Best practices for monitoring event
   * delivery"), without a number; half a second is what that metric commonly shows.
   */
  eventDeliveryMs: number;
  /**
   * SNS: from a message published to a topic to a subscribed Lambda function invoked (asynchronously). AWS
   * documents no latency for SNS-to-Lambda delivery (the SNS FAQ, https://aws.amazon.com/sns/faqs/, speaks of
   * "push" delivery without a figure); the sandbox takes the same half second as EventBridge, a documented
   * default of this model rather than an AWS figure.
   */
  snsDeliveryMs: number;
  /**
   * Lambda cold start: preparing an execution environment and running the function's init code. The Lambda
   * Operator Guide ("Lambda execution environments, cold starts and latency") gives "from under 100 ms to
   * over 1 second"; a Node.js handler importing AWS SDK clients and middy sits in the middle.
   */
  lambdaColdStartMs: number;
  /** Lambda warm invocation overhead (frozen environment thawed, event handed over). Not documented; small. */
  lambdaWarmStartMs: number;
  /**
   * How long an idle execution environment is kept for reuse. The Lambda Operator Guide says Lambda keeps it
   * "for a non-deterministic period of time"; AWS publishes no figure. Five minutes is at the short end of
   * what is observed, so the sandbox pays at least as many cold starts as AWS would.
   */
  lambdaIdleReclaimSeconds: number;
  /**
   * One AWS API call, request to response, as the SDK sees it. AWS documents no per-call latency; tens of
   * milliseconds is typical within a region. Applied to every call a function makes (DynamoDB included), and
   * as the network round trip of an HTTP check through a test route (plus the answering version's response time).
   */
  apiCallMs: number;
  /**
   * ECS on Fargate: from a task launched to its container started (capacity provisioned, network interface
   * attached, image pulled and unpacked, container started, registered in the target group). AWS documents
   * no fixed figure: on re:Post AWS says "it is normal for new AWS Fargate tasks to take 30-45 seconds or
   * longer to start", and the ECS Developer Guide ("Fargate pull behavior") that every task pulls its whole
   * image, so launch time grows with it. A minute sits at the slow end of "normal".
   */
  ecsTaskStartSeconds: number;
  /**
   * ALB target group health check interval, default 30 s (CreateTargetGroup `HealthCheckIntervalSeconds`).
   * A newly registered target "must pass one health check to be considered healthy" (ALB User Guide,
   * "Health checks for Application Load Balancer target groups").
   */
  healthCheckIntervalSeconds: number;
  /** ALB `UnhealthyThresholdCount`, default 2: consecutive failed checks before a target is unhealthy. */
  unhealthyThresholdCount: number;
  /**
   * ALB target group `deregistration_delay.timeout_seconds`, default 300 s: a deregistered target drains for
   * this long before ECS stops it, and the ECS deployment completes only after the old tasks are stopped.
   */
  deregistrationDelaySeconds: number;
  /**
   * From launch until a new task is healthy behind its target group. Undefined: `ecsTaskStartSeconds` plus
   * one health check interval. Scenario `world.ecsDeploySeconds` (older key) sets it directly.
   */
  ecsTaskHealthySeconds?: number;
}

/** The defaults, each explained on {@link Timing}. */
export const DEFAULT_TIMING: Readonly<Required<Omit<Timing, 'ecsTaskHealthySeconds'>>> = {
  eventDeliveryMs: 500,
  snsDeliveryMs: 500,
  lambdaColdStartMs: 400,
  lambdaWarmStartMs: 5,
  lambdaIdleReclaimSeconds: 300,
  apiCallMs: 30,
  ecsTaskStartSeconds: 60,
  healthCheckIntervalSeconds: 30,
  unhealthyThresholdCount: 2,
  deregistrationDelaySeconds: 300,
};

/** Seconds from launch until a new task is healthy in its target group. */
export const taskHealthySeconds = (timing: Timing): number =>
  timing.ecsTaskHealthySeconds ?? timing.ecsTaskStartSeconds + timing.healthCheckIntervalSeconds;

/**
 * Seconds from launch until a task that never passes its health check is marked unhealthy (and ECS stops
 * and counts it as failed): its first check comes when a healthy task would be healthy, then
 * `UnhealthyThresholdCount - 1` more failed checks.
 */
export const taskUnhealthySeconds = (timing: Timing): number =>
  taskHealthySeconds(timing) + (timing.unhealthyThresholdCount - 1) * timing.healthCheckIntervalSeconds;

/**
 * The ECS deployment circuit breaker's failure threshold: half the desired count, at least 3 and at most
 * 200 (ECS API Reference, ServiceDeploymentCircuitBreaker `threshold`: "a minimum threshold of 3 and a
 * maximum threshold of 200 ... 0.5 * desired task count"; ThresholdConfiguration default BOUNDED_PERCENT 50),
 * rounded up: the ECS Developer Guide ("How the Amazon ECS deployment circuit breaker detects failures")
 * gives 1 -> 3, 25 -> 13 ("the value is rounded up"), 400 -> 200, 800 -> 200.
 */
export const circuitBreakerThreshold = (desiredCount: number): number =>
  Math.min(200, Math.max(3, Math.ceil(desiredCount * 0.5)));

/**
 * Virtual sleep of whole milliseconds for a caller that holds the clock (`clock.sleep` takes seconds, and
 * `ms / 1000 * 1000` is not always a whole number).
 */
export const sleepMs = (clock: VirtualClock, ms: number): Promise<void> =>
  ms <= 0
    ? Promise.resolve()
    : clock.block<void>((resolve) => {
        clock.schedule(clock.nowMillis + Math.round(ms), () => resolve());
      });
