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

/** A request names a service that `shipline.yml` does not declare. */
export class UnknownServiceError extends ShiplineError {
  public constructor(service: string, known: readonly string[]) {
    super(`service "${service}" is not declared in shipline.yml (declared: ${known.join(', ') || 'none'})`);
    this.name = 'UnknownServiceError';
  }
}

/** Narrow an unknown thrown value to an Error. */
export const asError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(typeof error === 'string' ? error : JSON.stringify(error));
