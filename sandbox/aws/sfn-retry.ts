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

/** The largest IntervalSeconds and MaxAttempts Step Functions accepts, and the bound of MaxDelaySeconds. */
const MAX_INTERVAL_OR_ATTEMPTS = 99_999_999;
const MAX_DELAY_SECONDS_BOUND = 31_622_401;

const isInteger = (value: unknown, min: number, max: number): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/** An ErrorEquals as the specification requires it, in a retrier or a catcher (`what`). */
const errorEqualsProblems = (errors: unknown, at: string, last: boolean, what: string): string[] => {
  if (!Array.isArray(errors) || errors.length === 0 || errors.some((e) => typeof e !== 'string'))
    return [`${at}/ErrorEquals must be a non-empty array of error names`];
  if (!errors.includes('States.ALL')) return [];
  return [
    ...(errors.length > 1 ? [`${at}/ErrorEquals: States.ALL must appear alone`] : []),
    ...(last ? [] : [`${at}/ErrorEquals: States.ALL must be in the last ${what}`]),
  ];
};

/**
 * What CreateStateMachine refuses in a state's Catch: each catcher's ErrorEquals as in a Retry
 * (`States.ALL` alone, in the last catcher; specification, "Fallback states"), and a Next.
 */
export const catcherProblems = (catchers: unknown, where: string): string[] => {
  if (!Array.isArray(catchers)) return [`${where}/Catch must be an array of catchers`];
  return catchers.flatMap((catcher: unknown, index): string[] => {
    const at = `${where}/Catch/${index}`;
    if (typeof catcher !== 'object' || catcher === null || Array.isArray(catcher))
      return [`${at} must be an object`];
    const fields = catcher as Record<string, unknown>;
    return [
      ...errorEqualsProblems(fields.ErrorEquals, at, index === catchers.length - 1, 'catcher'),
      ...(typeof fields.Next === 'string' ? [] : [`${at}/Next must name a state`]),
    ];
  });
};

/**
 * What CreateStateMachine refuses in a state's Retry (InvalidDefinition), as the Amazon States Language
 * specification states it (https://states-language.net/#retrying-after-error): ErrorEquals a non-empty
 * array of error names, `States.ALL` alone in its ErrorEquals and only in the last retrier; IntervalSeconds
 * a positive integer; MaxAttempts a non-negative integer; BackoffRate a number of at least 1.0;
 * MaxDelaySeconds a positive integer; JitterStrategy FULL or NONE. Each problem names the field's path,
 * `where` being the state's (`/States/Roll back`). The engine's own validator lets all of these through.
 */
export const retrierProblems = (retry: unknown, where: string): string[] => {
  if (!Array.isArray(retry)) return [`${where}/Retry must be an array of retriers`];
  return retry.flatMap((retrier: unknown, index): string[] => {
    const at = `${where}/Retry/${index}`;
    if (typeof retrier !== 'object' || retrier === null || Array.isArray(retrier))
      return [`${at} must be an object`];
    const fields = retrier as Record<string, unknown>;
    const problems = errorEqualsProblems(fields.ErrorEquals, at, index === retry.length - 1, 'retrier');
    if (
      fields.IntervalSeconds !== undefined &&
      !isInteger(fields.IntervalSeconds, 1, MAX_INTERVAL_OR_ATTEMPTS)
    )
      problems.push(
        `${at}/IntervalSeconds must be a positive integer, got ${JSON.stringify(fields.IntervalSeconds)}`,
      );
    if (fields.MaxAttempts !== undefined && !isInteger(fields.MaxAttempts, 0, MAX_INTERVAL_OR_ATTEMPTS))
      problems.push(
        `${at}/MaxAttempts must be a non-negative integer, got ${JSON.stringify(fields.MaxAttempts)}`,
      );
    if (
      fields.BackoffRate !== undefined &&
      !(
        typeof fields.BackoffRate === 'number' &&
        Number.isFinite(fields.BackoffRate) &&
        fields.BackoffRate >= 1
      )
    )
      problems.push(
        `${at}/BackoffRate must be a number of at least 1.0, got ${JSON.stringify(fields.BackoffRate)}`,
      );
    if (
      fields.MaxDelaySeconds !== undefined &&
      !isInteger(fields.MaxDelaySeconds, 1, MAX_DELAY_SECONDS_BOUND - 1)
    )
      problems.push(
        `${at}/MaxDelaySeconds must be a positive integer, got ${JSON.stringify(fields.MaxDelaySeconds)}`,
      );
    if (
      fields.JitterStrategy !== undefined &&
      fields.JitterStrategy !== 'FULL' &&
      fields.JitterStrategy !== 'NONE'
    )
      problems.push(
        `${at}/JitterStrategy must be FULL or NONE, got ${JSON.stringify(fields.JitterStrategy)}`,
      );
    return problems;
  });
};

/** `350 ms`, `8 s`, `7.3 s`, `1 min 4 s`: a retry delay as a person reads it on the timeline. */
export const formatDelay = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 100) / 10;
  if (seconds < 60) return `${seconds} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min${whole % 60 ? ` ${whole % 60} s` : ''}`;
};
