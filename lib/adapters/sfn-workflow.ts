import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type {
  AbnormalEndStatus,
  EndedExecutionDetail,
  EndedExecutionSummary,
  ExecutionHistory,
  ExecutionStarter,
  TaskTokens,
} from '../ports/workflow.ts';
import { clientBase, customize } from './aws-clients.ts';

/** Errors that mean "this token has already been used or has expired": nothing left to resume. */
const STALE_TOKEN_ERRORS = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

const executionArnFor = (stateMachineArn: string, name: string): string =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

export class SfnExecutionStarter implements ExecutionStarter {
  public constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: () => string,
  ) {}

  public async start(name: string, input: unknown): Promise<{ executionArn: string; started: boolean }> {
    try {
      const response = await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn(),
          name,
          input: JSON.stringify(input),
        }),
      );
      return {
        executionArn: response.executionArn ?? executionArnFor(this.stateMachineArn(), name),
        started: true,
      };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
        return { executionArn: executionArnFor(this.stateMachineArn(), name), started: false };
      }
      throw error;
    }
  }

  public async executionArn(name: string): Promise<string> {
    return executionArnFor(this.stateMachineArn(), name);
  }

  public async executionState(name: string): Promise<'running' | 'ended' | 'none'> {
    try {
      const { status } = await this.client.send(
        new DescribeExecutionCommand({ executionArn: executionArnFor(this.stateMachineArn(), name) }),
      );
      return status === 'RUNNING' ? 'running' : 'ended';
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return 'none';
      throw error;
    }
  }
}

export class SfnTaskTokens implements TaskTokens {
  public constructor(private readonly client: SFNClient) {}

  private async complete(send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (error) {
      if (error instanceof Error && STALE_TOKEN_ERRORS.has(error.name)) return false;
      throw error;
    }
  }

  public succeed(token: string, output: unknown): Promise<boolean> {
    return this.complete(() =>
      this.client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) })),
    );
  }

  public fail(token: string, error: string, cause: string): Promise<boolean> {
    return this.complete(() =>
      this.client.send(
        new SendTaskFailureCommand({
          taskToken: token,
          error: error.slice(0, 256),
          cause: cause.slice(0, 32768),
        }),
      ),
    );
  }
}

/**
 * Executions listed per ListExecutions page: the API's largest (it takes 1 to 1000, default 100). The list
 * is ordered by start, not by end, and holds every execution of that status Step Functions keeps (90 days
 * after it closed): the FAILED one holds every rollback, so an execution that started days ago (a long
 * bake) and ended within the look-back may sit behind hundreds that started since. A page of 1000 reads ten
 * times as far down as the default for the same number of calls.
 */
export const EXECUTIONS_PAGE_SIZE = 1000;

/**
 * The state machine's ended executions, read with ListExecutions (filtered by status; "Results are sorted by
 * time, with the most recent execution first": by start time, so paging cannot stop at the first execution
 * that stopped before `since`, as one started earlier may have stopped later) and DescribeExecution.
 */
export class SfnExecutionHistory implements ExecutionHistory {
  public constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: () => string,
  ) {}

  public async listEnded(
    status: AbnormalEndStatus,
    since: Date,
    maxPages: number,
  ): Promise<{ executions: EndedExecutionSummary[]; complete: boolean }> {
    const executions: EndedExecutionSummary[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < maxPages; page += 1) {
      const response = await this.client.send(
        new ListExecutionsCommand({
          stateMachineArn: this.stateMachineArn(),
          statusFilter: status,
          maxResults: EXECUTIONS_PAGE_SIZE,
          ...(nextToken !== undefined ? { nextToken } : {}),
        }),
      );
      for (const listed of response.executions ?? []) {
        const { name, executionArn, stopDate } = listed;
        if (name === undefined || executionArn === undefined || stopDate === undefined) continue;
        if (stopDate.getTime() >= since.getTime()) executions.push({ name, executionArn, status, stopDate });
      }
      nextToken = response.nextToken;
      if (nextToken === undefined) return { executions, complete: true };
    }
    return { executions, complete: false };
  }

  public async describe(executionArn: string): Promise<EndedExecutionDetail> {
    const response = await this.client.send(new DescribeExecutionCommand({ executionArn }));
    return {
      name: response.name ?? executionArn.slice(executionArn.lastIndexOf(':') + 1),
      status: response.status ?? 'UNKNOWN',
      input: response.input ?? null,
      ...(response.error !== undefined ? { error: response.error } : {}),
      ...(response.cause !== undefined ? { cause: response.cause } : {}),
    };
  }
}

/** The state machine's execution history on a new Step Functions client. */
export const createSfnExecutionHistory = (stateMachineArn: () => string): SfnExecutionHistory =>
  new SfnExecutionHistory(customize(new SFNClient(clientBase()), 'SFN'), stateMachineArn);

/** Task tokens on a new Step Functions client. */
export const createSfnTaskTokens = (): SfnTaskTokens =>
  new SfnTaskTokens(customize(new SFNClient(clientBase()), 'SFN'));

/** The execution starter on a new Step Functions client. */
export const createSfnExecutionStarter = (stateMachineArn: () => string): SfnExecutionStarter =>
  new SfnExecutionStarter(customize(new SFNClient(clientBase()), 'SFN'), stateMachineArn);
