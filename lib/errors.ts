/**
 * Error classes are the contract with the state machine: a Task's `Catch`/`Retry` match on
 * `error.name`, so every class sets `this.name` to a stable value.
 */

/** Base class for Shipline faults. */
export class ShiplineError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShiplineError';
  }
}

/** Input to a handler (an event or a state's payload) does not have the expected shape. */
export class InvalidInputError extends ShiplineError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidInputError';
  }
}

/** `shipline.yml` (or a scenario's config) failed validation. */
export class ConfigError extends ShiplineError {
  public readonly issues: readonly string[];
  public constructor(message: string, issues: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** A required environment variable is missing. */
export class MissingEnvironmentError extends ShiplineError {
  public constructor(variable: string) {
    super(`environment variable ${variable} is required but not set`);
    this.name = 'MissingEnvironmentError';
  }
}

/** The service's live state contradicts what a release needs (e.g. the listener rule does not forward to the slots). */
export class TargetStateError extends ShiplineError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TargetStateError';
  }
}

/**
 * An alarm watched during the rollback window (after promotion) went to ALARM: the state machine rolls
 * the promoted release back to the old slot, still warm. Raised as a decision, its message is the reason.
 */
export class AlarmAfterPromotionError extends ShiplineError {
  public constructor(message: string) {
    super(message);
    this.name = 'AlarmAfterPromotion';
  }
}

/**
 * A bake ended failed (an alarm fired, or it was inconclusive and the step's policy says fail): the state
 * machine rolls back. Raised as a decision, its message is the reason a person reads.
 */
export class BakeFailedError extends ShiplineError {
  public constructor(message: string) {
    super(message);
    this.name = 'BakeFailed';
  }
}

/**
 * A check step's smoke test failed (or could not run): the state machine rolls back. Before any production
 * shift, production traffic was never touched. Raised as a decision, its message is the reason.
 */
export class CheckFailedError extends ShiplineError {
  public constructor(message: string) {
    super(message);
    this.name = 'CheckFailed';
  }
}

/** A request names a service that `shipline.yml` does not declare. */
export class UnknownServiceError extends ShiplineError {
  public constructor(service: string, known: readonly string[]) {
    super(`service "${service}" is not declared in shipline.yml (declared: ${known.join(', ') || 'none'})`);
    this.name = 'UnknownServiceError';
  }
}

/**
 * An AWS call that still failed after the SDK's own retries with a throttling or server-side error.
 * Handlers rethrow such errors under this one name so every Task state can retry them with backoff
 * (`ErrorEquals: [TransientAwsError]`) instead of treating a throttle as a failed release.
 */
export class TransientAwsError extends ShiplineError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientAwsError';
  }
}

/**
 * The service is busy with another release's rollback (its fence is up), or its traffic changed while
 * this release planned: the state plans again after a wait, for as long as a rollback may take. Also what
 * the status change of an execution stopped while its own rollback still ran throws: the event is retried.
 */
export class ServiceBusyError extends ShiplineError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServiceBusyError';
  }
}

const TRANSIENT_ERROR_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottledException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalFailure',
  'InternalErrorException',
  'ServerException',
  'TimeoutError',
]);

/** True for an SDK error that is worth retrying later: throttling, or a fault on AWS's side. */
export const isTransientAwsError = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false;
  const sdk = error as Error & {
    $fault?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (TRANSIENT_ERROR_NAMES.has(error.name) || sdk.$retryable) return true;
  if (sdk.$metadata === undefined) return false;
  const status = sdk.$metadata.httpStatusCode ?? 0;
  return sdk.$fault === 'server' || status === 429 || status >= 500;
};

/** Narrow an unknown thrown value to an Error. */
export const asError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(typeof error === 'string' ? error : JSON.stringify(error));
