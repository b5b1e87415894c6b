import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  InvalidToken,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  EXECUTIONS_PAGE_SIZE,
  SfnExecutionHistory,
  SfnExecutionStarter,
  SfnTaskTokens,
} from '../../../lib/adapters/sfn-workflow.ts';
import { releaseRequest, STATE_MACHINE_ARN, V2_RELEASE_ID } from '../fixtures.ts';

const sfn = mockClient(SFNClient);
const EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:execution:shipline-release:${V2_RELEASE_ID}`;
const metadata = { $metadata: {} };

describe('Class: SfnExecutionStarter', () => {
  let starter: SfnExecutionStarter;

  beforeEach(() => {
    sfn.reset();
    starter = new SfnExecutionStarter(new SFNClient({ region: 'us-east-1' }), () => STATE_MACHINE_ARN);
  });

  describe('Method: start', () => {
    it('starts the state machine with the name and the input as JSON', async () => {
      sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(0) });
      const input = releaseRequest();

      const result = await starter.start(V2_RELEASE_ID, input);

      expect(result).toEqual({ executionArn: EXECUTION_ARN, started: true });
      const calls = sfn.commandCalls(StartExecutionCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({
        stateMachineArn: STATE_MACHINE_ARN,
        name: V2_RELEASE_ID,
        input: JSON.stringify(input),
      });
    });

    it('reports the idempotent answer to a retry of the very same call as started, with the original ARN', async () => {
      // Step Functions answers the same name and the same input, while the execution is open, with the
      // original execution: only the SDK's retry of this call (whose first attempt started it) sends that.
      // (The mock answers below the SDK's retry middleware: this is the answer that retry receives.)
      sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(0) });
      const input = releaseRequest({
        receivedAt: '2025-03-04T10:00:00.120Z',
        receivedSeq: 3,
        receiptId: 'req-1',
      });

      await expect(starter.start(V2_RELEASE_ID, input)).resolves.toEqual({
        executionArn: EXECUTION_ARN,
        started: true,
      });
      // The receipt travels in the input, so another invocation's start of this name differs from it.
      expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input).toBe(JSON.stringify(input));
    });

    it('reports an existing execution as not started, with the derived execution ARN', async () => {
      sfn.on(StartExecutionCommand).rejects(
        new ExecutionAlreadyExists({
          message: `Execution Already Exists: '${EXECUTION_ARN}'`,
          ...metadata,
        }),
      );

      await expect(starter.start(V2_RELEASE_ID, releaseRequest())).resolves.toEqual({
        executionArn: EXECUTION_ARN,
        started: false,
      });
    });

    it('recognises ExecutionAlreadyExists by name too', async () => {
      sfn
        .on(StartExecutionCommand)
        .rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));

      await expect(starter.start(V2_RELEASE_ID, {})).resolves.toEqual({
        executionArn: EXECUTION_ARN,
        started: false,
      });
    });

    it('rethrows any other error', async () => {
      sfn
        .on(StartExecutionCommand)
        .rejects(
          Object.assign(new Error('State Machine Does Not Exist'), { name: 'StateMachineDoesNotExist' }),
        );

      await expect(starter.start(V2_RELEASE_ID, {})).rejects.toThrow('State Machine Does Not Exist');
    });

    it('reads the state machine ARN at call time', async () => {
      let arn = STATE_MACHINE_ARN;
      const lazy = new SfnExecutionStarter(new SFNClient({ region: 'us-east-1' }), () => arn);
      sfn.on(StartExecutionCommand).resolves({});
      arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:other';

      await expect(lazy.start('n1', {})).resolves.toEqual({
        executionArn: 'arn:aws:states:us-east-1:123456789012:execution:other:n1',
        started: true,
      });
      expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.stateMachineArn).toBe(arn);
    });
  });
});

describe('Class: SfnTaskTokens', () => {
  let tokens: SfnTaskTokens;

  beforeEach(() => {
    sfn.reset();
    tokens = new SfnTaskTokens(new SFNClient({ region: 'us-east-1' }));
  });

  describe('Method: succeed', () => {
    it('sends the output as JSON and returns true', async () => {
      sfn.on(SendTaskSuccessCommand).resolves({});
      const output = { outcome: 'failed', reason: 'alarm checkout-green-5xx went to ALARM at 5%' };

      await expect(tokens.succeed('token-1', output)).resolves.toBe(true);
      expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
        taskToken: 'token-1',
        output: JSON.stringify(output),
      });
    });

    it('returns false when the task timed out', async () => {
      sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', ...metadata }));

      await expect(tokens.succeed('token-1', {})).resolves.toBe(false);
    });

    it.each([
      ['InvalidToken', new InvalidToken({ message: 'Invalid Token', ...metadata })],
      ['TaskDoesNotExist', new TaskDoesNotExist({ message: 'Task Does Not Exist', ...metadata })],
    ])('returns false on %s', async (_name, error) => {
      sfn.on(SendTaskSuccessCommand).rejects(error);

      await expect(tokens.succeed('token-1', {})).resolves.toBe(false);
    });

    it('rethrows other errors', async () => {
      sfn
        .on(SendTaskSuccessCommand)
        .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

      await expect(tokens.succeed('token-1', {})).rejects.toThrow('Rate exceeded');
    });
  });

  describe('Method: fail', () => {
    it('sends the error and the cause', async () => {
      sfn.on(SendTaskFailureCommand).resolves({});

      await expect(tokens.fail('token-2', 'SlotNotSteady', 'tasks failed to start')).resolves.toBe(true);
      expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toEqual({
        taskToken: 'token-2',
        error: 'SlotNotSteady',
        cause: 'tasks failed to start',
      });
    });

    it('cuts the cause to the 32768 characters Step Functions accepts', async () => {
      sfn.on(SendTaskFailureCommand).resolves({});

      await tokens.fail('token-2', 'E', 'c'.repeat(40_000));

      expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input.cause).toHaveLength(32_768);
    });

    it('returns false when the task timed out and rethrows other errors', async () => {
      sfn
        .on(SendTaskFailureCommand)
        .rejectsOnce(new TaskTimedOut({ message: 'Task Timed Out', ...metadata }))
        .rejectsOnce(Object.assign(new Error('boom'), { name: 'InternalFailure' }));

      await expect(tokens.fail('token-2', 'E', 'c')).resolves.toBe(false);
      await expect(tokens.fail('token-2', 'E', 'c')).rejects.toThrow('boom');
    });
  });
});

describe('Class: SfnExecutionHistory', () => {
  let history: SfnExecutionHistory;
  const arnOf = (name: string) => `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
  const listed = (name: string, stopDate: string, startDate = '2025-03-04T10:00:00Z') => ({
    executionArn: arnOf(name),
    stateMachineArn: STATE_MACHINE_ARN,
    name,
    status: 'ABORTED' as const,
    startDate: new Date(startDate),
    stopDate: new Date(stopDate),
  });

  beforeEach(() => {
    sfn.reset();
    history = new SfnExecutionHistory(new SFNClient({ region: 'us-east-1' }), () => STATE_MACHINE_ARN);
  });

  describe('Method: listEnded', () => {
    it('lists the executions of that status that stopped since, paging with nextToken', async () => {
      sfn
        .on(ListExecutionsCommand, { nextToken: undefined })
        .resolves({ executions: [listed('b', '2025-03-04T10:20:00Z')], nextToken: 'page-2' })
        .on(ListExecutionsCommand, { nextToken: 'page-2' })
        // Started earlier, stopped within the look-back: found however far down the list it is.
        .resolves({
          executions: [
            listed('old', '2025-03-04T09:00:00Z'),
            listed('a', '2025-03-04T10:25:00Z', '2025-03-01T00:00:00Z'),
          ],
        });

      const result = await history.listEnded('ABORTED', new Date('2025-03-04T09:30:00Z'), 5);

      expect(result).toEqual({
        executions: [
          {
            name: 'b',
            executionArn: arnOf('b'),
            status: 'ABORTED',
            stopDate: new Date('2025-03-04T10:20:00Z'),
          },
          {
            name: 'a',
            executionArn: arnOf('a'),
            status: 'ABORTED',
            stopDate: new Date('2025-03-04T10:25:00Z'),
          },
        ],
        complete: true,
      });
      expect(sfn.commandCalls(ListExecutionsCommand).map((call) => call.args[0].input)).toEqual([
        { stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'ABORTED', maxResults: EXECUTIONS_PAGE_SIZE },
        {
          stateMachineArn: STATE_MACHINE_ARN,
          statusFilter: 'ABORTED',
          maxResults: EXECUTIONS_PAGE_SIZE,
          nextToken: 'page-2',
        },
      ]);
      // The API's largest page: the FAILED list holds every rollback of 90 days, started in any order.
      expect(EXECUTIONS_PAGE_SIZE).toBe(1000);
    });

    it('stops after the pages it may read and says the list was not read to its end', async () => {
      sfn.on(ListExecutionsCommand).resolves({ executions: [], nextToken: 'more' });

      await expect(history.listEnded('TIMED_OUT', new Date(0), 2)).resolves.toEqual({
        executions: [],
        complete: false,
      });
      expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(2);
    });
  });

  describe('Method: describe', () => {
    it("reads the execution's input, status, error and cause", async () => {
      sfn.on(DescribeExecutionCommand).resolves({
        executionArn: arnOf('a'),
        stateMachineArn: STATE_MACHINE_ARN,
        name: 'a',
        status: 'ABORTED',
        startDate: new Date(0),
        input: '{"service":"checkout"}',
        error: 'StoppedByPerson',
        cause: 'on-call',
      });

      await expect(history.describe(arnOf('a'))).resolves.toEqual({
        name: 'a',
        status: 'ABORTED',
        input: '{"service":"checkout"}',
        error: 'StoppedByPerson',
        cause: 'on-call',
      });
      expect(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input).toEqual({
        executionArn: arnOf('a'),
      });
    });
  });
});
