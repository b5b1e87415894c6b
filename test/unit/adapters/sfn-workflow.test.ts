import {
  ExecutionAlreadyExists,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SfnExecutionStarter, SfnTaskTokens } from '../../../lib/adapters/sfn-workflow.ts';
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
