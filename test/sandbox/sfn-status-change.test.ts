import '../../sandbox/polyfills.ts';
import { describe, expect, it, vi } from 'vitest';
import { START, worldWithMachineM } from './support.ts';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:m';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:m:r1';
const UUID = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

/** A world whose machine `m` bakes on a task token (nobody answers) or, with `failing`, fails at once. */
const worldWith = (first: 'bake' | 'fail') => {
  const made = worldWithMachineM(first);
  const emitted = vi.spyOn(made.world, 'emitEvent');
  return { ...made, emitted };
};

describe('Class: SimulatedStepFunctions, execution status change events', () => {
  it('emits RUNNING at the start and ABORTED, in the documented shape, when a person stops the execution', async () => {
    const { world, clock, emitted } = worldWith('bake');
    world.sfn.handle('StartExecution', {
      stateMachineArn: MACHINE,
      name: 'r1',
      input: '{"service":"checkout"}',
    });
    clock.schedule(START + 60_000, () => {
      world.sfn.handle('StopExecution', { executionArn: EXECUTION, error: 'Stopped', cause: 'by on-call' });
    });

    await clock.run(() => world.sfn.open === 0, START + 3600_000);

    expect(world.sfn.executions.get(`${MACHINE}|r1`)?.status).toBe('ABORTED');
    expect(emitted.mock.calls).toEqual([
      [
        'aws.states',
        'Step Functions Execution Status Change',
        [EXECUTION],
        {
          executionArn: EXECUTION,
          stateMachineArn: MACHINE,
          name: 'r1',
          status: 'RUNNING',
          startDate: START,
          stopDate: null,
          input: '{"service":"checkout"}',
          output: null,
          inputDetails: { included: true },
          outputDetails: null,
        },
        UUID,
      ],
      [
        'aws.states',
        'Step Functions Execution Status Change',
        [EXECUTION],
        {
          executionArn: EXECUTION,
          stateMachineArn: MACHINE,
          name: 'r1',
          status: 'ABORTED',
          startDate: START,
          stopDate: START + 60_000,
          input: '{"service":"checkout"}',
          output: null,
          inputDetails: { included: true },
          outputDetails: null,
          error: 'Stopped',
          cause: 'by on-call',
        },
        UUID,
      ],
    ]);
    // Derived from the execution and status: no draw on the run's random source (the timeline stays as it was).
    const [first, second] = emitted.mock.calls.map((call) => call[4]);
    expect(first).not.toBe(second);
  });

  it('emits FAILED with the error and cause of an execution that fails', async () => {
    const { world, clock, emitted } = worldWith('fail');
    world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });

    await clock.run(() => world.sfn.open === 0, START + 3600_000);

    expect(emitted.mock.calls.map((call) => call[3])).toEqual([
      expect.objectContaining({ status: 'RUNNING' }),
      expect.objectContaining({ status: 'FAILED', error: 'ReleaseFailed', cause: 'it failed' }),
    ]);
  });

  it('refuses StopExecution of an execution that does not exist, as AWS does', () => {
    const { world } = worldWith('bake');
    expect(() => world.sfn.handle('StopExecution', { executionArn: EXECUTION })).toThrow(
      expect.objectContaining({ name: 'ExecutionDoesNotExist' }),
    );
  });
});
