import '../../sandbox/polyfills.ts';
import { describe, expect, it, vi } from 'vitest';
import { makeWorld, START } from './support.ts';

/** How many times the engine validated a definition (its constructor runs asl-validator unless told not to). */
const counter = vi.hoisted(() => ({ validations: 0 }));

vi.mock('aws-local-stepfunctions', async (importOriginal) => {
  const actual = await importOriginal<typeof import('aws-local-stepfunctions')>();
  class CountingStateMachine extends actual.StateMachine {
    public constructor(...args: ConstructorParameters<typeof actual.StateMachine>) {
      if (!args[1]?.validationOptions?.noValidate) counter.validations += 1;
      super(...args);
    }
  }
  return { ...actual, StateMachine: CountingStateMachine };
});

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:m';

const DEFINITION = {
  StartAt: 'Hold',
  States: { Hold: { Type: 'Wait', Seconds: 60, Next: 'Done' }, Done: { Type: 'Succeed' } },
};

describe('Class: SimulatedStepFunctions, validation', () => {
  it('validates a definition once per process, not on every StartExecution nor in every world', async () => {
    counter.validations = 0;
    for (let w = 0; w < 2; w++) {
      const { clock, world } = makeWorld();
      world.sfn.createStateMachine('m', DEFINITION);
      for (let i = 0; i < 5; i++)
        world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: `r${i}`, input: '{}' });
      await clock.run(() => world.sfn.open === 0, START + 3600_000);
      expect([...world.sfn.executions.values()].map((e) => e.status)).toEqual(Array(5).fill('SUCCEEDED'));
    }

    expect(counter.validations).toBe(1);
  });

  it('still refuses an invalid definition, when the state machine is created', () => {
    const { world } = makeWorld();

    expect(() =>
      world.sfn.createStateMachine('bad', { StartAt: 'Missing', States: { Done: { Type: 'Succeed' } } }),
    ).toThrow(/State machine definition is invalid/);
  });
});
