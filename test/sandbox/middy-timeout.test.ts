import type { Server } from 'node:http';
import { setTimeout as nodeSetTimeout } from 'node:timers';
import { setTimeout as sleepPromise } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { shiplineHandler } from '../../functions/shared/stack.ts';
import { clientBase, customize } from '../../lib/adapters/aws-clients.ts';
import { DEFAULT_TIMING } from '../../sandbox/aws/timing.ts';
import { runInWorld } from '../../sandbox/context.ts';
import { type FunctionConfig, invokeAsConfigured } from '../../sandbox/function-config.ts';
import { currentFunction } from '../../sandbox/iam/enforce.ts';
import { installSandboxClients } from '../../sandbox/intercept.ts';
import { ExecutionEnvironments, LambdaInvocationError } from '../../sandbox/lambda-runtime.ts';
import { createWorldDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { outsideInvocationWork } from '../../sandbox/virtual-clock.ts';
import { makeWorld } from './support.ts';

const ENV = { AWS_REGION: 'us-east-1' };

const config: FunctionConfig = {
  key: 'fn',
  name: 'shipline-sandbox-fn',
  arn: 'arn:aws:lambda:us-east-1:123456789012:function:shipline-sandbox-fn',
  environment: ENV,
  memorySize: 1024,
  timeoutSeconds: 10,
};

/** What a handler's body does: `meanwhile`, then `workSeconds` of virtual time, then `afterwards`. */
interface Work {
  workSeconds: number;
  meanwhile?: () => void | Promise<void>;
  afterwards?: () => Promise<void>;
}

/** A handler built with the pipeline's middy stack (middy's default early timeout: 5 ms) doing `work`. */
const pipelineHandler = (clock: { sleep: (seconds: number) => Promise<void> }, work: Work) =>
  shiplineHandler('fn', z.object({}), async () => {
    // After middy has started the handler (and set its timer).
    await Promise.resolve();
    await work.meanwhile?.();
    await clock.sleep(work.workSeconds);
    await work.afterwards?.();
    return 'done';
  });

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** How one invocation ended and when (virtual seconds after it began). */
interface Outcome {
  ok: boolean;
  value: string;
  at: number;
}

/**
 * Invokes a handler (the pipeline's middy stack unless `build` makes another) as Lambda would (10 s
 * timeout), whose body calls `meanwhile` then waits `workSeconds` of virtual time. Returns how it ended and
 * when, and what the clock did once it ended (`after` seconds more are run when given; otherwise, for a body
 * within its timeout, until the clock is idle).
 */
const invokeMiddyHandler = async (
  workSeconds: number,
  meanwhile?: () => void | Promise<void>,
  world: ReturnType<typeof makeWorld> & { dynamoDb?: Server } = makeWorld(),
  options: {
    afterwards?: () => Promise<void>;
    build?: (clock: ReturnType<typeof makeWorld>['clock'], work: Work) => Handler;
    environments?: ExecutionEnvironments;
    after?: number;
  } = {},
) => {
  const { clock } = world;
  const work: Work = { workSeconds, ...(meanwhile ? { meanwhile } : {}), ...options };
  const handler = (options.build ?? pipelineHandler)(clock, work);
  const environments = options.environments ?? new ExecutionEnvironments(clock, DEFAULT_TIMING);
  let outcome: Outcome | undefined;
  let afterwards: { ended: string; at: number } | undefined;
  await runInWorld(
    {
      world: world.world,
      clock,
      env: ENV,
      functions: new Map([['fn', config]]),
      ...(world.dynamoDb ? { dynamoDb: world.dynamoDb } : {}),
    },
    async () => {
      const began = clock.nowMillis;
      void clock.track(async () => {
        outcome = await invokeAsConfigured(
          'fn',
          environments,
          (context) => currentFunction.run('fn', () => handler({}, context)),
          (type, message) => new LambdaInvocationError(type, message),
        ).then(
          (value) => ({ ok: true, value: String(value), at: (clock.nowMillis - began) / 1000 }),
          (error: Error) => ({
            ok: false,
            value: `${error.name}: ${error instanceof LambdaInvocationError ? error.errorMessage : error.message}`,
            at: (clock.nowMillis - began) / 1000,
          }),
        );
      });
      await clock.run(() => outcome !== undefined, began + 3_600_000);
      // Whatever the invocation left on the clock: a timer middy cleared is gone (the run goes idle at once).
      if (options.after !== undefined || workSeconds <= 10) {
        const ended = await clock.run(
          () => false,
          options.after === undefined ? began + 3_600_000 : clock.nowMillis + options.after * 1000,
        );
        afterwards = { ended, at: (clock.nowMillis - began) / 1000 };
      }
    },
  );
  return { outcome, afterwards };
};

/** Middy's own TimeoutError as the caller sees it: the pipeline's stack rethrows it as TransientAwsError. */
const MIDDY_TIMEOUT = 'TransientAwsError: TimeoutError: [AbortError]: The operation was aborted.';

describe("Sandbox: middy's early timeout fires on the virtual clock, as on AWS", () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, { AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT' });
    installSandboxClients();
  });
  afterAll(() => {
    process.env = saved;
  });

  const realTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

  // On AWS, middy answers with its TimeoutError 5 ms before Lambda's timeout, on a timer of the time left
  // (`timeoutEarlyInMillis`, @middy/core); the pipeline's stack (functions/shared/stack.ts) rethrows it as
  // TransientAwsError, which every Task state retries (a Lambda timeout, Sandbox.Timedout, is not). In the
  // sandbox middy's timer fires on the virtual clock: no wall time counts, and no real timer of the time left
  // is set, so none is left to fire seconds later, or to keep the process alive.
  it("answers with middy's TimeoutError 5 ms before the timeout in virtual time, leaving no real timer behind", async () => {
    const before = realTimers();
    const { outcome } = await invokeMiddyHandler(40);
    // The cold start (400 ms) and the warm overhead (5 ms) come first; then the 10 s timeout, less 5 ms.
    expect(outcome).toEqual({ ok: false, value: MIDDY_TIMEOUT, at: expect.any(Number) });
    expect(outcome?.at).toBeCloseTo(0.405 + 10 - 0.005, 6);
    expect(realTimers()).toBe(before);
  });

  // On AWS the execution environment is frozen once the handler answered; it is reused (a function error
  // does not reset it, a timeout does: Lambda Developer Guide, "Understanding the Lambda execution
  // environment lifecycle"). The handler middy stopped waiting for must not reach AWS afterwards.
  it("leaves the handler's leftover work reaching no AWS service after middy's early answer, and reuses the environment", async () => {
    const world = makeWorld();
    const sns = customize(new SNSClient(clientBase()), 'SNS');
    const publish = (what: string) =>
      sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: what }));
    let openGate = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let aside: Promise<string> | undefined;
    const environments = new ExecutionEnvironments(world.clock, DEFAULT_TIMING);
    const { outcome, afterwards } = await invokeMiddyHandler(
      40,
      () => {
        // Work the handler started aside, resumed by something other than the clock after the answer.
        aside = gate
          .then(() => publish('aside'))
          .then(
            () => 'sent',
            (error: Error) => `${error.name}: ${error.message}`,
          );
      },
      world,
      { afterwards: async () => void (await publish('late')), environments, after: 3_600 },
    );
    expect(outcome?.value).toBe(MIDDY_TIMEOUT);
    // The handler's 40 s wait never resumes: the clock has nothing left to do once it would have ended.
    expect(afterwards).toEqual({ ended: 'idle', at: 40.405 });
    openGate();
    expect(await aside).toMatch(
      /^SandboxInvocationStopped: shipline-sandbox-fn called SNS:Publish after its handler answered at 2026-11-22T10:00:10\.400Z with work still under way/,
    );
    expect(world.world.commands.filter((command) => command.service === 'SNS')).toEqual([]);
    // The environment the invocation answered in is reused: the next invocation starts warm.
    const next = await invokeMiddyHandler(1, undefined, world, { environments });
    expect(next.outcome).toMatchObject({ ok: true, value: 'done' });
    expect({ cold: environments.coldStarts, warm: environments.warmStarts }).toEqual({ cold: 1, warm: 1 });
  });

  // A call the handler started but did not wait for is left behind with the environment once it answered:
  // on AWS it is frozen before its request goes out, and here it reaches no AWS service either.
  it('leaves a call the handler did not wait for reaching no AWS service after it answered', async () => {
    const world = makeWorld();
    const topic = 'arn:aws:sns:us-east-1:123456789012:t';
    world.world.sns.topics.add(topic);
    const sns = customize(new SNSClient(clientBase()), 'SNS');
    let aside: Promise<string> | undefined;
    const { outcome, afterwards } = await invokeMiddyHandler(0, undefined, world, {
      build: () =>
        shiplineHandler('fn', z.object({}), async () => {
          aside = sns.send(new PublishCommand({ TopicArn: topic, Message: 'aside' })).then(
            () => 'sent',
            (error: Error) => `${error.name}: ${error.message}`,
          );
          return 'done';
        }),
      after: 3_600,
    });
    expect(outcome).toMatchObject({ ok: true, value: 'done' });
    expect(afterwards?.ended).toBe('idle');
    expect(world.world.commands.filter((command) => command.service === 'SNS')).toEqual([]);
    expect(await Promise.race([aside, Promise.resolve('still pending')])).toBe('still pending');
  });

  // A Step Functions execution a handler started runs in that handler's context but is no work of its
  // invocation: once the invocation answered with work under way, the functions the execution invokes are
  // still authorized as themselves, not refused as the ended invocation's leftover.
  it("authorizes a function invoked from an ended invocation's context as its own", async () => {
    const { clock, world } = makeWorld();
    const topic = 'arn:aws:sns:us-east-1:123456789012:t';
    world.sns.topics.add(topic);
    const sns = customize(new SNSClient(clientBase()), 'SNS');
    const environments = new ExecutionEnvironments(clock, DEFAULT_TIMING);
    const authorized: string[] = [];
    const invoke = (key: string, handler: Handler) =>
      invokeAsConfigured(
        key,
        environments,
        (context) => currentFunction.run(key, () => handler({}, context)),
        (type, message) => new LambdaInvocationError(type, message),
      ).then(
        (value) => String(value),
        (error: Error) =>
          `${error.name}: ${error instanceof LambdaInvocationError ? error.errorMessage : error.message}`,
      );
    const child = shiplineHandler('child', z.object({}), async () => {
      await sns.send(new PublishCommand({ TopicArn: topic, Message: 'from the execution' }));
      return 'published';
    });
    let openGate = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let started: Promise<string> | undefined;
    const parent = shiplineHandler('fn', z.object({}), async () => {
      // As StartExecution starts an execution (sandbox/aws/sfn.ts): it invokes `child` later.
      started = outsideInvocationWork(() => gate.then(() => clock.track(() => invoke('child', child))));
      await clock.sleep(40);
      return 'done';
    });
    let answered: string | undefined;
    let childAnswered: string | undefined;
    await runInWorld(
      {
        world,
        clock,
        env: ENV,
        functions: new Map([
          ['fn', config],
          ['child', { ...config, key: 'child', name: 'shipline-sandbox-child' }],
        ]),
        iam: {
          authorize: (service, command) => {
            authorized.push(`${currentFunction.getStore()} ${service}:${command}`);
          },
        },
      },
      async () => {
        void clock.track(async () => {
          answered = await invoke('fn', parent);
        });
        await clock.run(() => answered !== undefined, clock.nowMillis + 3_600_000);
        openGate();
        void started?.then((value) => {
          childAnswered = value;
        });
        await clock.run(() => childAnswered !== undefined, clock.nowMillis + 3_600_000);
      },
    );
    expect(answered).toBe(MIDDY_TIMEOUT);
    expect(childAnswered).toBe('published');
    expect(authorized).toEqual(['child SNS:PublishCommand']);
  });

  // Lambda's own timeout remains where middy sets no timer (here `timeoutEarlyInMillis: 0`).
  it("fails an invocation whose middy sets no early timer at Lambda's timeout: Sandbox.Timedout", async () => {
    const before = realTimers();
    const { outcome } = await invokeMiddyHandler(40, undefined, makeWorld(), {
      build: (clock, work) =>
        middy<unknown, string, Error, Context>(
          async () => {
            await clock.sleep(work.workSeconds);
            return 'done';
          },
          { timeoutEarlyInMillis: 0 },
        ),
    });
    expect(outcome?.value).toMatch(
      /^Sandbox\.Timedout: 2026-11-22T10:00:10\.405Z [0-9a-f-]{36} Task timed out after 10\.00 seconds$/,
    );
    expect(outcome?.at).toBeCloseTo(0.405 + 10, 6);
    expect(realTimers()).toBe(before);
  });

  it('runs an invocation within its timeout to its end, with no real timer set, and leaves no timer behind', async () => {
    const before = realTimers();
    let during = -1;
    const { outcome, afterwards } = await invokeMiddyHandler(1, () => {
      during = realTimers();
    });
    expect(outcome).toMatchObject({ ok: true, value: 'done' });
    expect(during).toBe(before);
    // Middy cleared its timer when the handler answered: nothing is left for the clock to wait for.
    expect(afterwards).toEqual({ ended: 'idle', at: outcome?.at });
  });

  // Middy sets its timer with `node:timers`' setTimeout and clears it with the global clearTimeout: on AWS
  // both are Node.js's own, and either clears a timer the other set. So it is in the sandbox: a virtual
  // timer cleared with the global clearTimeout never fires.
  it("clears a virtual timer with the global clearTimeout, as Node.js's timers are cleared", async () => {
    const fired: string[] = [];
    const { outcome } = await invokeMiddyHandler(2, () => {
      const cleared = nodeSetTimeout(() => fired.push('cleared timer'), 1000);
      clearTimeout(cleared);
      nodeSetTimeout(() => fired.push('kept timer'), 1500);
    });
    expect(outcome).toMatchObject({ ok: true, value: 'done' });
    expect(fired).toEqual(['kept timer']);
  });

  // On AWS a handler may run any number of calls at once (Promise.all of DynamoDB reads and SNS publishes):
  // each takes its round trip (`apiCallMs`, 30 ms), side by side, so together they take it once, and the
  // invocation goes on when the last of them answers.
  it('runs the AWS calls a handler makes at once side by side: their latency is taken once, not summed', async () => {
    const world = { ...makeWorld(), dynamoDb: createWorldDynamoDb() };
    const topic = 'arn:aws:sns:us-east-1:123456789012:t';
    world.world.sns.topics.add(topic);
    const sns = customize(new SNSClient(clientBase()), 'SNS');
    const dynamo = customize(new DynamoDBClient({ region: 'us-east-1' }), 'DynamoDB');
    const table = {
      TableName: 'probe',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
      BillingMode: 'PAY_PER_REQUEST' as const,
    };
    const timeline: string[] = [];
    let began = 0;
    const at = () => Math.round(world.clock.nowMillis - began);
    const { outcome } = await invokeMiddyHandler(
      0,
      async () => {
        await dynamo.send(new CreateTableCommand(table));
        // CREATING, then ACTIVE on dynalite's (real) timer.
        for (;;) {
          const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: 'probe' }));
          if (Table?.TableStatus === 'ACTIVE') break;
          await new Promise<void>((resolve) => setTimeout(resolve, 0));
        }
        await dynamo.send(new PutItemCommand({ TableName: 'probe', Item: { pk: { S: 'a' } } }));
        began = world.clock.nowMillis;
        const read = async (pk: string) => {
          const { Item } = await dynamo.send(
            new GetItemCommand({ TableName: 'probe', Key: { pk: { S: pk } } }),
          );
          timeline.push(`read ${pk}: ${Item ? 'found' : 'none'} at ${at()} ms`);
        };
        const publish = async (what: string) => {
          await sns.send(new PublishCommand({ TopicArn: topic, Message: what }));
          timeline.push(`published ${what} at ${at()} ms`);
        };
        await Promise.all([read('a'), publish('one'), read('b'), publish('two')]);
        const settled = await Promise.allSettled([
          publish('three'),
          sns.send(new PublishCommand({ TopicArn: `${topic}-missing`, Message: 'lost' })),
        ]);
        timeline.push(`${settled.map((one) => one.status).join(', ')} at ${at()} ms`);
      },
      world,
    );
    expect(outcome).toMatchObject({ ok: true, value: 'done' });
    // Concurrent calls answer at the same instant, in a fixed order: the order their requests were sent in
    // (each client's own steps before sending take their turns), the same on every run.
    expect(timeline).toEqual([
      'read a: found at 30 ms',
      'read b: none at 30 ms',
      'published one at 30 ms',
      'published two at 30 ms',
      'published three at 60 ms',
      'fulfilled, rejected at 60 ms',
    ]);
    expect(
      world.world.commands
        .filter((command) => command.service === 'SNS')
        .map((command) => (command.input as { Message?: string }).Message),
    ).toEqual(['one', 'two', 'three', 'lost']);
  });

  // The pipeline's stack runs the work a body registered for its timeout side by side (Promise.allSettled)
  // on middy's timer strand, then answers with middy's TimeoutError: each takes its round trip, together once
  // (the work must fit in `timeoutEarlyInMillis`: past Lambda's timeout it is Sandbox.Timedout, as on AWS).
  it("runs the work registered for the timeout side by side before middy's answer", async () => {
    const world = makeWorld();
    const topic = 'arn:aws:sns:us-east-1:123456789012:t';
    world.world.sns.topics.add(topic);
    const sns = customize(new SNSClient(clientBase()), 'SNS');
    const publish = (what: string) => async () => {
      await sns.send(new PublishCommand({ TopicArn: topic, Message: what }));
    };
    const { outcome } = await invokeMiddyHandler(40, undefined, world, {
      build: (clock, work) =>
        shiplineHandler(
          'fn',
          z.object({}),
          async (_input, _context, invocation) => {
            invocation.beforeTimeout(publish('first'));
            invocation.beforeTimeout(publish('second'));
            await clock.sleep(work.workSeconds);
            return 'done';
          },
          { timeoutEarlyInMillis: 1000 },
        ),
    });
    expect(outcome).toEqual({ ok: false, value: MIDDY_TIMEOUT, at: expect.any(Number) });
    // Middy's timer 1 s before the deadline, then one round trip (30 ms) for both publishes.
    expect(outcome?.at).toBeCloseTo(0.405 + 10 - 1 + 0.03, 6);
    expect(
      world.world.commands
        .filter((command) => command.service === 'SNS')
        .map((command) => (command.input as { Message?: string }).Message),
    ).toEqual(['first', 'second']);
  });

  // Only a timer set through `node:timers` during an invocation is virtual: the timers the libraries a
  // handler uses set meanwhile stay real and fire (the SDK waits on the global setTimeout, dynalite turns a
  // table ACTIVE on one, `node:timers/promises` is another module).
  it('leaves every other timer set during an invocation real: global setTimeout, timers/promises, dynalite', async () => {
    const world = { ...makeWorld(), dynamoDb: createWorldDynamoDb() };
    const fired: string[] = [];
    const { outcome } = await invokeMiddyHandler(
      1,
      async () => {
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        fired.push('setTimeout');
        await sleepPromise(1);
        fired.push('timers/promises');
        // A DynamoDB table of the world's own server: CREATING, then ACTIVE on dynalite's timer.
        const dynamo = customize(new DynamoDBClient({ region: 'us-east-1' }), 'DynamoDB');
        await dynamo.send(
          new CreateTableCommand({
            TableName: 'probe',
            AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
        for (;;) {
          const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: 'probe' }));
          if (Table?.TableStatus === 'ACTIVE') break;
          await new Promise<void>((resolve) => setTimeout(resolve, 0));
        }
        await dynamo.send(new PutItemCommand({ TableName: 'probe', Item: { pk: { S: 'a' } } }));
        const { Item } = await dynamo.send(
          new GetItemCommand({ TableName: 'probe', Key: { pk: { S: 'a' } } }),
        );
        fired.push(`dynamodb ${Item?.pk?.S}`);
      },
      world,
    );
    expect(outcome).toMatchObject({ ok: true, value: 'done' });
    expect(fired).toEqual(['setTimeout', 'timers/promises', 'dynamodb a']);
  });
});
