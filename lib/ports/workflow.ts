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

/** The statuses of an execution that ended outside the pipeline's own hand-off, or may have. */
export type AbnormalEndStatus = 'ABORTED' | 'TIMED_OUT' | 'FAILED';

/** One execution that ended, as the state machine's execution list gives it. */
export interface EndedExecutionSummary {
  name: string;
  executionArn: string;
  status: AbnormalEndStatus;
  stopDate: Date;
}

/** What an ended execution started with and ended with (its input, error and cause). */
export interface EndedExecutionDetail {
  name: string;
  status: string;
  /** The execution input (JSON text). */
  input: string | null;
  error?: string | null;
  cause?: string | null;
}

/** The release state machine's past executions: the ones that ended, read back when their event may be lost. */
export interface ExecutionHistory {
  /**
   * The executions with this final status that stopped at or after `since`, newest started first, read from
   * at most `maxPages` pages of the list. `complete` is false when the pages ran out before the list did (an
   * older-started execution that stopped since may be left out).
   */
  listEnded(
    status: AbnormalEndStatus,
    since: Date,
    maxPages: number,
  ): Promise<{ executions: EndedExecutionSummary[]; complete: boolean }>;
  /** The input, status, error and cause of one execution. */
  describe(executionArn: string): Promise<EndedExecutionDetail>;
}
