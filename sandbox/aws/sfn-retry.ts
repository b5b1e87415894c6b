import type { SeededRandom } from '../random.ts';

/** One ASL retrier as the definition writes it. */
export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

/** A retry decided for a failed attempt: which retry of how many, after how long. */
export interface RetryDecision {
  /** 1-based: the first retry of this retrier is 1. */
  retry: number;
  maxAttempts: number;
  delayMs: number;
}

// Defaults of the Amazon States Language retrier fields (Step Functions developer guide, "Handling errors in
// Step Functions workflows", retrier fields): IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0.
const DEFAULT_INTERVAL_SECONDS = 1;
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_BACKOFF_RATE = 2;

/** Terminal errors: no retrier (not even States.ALL) matches them (same guide, "States.ALL"). */
const TERMINAL_ERRORS = new Set(['States.DataLimitExceeded', 'States.Runtime']);

/** A run reaching its time limit is not a task error: it is never retried. */
const SANDBOX_ERRORS = new Set(['SandboxTimeLimit']);

const matches = (pattern: string, error: string): boolean =>
  pattern === error ||
  pattern === 'States.ALL' ||
  // "States.TaskFailed ... acts as a wildcard that matches any known error name except for States.Timeout."
  (pattern === 'States.TaskFailed' && error !== 'States.Timeout');

/**
 * Decides whether a Task state retries an error, as Step Functions does: the retriers are scanned in order
 * and the first whose ErrorEquals matches decides alone; once it has made MaxAttempts retries the error
 * goes on to Catch (a later retrier is not tried). Each retrier counts its own attempts (`attempts`, one
 * per retrier, updated here), from zero at each entry into the state. The wait before retry n is
 * IntervalSeconds x BackoffRate^(n-1), capped at MaxDelaySeconds; with JitterStrategy FULL it is a random
 * duration between 0 and that computed backoff (docs: "Calculates the delay to be a random number between
 * 0 and the computed backoff for the given retry attempt count").
 */
export const decideRetry = (
  retriers: readonly Retrier[],
  attempts: number[],
  error: string,
  random: SeededRandom,
): RetryDecision | undefined => {
  if (TERMINAL_ERRORS.has(error) || SANDBOX_ERRORS.has(error)) return undefined;
  const index = retriers.findIndex((retrier) => retrier.ErrorEquals.some((p) => matches(p, error)));
  const retrier = retriers[index];
  if (!retrier) return undefined;
  const maxAttempts = retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const made = attempts[index] ?? 0;
  if (made >= maxAttempts) return undefined;
  attempts[index] = made + 1;
  const backoffMs =
    (retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS) *
    (retrier.BackoffRate ?? DEFAULT_BACKOFF_RATE) ** made *
    1000;
  const cappedMs =
    retrier.MaxDelaySeconds === undefined ? backoffMs : Math.min(backoffMs, retrier.MaxDelaySeconds * 1000);
  const delayMs = retrier.JitterStrategy === 'FULL' ? random.upTo(cappedMs) : Math.round(cappedMs);
  return { retry: made + 1, maxAttempts, delayMs };
};

/** `350 ms`, `8 s`, `7.3 s`, `1 min 4 s`: a retry delay as a person reads it on the timeline. */
export const formatDelay = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 100) / 10;
  if (seconds < 60) return `${seconds} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min${whole % 60 ? ` ${whole % 60} s` : ''}`;
};
