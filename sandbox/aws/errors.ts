/** An AWS service error as the SDK surfaces it: `name` is the error code the caller matches on. */
export class SimulatedAwsError extends Error {
  public readonly $fault: 'client' | 'server';
  public readonly $metadata: { httpStatusCode: number; requestId: string };
  public constructor(
    name: string,
    message: string,
    options: { fault?: 'client' | 'server'; status?: number } = {},
  ) {
    super(message);
    this.name = name;
    this.$fault = options.fault ?? 'client';
    this.$metadata = { httpStatusCode: options.status ?? 400, requestId: 'sandbox' };
  }
}

/** An error as Step Functions sees a failed Lambda invocation: Error = errorType, Cause = the JSON payload. */
export class LambdaInvocationError extends Error {
  /** The handler's own message, for people (the `message` is the JSON payload Step Functions sees). */
  public readonly errorMessage: string;
  public constructor(errorType: string, errorMessage: string) {
    super(JSON.stringify({ errorType, errorMessage, trace: [] }));
    this.name = errorType;
    this.errorMessage = errorMessage;
  }
}

/** The pipeline called an AWS API the simulated account does not model: fail loudly, naming it. */
export class UnsupportedCommandError extends Error {
  public constructor(service: string, command: string) {
    super(
      `the sandbox does not simulate ${service}:${command.replace(/Command$/, '')}; add it to sandbox/aws before using it`,
    );
    this.name = 'SandboxUnsupportedCommand';
  }
}
