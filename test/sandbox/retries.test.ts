import '../../sandbox/polyfills.ts';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clientBase, customize } from '../../lib/adapters/aws-clients.ts';
import { decideRetry, type Retrier } from '../../sandbox/aws/sfn-retry.ts';
import type { SimulatedWorld } from '../../sandbox/aws/world.ts';
import { runInWorld } from '../../sandbox/context.ts';
import { installSandboxClients } from '../../sandbox/intercept.ts';
import { LambdaInvocationError, LambdaRuntime } from '../../sandbox/lambda-runtime.ts';
import { SeededRandom } from '../../sandbox/random.ts';
import type { VirtualClock } from '../../sandbox/virtual-clock.ts';
import { makeWorld as makeBareWorld, START } from './support.ts';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:m';

/** A Lambda runtime whose functions are plain closures over the test's clock. */
class ScriptedLambda extends LambdaRuntime {
  public constructor(private readonly script: (key: string, event: unknown) => Promise<unknown>) {
    super([]);
  }
  /** The scripted functions take no start time: the test scripts how long each invocation takes. */
  public override forWorld(): LambdaRuntime {
    return this;
  }
  public override invoke(key: string, event: unknown): Promise<unknown> {
    this.invocations += 1;
    return this.script(key, event);
  }
}

const makeWorld = (script: (key: string, event: unknown) => Promise<unknown>, seed = 1) =>
  makeBareWorld({ lambda: new ScriptedLambda(script), random: new SeededRandom(seed) });

const retriesOf = (world: SimulatedWorld) =>
  world.timeline.filter((e) => e.kind === 'retry').map((e) => [(e.at - START) / 1000, e.text]);

describe('Function: decideRetry', () => {
  const random = () => new SeededRandom(7);

  it('waits IntervalSeconds x BackoffRate^(n-1), capped at MaxDelaySeconds, then hands the error on', () => {
    const retriers: Retrier[] = [
      { ErrorEquals: ['Busy'], IntervalSeconds: 5, MaxAttempts: 5, BackoffRate: 2, MaxDelaySeconds: 30 },
    ];
    const attempts = [0];
    const delays = Array.from(
      { length: 6 },
      () => decideRetry(retriers, attempts, 'Busy', random())?.delayMs,
    );
    expect(delays).toEqual([5_000, 10_000, 20_000, 30_000, 30_000, undefined]);
  });

  it('uses the ASL defaults: 1 s interval, backoff rate 2, 3 attempts', () => {
    const attempts = [0];
    const delays = Array.from(
      { length: 4 },
      () => decideRetry([{ ErrorEquals: ['X'] }], attempts, 'X', random())?.delayMs,
    );
    expect(delays).toEqual([1_000, 2_000, 4_000, undefined]);
  });

  it('draws a FULL jitter delay between 0 and the computed backoff, from the seeded source', () => {
    const retrier: Retrier = {
      ErrorEquals: ['X'],
      IntervalSeconds: 8,
      MaxAttempts: 1,
      JitterStrategy: 'FULL',
    };
    const draws = Array.from({ length: 50 }, (_, seed) => {
      const decision = decideRetry([retrier], [0], 'X', new SeededRandom(seed));
      return decision?.delayMs ?? -1;
    });
    for (const delay of draws) expect(delay).toBeGreaterThanOrEqual(0);
    for (const delay of draws) expect(delay).toBeLessThanOrEqual(8_000);
    expect(new Set(draws).size).toBeGreaterThan(40);
    expect(decideRetry([retrier], [0], 'X', new SeededRandom(3))).toEqual(
      decideRetry([retrier], [0], 'X', new SeededRandom(3)),
    );
  });

  it('lets the first matching retrier decide alone and counts attempts per retrier', () => {
    const retriers: Retrier[] = [
      { ErrorEquals: ['A'], MaxAttempts: 1, IntervalSeconds: 1 },
      { ErrorEquals: ['States.ALL'], MaxAttempts: 2, IntervalSeconds: 3 },
    ];
    const attempts = [0, 0];
    expect(decideRetry(retriers, attempts, 'A', random())).toMatchObject({ retry: 1, delayMs: 1_000 });
    expect(decideRetry(retriers, attempts, 'B', random())).toMatchObject({ retry: 1, delayMs: 3_000 });
    // A's retrier is spent: A is not retried by the States.ALL retrier after it.
    expect(decideRetry(retriers, attempts, 'A', random())).toBeUndefined();
    expect(decideRetry(retriers, attempts, 'B', random())).toMatchObject({ retry: 2, delayMs: 6_000 });
    expect(attempts).toEqual([1, 2]);
  });

  it('matches States.TaskFailed for any error but States.Timeout, States.ALL for any but terminal ones', () => {
    const taskFailed: Retrier[] = [{ ErrorEquals: ['States.TaskFailed'] }];
    expect(decideRetry(taskFailed, [0], 'Lambda.ServiceException', random())).toBeDefined();
    expect(decideRetry(taskFailed, [0], 'States.Timeout', random())).toBeUndefined();
    const all: Retrier[] = [{ ErrorEquals: ['States.ALL'] }];
    expect(decideRetry(all, [0], 'States.Timeout', random())).toBeDefined();
    expect(decideRetry(all, [0], 'States.DataLimitExceeded', random())).toBeUndefined();
    expect(decideRetry(all, [0], 'States.Runtime', random())).toBeUndefined();
  });

  it('never retries with MaxAttempts 0', () => {
    expect(decideRetry([{ ErrorEquals: ['X'], MaxAttempts: 0 }], [0], 'X', random())).toBeUndefined();
  });
});

describe('Class: SimulatedStepFunctions, Retry on the virtual clock', () => {
  it('refuses at creation a Retry that CreateStateMachine refuses (InvalidDefinition), naming the field', () => {
    const machine = (retry: unknown) => ({
      StartAt: 'Roll back',
      States: {
        'Roll back': {
          Type: 'Task',
          Resource: { 'Fn::GetAtt': ['rollBack', 'Arn'] },
          Retry: retry,
          End: true,
        },
      },
    });
    const refusals: Array<[unknown, RegExp]> = [
      [
        [{ ErrorEquals: ['X'], BackoffRate: 0.5 }],
        /Retry\/0\/BackoffRate must be a number of at least 1\.0, got 0\.5/,
      ],
      [[{ ErrorEquals: ['X'], JitterStrategy: 'PARTIAL' }], /Retry\/0\/JitterStrategy must be FULL or NONE/],
      [[{ ErrorEquals: ['X'], MaxDelaySeconds: 0 }], /Retry\/0\/MaxDelaySeconds must be a positive integer/],
      [
        [{ ErrorEquals: ['X'], IntervalSeconds: 1.5 }],
        /Retry\/0\/IntervalSeconds must be a positive integer/,
      ],
      [[{ ErrorEquals: ['X'], MaxAttempts: -1 }], /Retry\/0\/MaxAttempts must be a non-negative integer/],
      [[{ ErrorEquals: [] }], /Retry\/0\/ErrorEquals must be a non-empty array/],
      [[{ ErrorEquals: ['States.ALL', 'X'] }], /Retry\/0\/ErrorEquals: States\.ALL must appear alone/],
      [
        [{ ErrorEquals: ['States.ALL'] }, { ErrorEquals: ['X'] }],
        /Retry\/0\/ErrorEquals: States\.ALL must be in the last retrier/,
      ],
    ];
    for (const [retry, message] of refusals) {
      const { world } = makeWorld(async () => null);
      expect(() => world.sfn.createStateMachine('m', machine(retry))).toThrow(
        expect.objectContaining({ name: 'InvalidDefinition', message: expect.stringMatching(message) }),
      );
    }
    // The same rules for a Catch, which the engine's validator lets through too.
    for (const [catchers, message] of [
      [
        [
          { ErrorEquals: ['States.ALL'], Next: 'Done' },
          { ErrorEquals: ['X'], Next: 'Done' },
        ],
        /Catch\/0\/ErrorEquals: States\.ALL must be in the last catcher/,
      ],
      [
        [{ ErrorEquals: ['States.ALL', 'X'], Next: 'Done' }],
        /Catch\/0\/ErrorEquals: States\.ALL must appear alone/,
      ],
    ] as const) {
      const { world } = makeWorld(async () => null);
      const definition = {
        StartAt: 'Roll back',
        States: {
          'Roll back': {
            Type: 'Task',
            Resource: { 'Fn::GetAtt': ['rollBack', 'Arn'] },
            Catch: catchers,
            End: true,
          },
          Done: { Type: 'Succeed' },
        },
      };
      expect(() => world.sfn.createStateMachine('m', definition)).toThrow(
        expect.objectContaining({ name: 'InvalidDefinition', message: expect.stringMatching(message) }),
      );
    }
    // What AWS accepts: MaxAttempts 0, BackoffRate 1, States.ALL alone in the last retrier.
    const { world } = makeWorld(async () => null);
    expect(() =>
      world.sfn.createStateMachine(
        'm',
        machine([
          { ErrorEquals: ['X'], MaxAttempts: 0, BackoffRate: 1, JitterStrategy: 'NONE', MaxDelaySeconds: 1 },
          { ErrorEquals: ['States.ALL'] },
        ]),
      ),
    ).not.toThrow();
  });

  it('retries a Task after its backoff in virtual time, on the timeline, then goes to Catch', async () => {
    const { clock, world } = makeWorld(async () => {
      throw new LambdaInvocationError('Lambda.TooManyRequestsException', 'Rate exceeded');
    });
    world.sfn.createStateMachine('m', {
      StartAt: 'Roll back',
      States: {
        'Roll back': {
          Type: 'Task',
          Resource: { 'Fn::GetAtt': ['rollBack', 'Arn'] },
          Retry: [
            {
              ErrorEquals: ['Lambda.TooManyRequestsException'],
              IntervalSeconds: 2,
              MaxAttempts: 4,
              BackoffRate: 2,
              MaxDelaySeconds: 5,
            },
          ],
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Gave up' }],
          End: true,
        },
        'Gave up': { Type: 'Succeed' },
      },
    });
    const wallStart = performance.now();

    world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });
    await clock.run(() => world.sfn.open === 0, START + 3600_000);

    expect(retriesOf(world)).toEqual([
      [0, 'Roll back: Lambda.TooManyRequestsException, retry 1 of 4 in 2 s'],
      [2, 'Roll back: Lambda.TooManyRequestsException, retry 2 of 4 in 4 s'],
      [6, 'Roll back: Lambda.TooManyRequestsException, retry 3 of 4 in 5 s'],
      [11, 'Roll back: Lambda.TooManyRequestsException, retry 4 of 4 in 5 s'],
    ]);
    expect(world.lambda.invocations).toBe(5);
    const execution = world.sfn.executions.get(`${MACHINE}|r1`);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.history.map((h) => [h.state, (h.at - START) / 1000])).toEqual([
      ['Roll back', 0],
      ['Gave up', 16],
    ]);
    // Sixteen seconds of retries took no real time.
    expect(performance.now() - wallStart).toBeLessThan(1_000);
  });

  it('succeeds on a retry and counts each entry into the state from zero', async () => {
    let calls = 0;
    const { clock, world } = makeWorld(async () => {
      calls += 1;
      if (calls % 2 === 1) throw new LambdaInvocationError('Busy', 'try again');
      return { ok: calls };
    });
    world.sfn.createStateMachine('m', {
      StartAt: 'Work',
      States: {
        Work: {
          Type: 'Task',
          Resource: { 'Fn::GetAtt': ['work', 'Arn'] },
          Retry: [{ ErrorEquals: ['Busy'], IntervalSeconds: 10, MaxAttempts: 1 }],
          ResultPath: '$.result',
          Next: 'Again?',
        },
        'Again?': {
          Type: 'Choice',
          Choices: [{ Variable: '$.result.ok', NumericLessThan: 3, Next: 'Work' }],
          Default: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    });

    world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });
    await clock.run(() => world.sfn.open === 0, START + 3600_000);

    expect(world.sfn.executions.get(`${MACHINE}|r1`)?.status).toBe('SUCCEEDED');
    expect(retriesOf(world)).toEqual([
      [0, 'Work: Busy, retry 1 of 1 in 10 s'],
      [10, 'Work: Busy, retry 1 of 1 in 10 s'],
    ]);
  });
});

describe('Class: SimulatedStepFunctions, waitForTaskToken timeout', () => {
  it("counts TimeoutSeconds from the task's start, the function's own invocation time included", async () => {
    let clock: VirtualClock | undefined;
    const made = makeWorld(async () => {
      // The function takes 40 s (a cold start and slow API calls) and then waits for its token.
      await clock?.sleep(40);
      return null;
    });
    clock = made.clock;
    const { world } = made;
    world.sfn.createStateMachine('m', {
      StartAt: 'Bake',
      States: {
        Bake: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: {
            FunctionName: { 'Fn::GetAtt': ['watch', 'Arn'] },
            Payload: { 'token.$': '$$.Task.Token' },
          },
          TimeoutSeconds: 60,
          Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'Check' }],
          End: true,
        },
        Check: { Type: 'Succeed' },
      },
    });

    world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });
    await made.clock.run(() => world.sfn.open === 0, START + 3600_000);

    expect(
      world.sfn.executions.get(`${MACHINE}|r1`)?.history.map((h) => [h.state, (h.at - START) / 1000]),
    ).toEqual([
      ['Bake', 0],
      ['Check', 60],
    ]);
  });

  it('times the task out at TimeoutSeconds even while the invocation still runs', async () => {
    let clock: VirtualClock | undefined;
    const made = makeWorld(async () => {
      await clock?.sleep(90);
      return null;
    });
    clock = made.clock;
    const { world } = made;
    world.sfn.createStateMachine('m', {
      StartAt: 'Bake',
      States: {
        Bake: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: { 'Fn::GetAtt': ['watch', 'Arn'] }, Payload: {} },
          TimeoutSeconds: 60,
          Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'Check' }],
          End: true,
        },
        Check: { Type: 'Succeed' },
      },
    });

    world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });
    await made.clock.run(
      () => world.sfn.open === 0 && made.clock.nowMillis >= START + 90_000,
      START + 3600_000,
    );

    const execution = world.sfn.executions.get(`${MACHINE}|r1`);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(((execution?.stopDate?.getTime() ?? 0) - START) / 1000).toBe(60);
  });
  it('completes the task when its token is answered, even while the invocation still runs', async () => {
    let clock: VirtualClock | undefined;
    let sfn: SimulatedWorld['sfn'] | undefined;
    const made = makeWorld(async (_key, event) => {
      await clock?.sleep(5);
      sfn?.handle('SendTaskSuccess', {
        taskToken: (event as { token: string }).token,
        output: '{"answered":true}',
      });
      await clock?.sleep(30);
      return null;
    });
    clock = made.clock;
    sfn = made.world.sfn;
    const { world } = made;
    world.sfn.createStateMachine('m', {
      StartAt: 'Bake',
      States: {
        Bake: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: {
            FunctionName: { 'Fn::GetAtt': ['watch', 'Arn'] },
            Payload: { 'token.$': '$$.Task.Token' },
          },
          TimeoutSeconds: 60,
          End: true,
        },
      },
    });

    world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });
    await made.clock.run(
      () => world.sfn.open === 0 && made.clock.nowMillis >= START + 35_000,
      START + 3600_000,
    );

    const execution = world.sfn.executions.get(`${MACHINE}|r1`);
    expect(execution).toMatchObject({ status: 'SUCCEEDED', output: '{"answered":true}' });
    expect(((execution?.stopDate?.getTime() ?? 0) - START) / 1000).toBe(5);
  });
  it('lets no real time end a task: a token answered after a minute of wall time still completes it', async () => {
    // A large fleet keeps a task blocked on its token for minutes of wall time while other releases run;
    // the engine's own per-task timeout (60 s of real time by default) must not time it out or move on.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let token: string | undefined;
      const { clock, world } = makeWorld(async (_key, event) => {
        token = (event as { token: string }).token;
        return null;
      });
      world.sfn.createStateMachine('m', {
        StartAt: 'Wait for the lock',
        States: {
          'Wait for the lock': {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            Parameters: {
              FunctionName: { 'Fn::GetAtt': ['watch', 'Arn'] },
              Payload: { 'token.$': '$$.Task.Token' },
            },
            TimeoutSeconds: 900,
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Gave up' }],
            Next: 'Hold',
          },
          Hold: { Type: 'Wait', Seconds: 60, Next: 'Done' },
          'Gave up': { Type: 'Fail', Error: 'GaveUp' },
          Done: { Type: 'Succeed' },
        },
      });
      clock.schedule(START + 10_000, () => vi.advanceTimersByTime(61_000));
      clock.schedule(START + 20_000, () => {
        world.sfn.handle('SendTaskSuccess', { taskToken: token, output: '{}' });
      });

      world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });
      await clock.run(() => world.sfn.open === 0, START + 3600_000);

      const execution = world.sfn.executions.get(`${MACHINE}|r1`);
      expect(execution?.history.map((h) => [h.state, (h.at - START) / 1000])).toEqual([
        ['Wait for the lock', 0],
        ['Hold', 20],
        ['Done', 80],
      ]);
      expect(execution?.status).toBe('SUCCEEDED');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('Class: SimulatedStepFunctions, Wait states on the virtual clock', () => {
  const waitUntil = async (wait: Record<string, unknown>, input: Record<string, unknown> = {}) => {
    const { clock, world } = makeWorld(async () => null);
    world.sfn.createStateMachine('m', {
      StartAt: 'Hold',
      States: { Hold: { Type: 'Wait', ...wait, Next: 'Done' }, Done: { Type: 'Succeed' } },
    });
    world.sfn.handle('StartExecution', {
      stateMachineArn: MACHINE,
      name: 'r1',
      input: JSON.stringify(input),
    });
    await clock.run(() => world.sfn.open === 0, START + 24 * 3600_000);
    return world.sfn.executions.get(`${MACHINE}|r1`);
  };

  it('waits until a Timestamp or a TimestampPath on the virtual clock, not on to the next state at once', async () => {
    const inTenMinutes = new Date(START + 600_000).toISOString();
    for (const [wait, input] of [
      [{ Timestamp: inTenMinutes }, {}],
      [{ TimestampPath: '$.until' }, { until: inTenMinutes }],
    ] as const) {
      const execution = await waitUntil(wait, input);
      expect(execution?.history.map((h) => [h.state, (h.at - START) / 1000])).toEqual([
        ['Hold', 0],
        ['Done', 600],
      ]);
      expect(execution?.status).toBe('SUCCEEDED');
    }
  });

  it('fails the execution with States.Runtime when the TimestampPath selects no timestamp', async () => {
    const execution = await waitUntil({ TimestampPath: '$.until' }, { until: 'tomorrow' });
    expect(execution?.status).toBe('FAILED');
    expect(execution?.error).toBe('States.Runtime');
  });

  // The sandbox runs a Wait state as a Task of its own on the virtual clock, so the engine's validator never
  // sees it: the Wait's own rules are checked as CreateStateMachine checks them (Amazon States Language,
  // "Wait State": exactly one of Seconds, SecondsPath, Timestamp, TimestampPath; "Timestamps": RFC 3339 with
  // an uppercase T between date and time and an uppercase Z or a numeric offset).
  it('refuses at creation a Wait state CreateStateMachine refuses (InvalidDefinition), naming what is wrong', () => {
    const { world } = makeWorld(async () => null);
    const create = (wait: Record<string, unknown>) => () =>
      world.sfn.createStateMachine('m', {
        StartAt: 'Hold',
        States: { Hold: { Type: 'Wait', ...wait, Next: 'Done' }, Done: { Type: 'Succeed' } },
      });
    const exactlyOne =
      /Hold.*MUST contain exactly one of "Seconds", "SecondsPath", "Timestamp", "TimestampPath"/;
    expect(create({})).toThrow(exactlyOne);
    expect(create({ Seconds: 5, Timestamp: '2026-11-22T10:10:00Z' })).toThrow(exactlyOne);
    for (const timestamp of ['2026-11-22', '2026-11-22T10:10:00', 'tomorrow', '2026-11-22t10:10:00z'])
      expect(create({ Timestamp: timestamp }), timestamp).toThrow(/\/States\/Hold\/Timestamp/);
    expect(create({ Seconds: -1 })).toThrow(/\/States\/Hold\/Seconds/);
    expect(create({ Seconds: 1.5 })).toThrow(/\/States\/Hold\/Seconds/);
    expect(create({ TimestampPath: 'until' })).toThrow(/\/States\/Hold\/TimestampPath/);
    for (const make of [create({ Seconds: 5 }), create({ Timestamp: '2026-11-22T10:10:00+01:00' })])
      expect(make).not.toThrow();
    try {
      create({})();
    } catch (error) {
      expect((error as Error).name).toBe('InvalidDefinition');
    }
  });

  it('fails with States.Runtime when the TimestampPath selects a date that is not an RFC 3339 timestamp', async () => {
    for (const until of ['2026-11-22', 'Sun Nov 22 2026 10:10:00 GMT', '2026-11-22T10:10:00']) {
      const execution = await waitUntil({ TimestampPath: '$.until' }, { until });
      expect(execution?.status, until).toBe('FAILED');
      expect(execution?.error).toBe('States.Runtime');
    }
  });

  // "SecondsPath ... You must specify an integer value" (Step Functions Developer Guide, "Wait state"): any
  // other value fails the execution, instead of going on at once or waiting a fraction of a second.
  it('fails with States.Runtime when the SecondsPath selects no integer number of seconds', async () => {
    for (const seconds of ['abc', -5, 1.5, null, 100_000_000]) {
      const execution = await waitUntil({ SecondsPath: '$.seconds' }, { seconds });
      expect(execution?.status, String(seconds)).toBe('FAILED');
      expect(execution?.error).toBe('States.Runtime');
      expect(execution?.cause).toContain('"Hold"');
    }
  });

  // "If you specify the wait time as a timestamp, Step Functions considers the time value up to seconds and
  // truncates milliseconds" (Step Functions Developer Guide, "Wait state").
  it('waits until a Timestamp truncated to its second', async () => {
    const execution = await waitUntil({ Timestamp: new Date(START + 600_900).toISOString() });
    expect(execution?.history.map((h) => [h.state, (h.at - START) / 1000])).toEqual([
      ['Hold', 0],
      ['Done', 600],
    ]);
  });

  it('goes on at once from a Timestamp already past', async () => {
    const execution = await waitUntil({ Timestamp: new Date(START - 60_000).toISOString() });
    expect(execution?.history.map((h) => [h.state, (h.at - START) / 1000])).toEqual([
      ['Hold', 0],
      ['Done', 0],
    ]);
  });
});

describe('Function: retryInVirtualTime', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    installSandboxClients();
  });
  afterAll(() => {
    process.env = saved;
  });

  it("retries a throttled command as the SDK decides, after the SDK's backoff in virtual time", async () => {
    const { clock, world } = makeWorld(async () => null, 42);
    world.sfn.createStateMachine('m', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
    world.commandFaults.push({
      command: 'ListExecutions',
      error: 'ThrottlingException',
      message: 'Rate exceeded',
      remaining: 2,
      activeFrom: -Infinity,
    });
    await runInWorld({ world, clock, env: { AWS_REGION: 'us-east-1' } }, async () => {
      const client = customize(new SFNClient(clientBase()), 'SFN');
      const wallStart = performance.now();

      let output: { executions?: unknown[]; $metadata: { attempts?: number } } | undefined;
      void clock.track(async () => {
        output = await client.send(new ListExecutionsCommand({ stateMachineArn: MACHINE }));
      });
      await clock.run(() => output !== undefined, START + 3600_000);

      expect(output?.$metadata.attempts).toBe(3);
      const at = world.commands.filter((c) => c.command === 'ListExecutions').map((c) => c.at - START);
      expect(at).toHaveLength(3);
      const [first = 0, second = 0, third = 0] = at;
      // The SDK's throttling backoff: a random share of 1 s, then of 2 s (standard mode, 3 attempts).
      expect(first).toBe(0);
      expect(second - first).toBeGreaterThan(0);
      expect(second - first).toBeLessThanOrEqual(1_000);
      expect(third - second).toBeGreaterThan(0);
      expect(third - second).toBeLessThanOrEqual(2_000);
      // Each retry is on the timeline when its attempt failed, with the delay that follows.
      expect(retriesOf(world)).toEqual([
        [0, `SFN SDK: ThrottlingException, retry 1 of 2 in ${second} ms`],
        [second / 1000, expect.stringMatching(/^SFN SDK: ThrottlingException, retry 2 of 2 in \d/)],
      ]);
      expect(performance.now() - wallStart).toBeLessThan(500);
    });
  });

  // The SDK still waits its (zero) backoff on a real timer before it hands the retry back. Whatever else of
  // the world runs meanwhile (another invocation's DynamoDB call) must not come before the retry in the
  // timeline depending on how long that real wait took: the retry is recorded when the SDK decides it.
  it("puts the retry on the timeline when the SDK decides it, not after the SDK's real timer", async () => {
    const { clock, world } = makeWorld(async () => null, 42);
    world.sfn.createStateMachine('m', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
    world.commandFaults.push({
      command: 'ListExecutions',
      error: 'ThrottlingException',
      message: 'Rate exceeded',
      remaining: 1,
      activeFrom: -Infinity,
    });
    await runInWorld({ world, clock, env: { AWS_REGION: 'us-east-1' } }, async () => {
      const client = customize(new SFNClient(clientBase()), 'SFN');
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        let output: unknown;
        void clock.track(async () => {
          output = await client.send(new ListExecutionsCommand({ stateMachineArn: MACHINE }));
        });
        // The first attempt failed and the SDK decided to retry; its real timer has not fired yet.
        for (let turn = 0; turn < 20 && retriesOf(world).length === 0; turn += 1)
          await new Promise<void>((resolve) => setImmediate(resolve));
        expect(output).toBeUndefined();
        expect(retriesOf(world)).toEqual([
          [0, expect.stringMatching(/^SFN SDK: ThrottlingException, retry 1 of 2 in \d+ ms$/)],
        ]);
        vi.runOnlyPendingTimers();
        await clock.run(() => output !== undefined, START + 3600_000);
        expect(output).toBeDefined();
        expect(retriesOf(world)).toHaveLength(1);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  it('gives up when the SDK does: a third throttle fails the call after its attempts', async () => {
    const { clock, world } = makeWorld(async () => null);
    world.sfn.createStateMachine('m', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
    world.commandFaults.push({
      command: 'ListExecutions',
      error: 'ThrottlingException',
      message: 'Rate exceeded',
      remaining: 5,
      activeFrom: -Infinity,
    });
    await runInWorld({ world, clock, env: { AWS_REGION: 'us-east-1' } }, async () => {
      const client = customize(new SFNClient(clientBase()), 'SFN');

      let failure: Error | undefined;
      void clock.track(async () => {
        failure = await client.send(new ListExecutionsCommand({ stateMachineArn: MACHINE })).then(
          () => new Error('should have failed'),
          (error: unknown) => error as Error,
        );
      });
      await clock.run(() => failure !== undefined, START + 3600_000);

      expect(failure?.name).toBe('ThrottlingException');
      expect(world.commands.filter((c) => c.command === 'ListExecutions')).toHaveLength(3);
      expect(retriesOf(world)).toHaveLength(2);
    });
  });
});
