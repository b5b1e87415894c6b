/** Starting executions and completing waiting tasks: the Step Functions side of the pipeline. */
export interface ExecutionStarter {
  /**
   * Starts an execution. Returns `started: false` when an execution with this name already exists
   * (a duplicate event), with its ARN when known.
   */
  start(name: string, input: unknown): Promise<{ executionArn: string; started: boolean }>;
  /** The ARN the execution of this name has (or will have, once started). */
  executionArn(name: string): Promise<string>;
  /**
   * Where the execution of this name is: `running`, `ended` (any final status), or `none` (never started,
   * or gone: a lock left by a holder that no hand-off will come from).
   */
  executionState(name: string): Promise<'running' | 'ended' | 'none'>;
}

export interface TaskTokens {
  /** Resumes a waiting task with output. Returns false if the token is no longer valid (already completed or timed out). */
  succeed(token: string, output: unknown): Promise<boolean>;
  /** Fails a waiting task with an error name the state machine can Catch. */
  fail(token: string, error: string, cause: string): Promise<boolean>;
}
