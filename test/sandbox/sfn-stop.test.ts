import '../../sandbox/polyfills.ts';
import { describe, expect, it, vi } from 'vitest';
import { LambdaRuntime } from '../../sandbox/lambda-runtime.ts';
import type { VirtualClock } from '../../sandbox/virtual-clock.ts';
import { makeWorld, START } from './support.ts';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:m';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:m:r1';
const MINUTE = 60_000;

/**
 * Functions that record each invocation (what, when it began and when it answered): `slow` runs for two
 * virtual minutes, `flaky` fails (its retries sleep on the clock), the rest answer at once.
 */
class RecordingLambda extends LambdaRuntime {
  public readonly calls: Array<{ key: string; event: unknown; at: number; answeredAt?: number }> = [];
  public clock?: VirtualClock;
  public constructor() {
    super([]);
  }
  public override forWorld(): LambdaRuntime {
    return this;
  }
  public override async invoke(key: string, event: unknown): Promise<unknown> {
    const clock = this.clock as VirtualClock;
    const call: (typeof this.calls)[number] = { key, event, at: clock.nowMillis };
    this.calls.push(call);
    if (key === 'slow') await clock.sleep(120);
    call.answeredAt = clock.nowMillis;
    if (key === 'flaky') throw Object.assign(new Error('not yet'), { name: 'NotYet' });
    return { ok: true };
  }
}

const task = (fn: string, next?: string, extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: { 'Fn::GetAtt': [fn, 'Arn'] },
  ...extra,
  ...(next ? { Next: next } : { End: true }),
});

/** A world running machine `m` (its states `states`, from `startAt`), started at START as execution r1. */
const running = (startAt: string, states: Record<string, unknown>) => {
  const lambda = new RecordingLambda();
  const made = makeWorld({ lambda });
  lambda.clock = made.clock;
  made.world.sfn.createStateMachine('m', { StartAt: startAt, States: states });
  const emitted = vi.spyOn(made.world, 'emitEvent');
  made.world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });
  const execution = made.world.sfn.executions.get(`${MACHINE}|r1`);
  if (!execution) throw new Error('r1 did not start');
  return { ...made, lambda, emitted, execution };
};

/** A person stops r1 at `at`; the clock then runs three hours past the start (anything left would run). */
const stopAt = async (made: ReturnType<typeof running>, at: number) => {
  let answer: unknown;
  made.clock.schedule(at, () => {
    answer = made.world.sfn.handle('StopExecution', {
      executionArn: EXECUTION,
      error: 'Stopped',
      cause: 'by on-call',
    });
  });
  await made.clock.run(() => false, START + 180 * MINUTE);
  return answer;
};

/** What a stopped execution must show: ABORTED at `at` with its error and cause, told once on EventBridge. */
const expectStoppedAt = (made: ReturnType<typeof running>, at: number, answer: unknown) => {
  expect(answer).toEqual({ stopDate: new Date(at) });
  expect(made.world.sfn.open).toBe(0);
  expect(made.world.sfn.handle('DescribeExecution', { executionArn: EXECUTION })).toMatchObject({
    status: 'ABORTED',
    stopDate: new Date(at),
    error: 'Stopped',
    cause: 'by on-call',
  });
  const changes = made.emitted.mock.calls
    .filter((call) => call[1] === 'Step Functions Execution Status Change')
    .map((call) => call[3]);
  expect(changes).toEqual([
    expect.objectContaining({ status: 'RUNNING', stopDate: null }),
    expect.objectContaining({ status: 'ABORTED', stopDate: at, error: 'Stopped', cause: 'by on-call' }),
  ]);
};

describe('Class: SimulatedStepFunctions, StopExecution in any state', () => {
  it('stops an execution during a Wait state: it ends ABORTED at once and the states after the Wait never run', async () => {
    const made = running('Deploy', {
      Deploy: task('deploy', 'Keep warm'),
      'Keep warm': { Type: 'Wait', Seconds: 3600, Next: 'Scale down' },
      'Scale down': task('scale-down'),
    });

    const answer = await stopAt(made, START + 30 * MINUTE);

    expectStoppedAt(made, START + 30 * MINUTE, answer);
    expect(made.execution.history.map((entry) => entry.state)).toEqual(['Deploy', 'Keep warm']);
    expect(made.lambda.calls.map((call) => call.key)).toEqual(['deploy']);
  });

  it('stops an execution whose Task runs: the invocation runs on to its end, its result is discarded, no later state runs', async () => {
    const made = running('Deploy', { Deploy: task('slow', 'Scale down'), 'Scale down': task('scale-down') });

    const answer = await stopAt(made, START + MINUTE);

    expectStoppedAt(made, START + MINUTE, answer);
    // StopExecution ends no running Lambda invocation: it answers when it is done, to nobody.
    expect(made.lambda.calls).toEqual([
      expect.objectContaining({ key: 'slow', at: START, answeredAt: START + 2 * MINUTE }),
    ]);
    expect(made.execution.history.map((entry) => entry.state)).toEqual(['Deploy']);
  });

  it('stops an execution waiting on its task token: the token is then refused with TaskTimedOut, and no later state runs', async () => {
    const made = running('Bake', {
      Bake: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { FunctionName: { 'Fn::GetAtt': ['watch', 'Arn'] }, Payload: { 't.$': '$$.Task.Token' } },
        Next: 'Promote',
      },
      Promote: task('promote'),
    });
    let late: unknown;
    made.clock.schedule(START + 20 * MINUTE, () => {
      const token = (made.lambda.calls[0]?.event as { t: string }).t;
      try {
        made.world.sfn.handle('SendTaskSuccess', { taskToken: token, output: '{}' });
      } catch (error) {
        late = error;
      }
    });

    const answer = await stopAt(made, START + 10 * MINUTE);

    expectStoppedAt(made, START + 10 * MINUTE, answer);
    // "The task token has either expired or the task associated with the token has already been closed."
    expect(late).toMatchObject({ name: 'TaskTimedOut' });
    expect(made.lambda.calls.map((call) => call.key)).toEqual(['watch']);
    expect(made.execution.history.map((entry) => entry.state)).toEqual(['Bake']);
  });

  it('stops an execution between the retries of a Task: the retry it slept for never runs', async () => {
    const made = running('Deploy', {
      Deploy: task('flaky', 'Scale down', {
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 600, MaxAttempts: 3 }],
      }),
      'Scale down': task('scale-down'),
    });

    const answer = await stopAt(made, START + 5 * MINUTE);

    expectStoppedAt(made, START + 5 * MINUTE, answer);
    expect(made.lambda.calls.map((call) => call.key)).toEqual(['flaky']);
  });

  it('stops several executions at once, each in another state: each ends ABORTED then, and the clock goes idle once the running invocation is done', async () => {
    const stopAll = async () => {
      const made = running('Keep warm', {
        'Keep warm': { Type: 'Wait', Seconds: 3600, Next: 'Scale down' },
        'Scale down': task('scale-down'),
      });
      made.world.sfn.createStateMachine('n', {
        StartAt: 'Deploy',
        States: { Deploy: task('slow', 'Scale down'), 'Scale down': task('scale-down') },
      });
      const other = 'arn:aws:states:us-east-1:123456789012:stateMachine:n';
      made.world.sfn.handle('StartExecution', { stateMachineArn: other, name: 'r2', input: '{}' });
      made.world.sfn.handle('StartExecution', { stateMachineArn: other, name: 'r3', input: '{}' });
      const answers: unknown[] = [];
      made.clock.schedule(START + MINUTE, () => {
        for (const arn of [
          EXECUTION,
          `${other.replace(':stateMachine:', ':execution:')}:r2`,
          `${other.replace(':stateMachine:', ':execution:')}:r3`,
        ])
          answers.push(made.world.sfn.handle('StopExecution', { executionArn: arn, error: 'Stopped' }));
      });
      // Nothing is left once the stopped invocations answer (two minutes in): the clock goes idle long
      // before the limit, so no wait of a stopped execution still holds it nor sleeps on it.
      const ended = await made.clock.run(() => false, START + 180 * MINUTE);
      return { made, answers, ended };
    };

    const { made, answers, ended } = await stopAll();

    expect(ended).toBe('idle');
    expect(made.clock.nowMillis).toBe(START + 2 * MINUTE);
    expect(answers).toEqual([0, 1, 2].map(() => ({ stopDate: new Date(START + MINUTE) })));
    expect(made.world.sfn.open).toBe(0);
    expect([...made.world.sfn.executions.values()].map((e) => [e.name, e.status, e.stopDate])).toEqual([
      ['r1', 'ABORTED', new Date(START + MINUTE)],
      ['r2', 'ABORTED', new Date(START + MINUTE)],
      ['r3', 'ABORTED', new Date(START + MINUTE)],
    ]);
    expect(made.lambda.calls.map((call) => [call.key, call.answeredAt])).toEqual([
      ['slow', START + 2 * MINUTE],
      ['slow', START + 2 * MINUTE],
    ]);
    // The same run again: the same histories, to the millisecond.
    const again = await stopAll();
    const histories = (m: typeof made) => [...m.world.sfn.executions.values()].map((e) => e.history);
    expect(histories(again.made)).toEqual(histories(made));
  });

  it('answers a stop of an execution that already ended with its stop date, and changes nothing', async () => {
    const made = running('Deploy', { Deploy: task('deploy') });
    await made.clock.run(() => false, START + 180 * MINUTE);
    expect(made.execution.status).toBe('SUCCEEDED');

    expect(made.world.sfn.handle('StopExecution', { executionArn: EXECUTION, error: 'Stopped' })).toEqual({
      stopDate: made.execution.stopDate,
    });
    expect(made.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(made.execution.error).toBeUndefined();
  });
});
