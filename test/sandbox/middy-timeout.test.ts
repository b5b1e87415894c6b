import type { Server } from 'node:http';
import { setTimeout as sleepPromise } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { shiplineHandler } from '../../functions/shared/stack.ts';
import { customize } from '../../lib/adapters/aws-clients.ts';
import { DEFAULT_TIMING } from '../../sandbox/aws/timing.ts';
import { runInWorld } from '../../sandbox/context.ts';
import { type FunctionConfig, invokeAsConfigured } from '../../sandbox/function-config.ts';
import { currentFunction } from '../../sandbox/iam/enforce.ts';
import { installSandboxClients } from '../../sandbox/intercept.ts';
import { ExecutionEnvironments, LambdaInvocationError } from '../../sandbox/lambda-runtime.ts';
import { createWorldDynamoDb } from '../../sandbox/local-dynamodb.ts';
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

/**
 * Invokes a handler built with the pipeline's middy stack, as Lambda would (10 s timeout), whose body calls
 * `meanwhile` then waits `workSeconds` of virtual time. Returns how it ended and when (virtual seconds after
 * the invocation began), and what the clock did once it ended.
 */
const invokeMiddyHandler = async (
  workSeconds: number,
  meanwhile?: () => void | Promise<void>,
  world: ReturnType<typeof makeWorld> & { dynamoDb?: Server } = makeWorld(),
) => {
  const { clock } = world;
  const handler = shiplineHandler('fn', z.object({}), async () => {
    // After middy has started the handler (and set its timer).
    await Promise.resolve();
    await meanwhile?.();
    await clock.sleep(workSeconds);
    return 'done';
  });
  const environments = new ExecutionEnvironments(clock, DEFAULT_TIMING);
  let outcome: { ok: boolean; value: string; at: number } | undefined;
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
      if (workSeconds <= 10) {
        const ended = await clock.run(() => false, began + 3_600_000);
        afterwards = { ended, at: (clock.nowMillis - began) / 1000 };
      }
    },
  );
  return { outcome, afterwards };
};

describe("Sandbox: middy's early timeout counts no wall time", () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, { AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT' });
    installSandboxClients();
  });
  afterAll(() => {
    process.env = saved;
  });

  const realTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

  // On AWS, middy answers with TimeoutError 5 ms before Lambda's timeout; the sandbox ends the invocation
  // at the timeout on the virtual clock (Sandbox.Timedout), and middy's timer must count no wall time: no
  // real timer of the time left is set, so none is left to fire seconds later, or to keep the process alive.
  it('ends an invocation that outlives its timeout on the virtual clock, leaving no real timer behind', async () => {
    const before = realTimers();
    const { outcome } = await invokeMiddyHandler(40);
    // The cold start (400 ms) and the warm overhead (5 ms) come first; then the 10 s timeout.
    expect(outcome?.ok).toBe(false);
    expect(outcome?.value).toMatch(/^Sandbox\.Timedout: /);
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
