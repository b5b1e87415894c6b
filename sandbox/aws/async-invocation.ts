/**
 * Lambda's asynchronous invocation, as EventBridge and SNS invoke a function: the event waits in Lambda's
 * own queue, and Lambda (not EventBridge, not SNS) retries it. EventBridge's retry policy ("for 24 hours and
 * up to 185 times with an exponential back off and jitter", EventBridge User Guide, "How EventBridge retries
 * delivering events", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html)
 * and SNS's delivery policy apply only when the Invoke call itself fails, which the sandbox does not
 * simulate; an asynchronous Invoke is accepted into the queue, so a function error or a throttle is
 * Lambda's to retry (Lambda Developer Guide, "How Lambda handles errors and retries with asynchronous
 * invocation", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):
 * - a function error (thrown by the code, or by the runtime such as a timeout) is retried at most
 *   `MaximumRetryAttempts` times (0 to 2, default 2), "a one-minute wait between the first two attempts,
 *   and two minutes between the second and third";
 * - a throttle (429) or a system error (5xx) returns the event to the queue, retried "for up to 6 hours by
 *   default. The retry interval increases exponentially from 1 second after the first attempt to a maximum
 *   of 5 minutes"; these retries are not function-error retries and do not count against them;
 * - an event older than `MaximumEventAgeInSeconds` (60 to 21,600, default 21,600) is discarded; a discarded
 *   event goes to the function's on-failure destination or dead-letter queue when it has one, else is lost
 *   ("Configuring error handling settings for Lambda asynchronous invocations").
 * AWS documents no jitter on either schedule, so the sandbox draws none.
 */

/** A function's asynchronous invocation settings (its event invoke configuration). */
export interface AsyncInvocationSettings {
  /** `MaximumRetryAttempts`: function-error retries, 0 to 2. */
  maximumRetryAttempts: number;
  /** `MaximumEventAgeInSeconds`: how long an event may stay in Lambda's queue, 60 to 21,600. */
  maximumEventAgeSeconds: number;
  /** The on-failure destination or dead-letter queue a discarded event goes to; undefined: none, it is lost. */
  onFailure?: string;
}

/** Lambda's defaults for a function whose configuration sets none (and no destination). */
export const LAMBDA_ASYNC_DEFAULTS: Readonly<AsyncInvocationSettings> = {
  maximumRetryAttempts: 2,
  maximumEventAgeSeconds: 21_600,
};

/** The limits CloudFormation (AWS::Lambda::EventInvokeConfig) and the Lambda API accept. */
export const MAXIMUM_RETRY_ATTEMPTS_RANGE = [0, 2] as const;
export const MAXIMUM_EVENT_AGE_RANGE = [60, 21_600] as const;

/** The waits before the first and the second function-error retry. */
const FUNCTION_ERROR_RETRY_MS = [60_000, 120_000] as const;
const THROTTLE_FIRST_RETRY_MS = 1_000;
const THROTTLE_MAX_RETRY_MS = 300_000;

/** The error Lambda's invocation fails with when the function has no concurrency left for the event. */
export const THROTTLE_ERROR = 'Lambda.TooManyRequestsException';

/** One event in a function's asynchronous queue. */
export interface QueuedEvent {
  /** When Lambda accepted it into the queue (virtual epoch ms): its age counts from here. */
  queuedAt: number;
  /** Function-error retries made so far. */
  retries: number;
  /** Throttled attempts so far (returned to the queue). */
  throttles: number;
}

/** What Lambda does with an event after a failed attempt. */
export type AfterFailure =
  | { kind: 'retry'; atMs: number; retry: number }
  | { kind: 'throttled'; atMs: number; delayMs: number }
  | { kind: 'discarded'; reason: 'retries' | 'age' };

/**
 * Decides what happens to `event` after an attempt that failed at `nowMs` with the error named `error`
 * (updating its counts): another attempt later, or discarded (retries spent, or too old to try again).
 */
export const afterFailedAttempt = (
  event: QueuedEvent,
  error: string,
  nowMs: number,
  settings: AsyncInvocationSettings,
): AfterFailure => {
  const tooOld = (atMs: number): boolean => atMs - event.queuedAt > settings.maximumEventAgeSeconds * 1000;
  if (error === THROTTLE_ERROR) {
    const delayMs = Math.min(THROTTLE_FIRST_RETRY_MS * 2 ** event.throttles, THROTTLE_MAX_RETRY_MS);
    if (tooOld(nowMs + delayMs)) return { kind: 'discarded', reason: 'age' };
    event.throttles += 1;
    return { kind: 'throttled', atMs: nowMs + delayMs, delayMs };
  }
  if (event.retries >= settings.maximumRetryAttempts) return { kind: 'discarded', reason: 'retries' };
  const atMs = nowMs + (FUNCTION_ERROR_RETRY_MS[event.retries] ?? FUNCTION_ERROR_RETRY_MS[1]);
  if (tooOld(atMs)) return { kind: 'discarded', reason: 'age' };
  event.retries += 1;
  return { kind: 'retry', atMs, retry: event.retries };
};
