import { describe, expect, it } from 'vitest';
import type { AsyncInvocationSettings } from '../../sandbox/aws/async-invocation.ts';
import type { SimulatedWorld } from '../../sandbox/aws/world.ts';
import { runInWorld } from '../../sandbox/context.ts';
import type { FunctionConfig } from '../../sandbox/function-config.ts';
import { LambdaInvocationError, LambdaRuntime } from '../../sandbox/lambda-runtime.ts';
import { makeWorld, START } from './support.ts';

/** One function, `onEvent`, on a rule for `source: [test]`; its invocations are scripted by the test. */
class ScriptedLambda extends LambdaRuntime {
  public readonly attempts: number[] = [];
  public constructor(
    private readonly clockNow: () => number,
    private readonly script: (attempt: number) => unknown,
  ) {
    super([{ key: 'onEvent', modulePath: '', exportName: '', eventPatterns: [{ source: ['test'] }] }]);
  }
  public override forWorld(): LambdaRuntime {
    return this;
  }
  public override async invoke(): Promise<unknown> {
    this.attempts.push((this.clockNow() - START) / 1000);
    return this.script(this.attempts.length);
  }
}

const config = (asyncInvocation: AsyncInvocationSettings): FunctionConfig => ({
  key: 'onEvent',
  name: 'shipline-sandbox-onEvent',
  arn: 'arn:aws:lambda:us-east-1:123456789012:function:shipline-sandbox-onEvent',
  environment: {},
  memorySize: 1024,
  timeoutSeconds: 30,
  asyncInvocation,
});

/** Delivers one event through the bus to a function configured with `settings`, and runs the world out. */
const deliverOne = async (settings: AsyncInvocationSettings, script: (attempt: number) => unknown) => {
  const made = makeWorld({
    lambda: new ScriptedLambda(
      () => made.clock.nowMillis,
      (attempt) => script(attempt),
    ),
  });
  const { clock, world } = made;
  const lambda = world.lambda as ScriptedLambda;
  await runInWorld(
    { world, clock, env: {}, functions: new Map([['onEvent', config(settings)]]) },
    async () => {
      world.emitEvent('test', 'Test Event', [], {});
      await clock.run(() => world.pendingDeliveries === 0, START + 8 * 3600_000);
    },
  );
  return { attempts: lambda.attempts, world };
};

const lambdaLines = (world: SimulatedWorld) =>
  world.timeline.filter((entry) => entry.kind === 'lambda').map((entry) => entry.text);

const failing = (name: string) => () => {
  throw new LambdaInvocationError(name, 'it failed');
};

const DLQ = 'arn:aws:sqs:us-east-1:123456789012:shipline-sandbox-events-dlq';

describe("Sandbox: Lambda's asynchronous invocation of an EventBridge target, as the function's configuration says", () => {
  it('retries a function error after 1 and then 2 minutes, then sends the event to its on-failure destination', async () => {
    const { attempts, world } = await deliverOne(
      { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600, onFailure: DLQ },
      failing('BadEvent'),
    );
    // EventBridge's half second of delivery, then Lambda's one-minute and two-minute waits.
    expect(attempts).toEqual([0.5, 60.5, 180.5]);
    expect(lambdaLines(world)).toEqual([
      'onEvent failed: BadEvent: it failed (retry 1 of 2)',
      'onEvent failed: BadEvent: it failed (retry 2 of 2)',
      'onEvent failed: BadEvent: it failed (retries spent: sent to the dead-letter queue)',
    ]);
    expect(world.deadLetters.map((letter) => [letter.fn, letter.error])).toEqual([
      ['onEvent', 'BadEvent: it failed'],
    ]);
  });

  it('makes only the retries maximumRetryAttempts allows: 0 means one attempt', async () => {
    const { attempts, world } = await deliverOne(
      { maximumRetryAttempts: 0, maximumEventAgeSeconds: 21_600, onFailure: DLQ },
      failing('BadEvent'),
    );
    expect(attempts).toEqual([0.5]);
    expect(lambdaLines(world)).toEqual([
      'onEvent failed: BadEvent: it failed (no retry: sent to the dead-letter queue)',
    ]);
    expect(world.deadLetters).toHaveLength(1);
  });

  it('loses the event of a function with no on-failure destination: nothing reaches a dead-letter queue', async () => {
    const { attempts, world } = await deliverOne(
      { maximumRetryAttempts: 1, maximumEventAgeSeconds: 21_600 },
      failing('BadEvent'),
    );
    expect(attempts).toEqual([0.5, 60.5]);
    expect(lambdaLines(world)).toEqual([
      'onEvent failed: BadEvent: it failed (retry 1 of 1)',
      'onEvent failed: BadEvent: it failed (retries spent: discarded, the function has no on-failure destination)',
    ]);
    expect(world.deadLetters).toEqual([]);
  });

  it('discards an event older than maximumEventAge instead of retrying it', async () => {
    const { attempts, world } = await deliverOne(
      { maximumRetryAttempts: 2, maximumEventAgeSeconds: 90, onFailure: DLQ },
      failing('BadEvent'),
    );
    // The second retry would come 3 minutes after the event was queued, past its 90 seconds.
    expect(attempts).toEqual([0.5, 60.5]);
    expect(lambdaLines(world).at(-1)).toBe(
      'onEvent failed: BadEvent: it failed (older than its maximum event age of 90 s: sent to the dead-letter queue)',
    );
    expect(world.deadLetters).toHaveLength(1);
  });

  it('returns a throttled event to the queue: again after 1 s, doubling, not counted as a retry, until it runs', async () => {
    const { attempts, world } = await deliverOne(
      { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600, onFailure: DLQ },
      (attempt) => {
        if (attempt <= 4) failing('Lambda.TooManyRequestsException')();
        return null;
      },
    );
    expect(attempts).toEqual([0.5, 1.5, 3.5, 7.5, 15.5]);
    expect(lambdaLines(world)).toEqual([
      "onEvent failed: Lambda.TooManyRequestsException: it failed (throttled: back in Lambda's queue, next attempt in 1 s)",
      "onEvent failed: Lambda.TooManyRequestsException: it failed (throttled: back in Lambda's queue, next attempt in 2 s)",
      "onEvent failed: Lambda.TooManyRequestsException: it failed (throttled: back in Lambda's queue, next attempt in 4 s)",
      "onEvent failed: Lambda.TooManyRequestsException: it failed (throttled: back in Lambda's queue, next attempt in 8 s)",
    ]);
    expect(world.deadLetters).toEqual([]);
  });

  it('retries a throttled event at most every 5 minutes until its maximum age, then discards it', async () => {
    const { attempts, world } = await deliverOne(
      { maximumRetryAttempts: 2, maximumEventAgeSeconds: 3600, onFailure: DLQ },
      failing('Lambda.TooManyRequestsException'),
    );
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] ?? 0));
    expect(gaps.slice(0, 10)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
    expect(Math.max(...gaps)).toBe(300);
    // The last attempt within the hour; the next would be past it.
    expect(attempts.at(-1)).toBeLessThanOrEqual(3600.5);
    expect((attempts.at(-1) ?? 0) + 300).toBeGreaterThan(3600.5);
    expect(lambdaLines(world).at(-1)).toBe(
      'onEvent failed: Lambda.TooManyRequestsException: it failed (older than its maximum event age of 1 h: sent to the dead-letter queue)',
    );
    expect(world.deadLetters).toHaveLength(1);
  });
});
