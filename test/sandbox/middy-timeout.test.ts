import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { shiplineHandler } from '../../functions/shared/stack.ts';
import { DEFAULT_TIMING } from '../../sandbox/aws/timing.ts';
import { runInWorld } from '../../sandbox/context.ts';
import { type FunctionConfig, invokeAsConfigured } from '../../sandbox/function-config.ts';
import { currentFunction } from '../../sandbox/iam/enforce.ts';
import { installSandboxClients } from '../../sandbox/intercept.ts';
import { ExecutionEnvironments, LambdaInvocationError } from '../../sandbox/lambda-runtime.ts';
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
 * the invocation began).
 */
const invokeMiddyHandler = async (workSeconds: number, meanwhile?: () => void) => {
  const { clock, world } = makeWorld();
  const handler = shiplineHandler('fn', z.object({}), async () => {
    // After middy has started the handler (and set its timer).
    await Promise.resolve();
    meanwhile?.();
    await clock.sleep(workSeconds);
    return 'done';
  });
  const environments = new ExecutionEnvironments(clock, DEFAULT_TIMING);
  let outcome: { ok: boolean; value: string; at: number } | undefined;
  await runInWorld({ world, clock, env: ENV, functions: new Map([['fn', config]]) }, async () => {
    const began = clock.nowMillis;
    void clock.track(async () => {
      outcome = await invokeAsConfigured(
        'fn',
        environments,
        (context) => currentFunction.run('fn', () => handler({}, context)),
        (type, message) => new LambdaInvocationError(type, message),
      ).then(
        (value) => ({ ok: true, value: String(value), at: (clock.nowMillis - began) / 1000 }),
        (error: Error) => ({ ok: false, value: error.name, at: (clock.nowMillis - began) / 1000 }),
      );
    });
    await clock.run(() => outcome !== undefined, began + 3_600_000);
  });
  return outcome;
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
    const outcome = await invokeMiddyHandler(40);
    // The cold start (400 ms) and the warm overhead (5 ms) come first; then the 10 s timeout.
    expect(outcome?.ok).toBe(false);
    expect(outcome?.value).toBe('Sandbox.Timedout');
    expect(outcome?.at).toBeCloseTo(0.405 + 10, 6);
    expect(realTimers()).toBe(before);
  });

  it('runs an invocation within its timeout to its end, with no real timer set meanwhile', async () => {
    const before = realTimers();
    let during = -1;
    const outcome = await invokeMiddyHandler(1, () => {
      during = realTimers();
    });
    expect(outcome).toMatchObject({ ok: true, value: 'done' });
    expect(during).toBe(before);
  });
});
