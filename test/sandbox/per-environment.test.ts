import '../../sandbox/polyfills.ts';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lazyPort } from '../../functions/shared/adapters.ts';
import { clientBase, customize } from '../../lib/adapters/aws-clients.ts';
import { createSlackSecretReader, SECRET_CACHE_SECONDS } from '../../lib/adapters/slack-secrets.ts';
import { perEnvironment } from '../../lib/per-environment.ts';
import { DEFAULT_TIMING } from '../../sandbox/aws/timing.ts';
import type { SimulatedWorld } from '../../sandbox/aws/world.ts';
import { runInWorld } from '../../sandbox/context.ts';
import { type FunctionConfig, invokeAsConfigured } from '../../sandbox/function-config.ts';
import { installSandboxClients } from '../../sandbox/intercept.ts';
import { type ExecutionEnvironment, ExecutionEnvironments } from '../../sandbox/lambda-runtime.ts';
import type { VirtualClock } from '../../sandbox/virtual-clock.ts';
import { makeWorld, START } from './support.ts';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:m';
const TOKEN = '/shipline/slack/bot-token';
/** Both worlds' functions name the same table, as two test files of one worker may. */
const ENV = { AWS_REGION: 'us-east-1', SHIPLINE_TABLE: 'shipline-releases' };

const environment = (functionKey: string): ExecutionEnvironment => ({ functionKey, releasedAt: 0 });

/** Runs `work` as an invocation in `executionEnvironment` of `world`, to its end on the virtual clock. */
const invokeIn = async <T>(
  { world, clock }: { world: SimulatedWorld; clock: VirtualClock },
  executionEnvironment: ExecutionEnvironment | undefined,
  work: () => Promise<T>,
): Promise<T> =>
  runInWorld({ world, clock, env: ENV, executionEnvironment }, async () => {
    let outcome: { value: T } | { error: unknown } | undefined;
    void clock.track(async () => {
      outcome = await work().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
    });
    await clock.run(() => outcome !== undefined, clock.nowMillis + 3_600_000);
    if (!outcome) throw new Error('the invocation did not end');
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  });

describe('Sandbox: module state is per execution environment, as on AWS', () => {
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

  it('runs each invocation in its execution environment: a warm start finds its state, a concurrent or reclaimed one starts empty', async () => {
    const { clock, world } = makeWorld();
    const config: FunctionConfig = {
      key: 'fn',
      name: 'shipline-sandbox-fn',
      arn: 'arn:aws:lambda:us-east-1:123456789012:function:shipline-sandbox-fn',
      environment: ENV,
      memorySize: 1024,
      timeoutSeconds: 60,
    };
    const environments = new ExecutionEnvironments(clock, DEFAULT_TIMING);
    let built = 0;
    const state = perEnvironment(() => ({ id: ++built }));
    const invoke = (holdSeconds: number) =>
      invokeAsConfigured(
        'fn',
        environments,
        async () => {
          const { id } = state();
          await clock.sleep(holdSeconds);
          return id;
        },
        (_type, message) => new Error(message),
      ) as Promise<number>;
    const ids: Array<[number, number]> = [];
    await runInWorld({ world, clock, env: ENV, functions: new Map([['fn', config]]) }, async () => {
      const at = (seconds: number) =>
        clock.schedule(START + seconds * 1000, () => {
          void clock.track(async () => {
            ids.push([seconds, await invoke(1)]);
          });
        });
      at(0);
      at(10); // idle since 1.4 s: warm
      at(20); // two at once: the idle one (warm) and a new one (cold)
      at(20);
      at(21.5 + DEFAULT_TIMING.lambdaIdleReclaimSeconds); // both idle past reclaim: a new one
      await clock.run(() => ids.length === 5, START + 3_600_000);
    });
    expect(ids.map(([, id]) => id)).toEqual([1, 1, 1, 2, 3]);
    // 1 cold, 1 warm (the same environment), 2 at once (one warm, one cold), then all reclaimed: a new one.
    expect({ cold: environments.coldStarts, warm: environments.warmStarts }).toEqual({ cold: 3, warm: 2 });
  });

  it("gives each execution environment, and each world, its own SDK retry quota: one environment's exhausted quota refuses no other's retry", async () => {
    // A port as a handler module builds it once (functions/shared/adapters.ts), its client on first use.
    const executions = lazyPort<{ list: () => Promise<unknown> }>(
      () => {
        const client = customize(new SFNClient(clientBase()), 'SFN');
        return { list: () => client.send(new ListExecutionsCommand({ stateMachineArn: MACHINE })) };
      },
      { list: true },
    );
    const throttled = () => {
      const run = makeWorld();
      run.world.sfn.createStateMachine('m', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
      run.world.commandFaults.push({
        command: 'ListExecutions',
        error: 'ThrottlingException',
        message: 'Rate exceeded',
        remaining: Number.POSITIVE_INFINITY,
        activeFrom: Number.NEGATIVE_INFINITY,
      });
      return run;
    };
    const attemptsOf = async (run: ReturnType<typeof throttled>, env: ExecutionEnvironment | undefined) => {
      const failure = await invokeIn(run, env, () => executions.list()).then(
        () => undefined,
        (error: unknown) => error as { name?: string; $metadata?: { attempts?: number } },
      );
      expect(failure?.name).toBe('ThrottlingException');
      return failure?.$metadata?.attempts;
    };

    const a = throttled();
    const warm = environment('trigger');
    // The standard retry strategy's quota: 500 tokens, 5 per retry after throttling, 2 retries per call.
    const calls: number[] = [];
    for (let call = 0; call < 60; call += 1) calls.push((await attemptsOf(a, warm)) ?? 0);
    expect(calls.slice(0, 50)).toEqual(Array(50).fill(3));
    expect(calls.slice(50)).toEqual(Array(10).fill(1));
    // A cold start (a new environment of the same function) starts with a full quota, as on AWS.
    expect(await attemptsOf(a, environment('trigger'))).toBe(3);
    // So does every environment of another world running in the same process.
    const b = throttled();
    expect(await attemptsOf(b, environment('trigger'))).toBe(3);
    expect(await attemptsOf(b, undefined)).toBe(3);
    // The exhausted environment stays exhausted (its client lives as long as it does).
    expect(await attemptsOf(a, warm)).toBe(1);
  });

  it('serves each world the Slack secrets it declares, even when two worlds run at once under the same table name', async () => {
    const a = makeWorld();
    const b = makeWorld();
    a.world.ssm.parameters.set(TOKEN, 'xoxb-world-a');
    b.world.ssm.parameters.set(TOKEN, 'xoxb-world-b');
    a.world.secretsManager.secrets.set('shipline/slack/signing-secret', 'secret-a');
    b.world.secretsManager.secrets.set('shipline/slack/signing-secret', 'secret-b');
    const reader = createSlackSecretReader();
    const read = (run: typeof a) =>
      invokeIn(run, environment('slackNotify'), async () => [
        await reader.read({ ssm: TOKEN }),
        await reader.read({ secretsManager: 'shipline/slack/signing-secret' }),
      ]);
    const [first, second] = await Promise.all([read(a), read(b)]);
    expect(first).toEqual(['xoxb-world-a', 'secret-a']);
    expect(second).toEqual(['xoxb-world-b', 'secret-b']);
    // Read again (cached now), each world still sees its own.
    expect(await Promise.all([read(b), read(a)])).toEqual([
      ['xoxb-world-b', 'secret-b'],
      ['xoxb-world-a', 'secret-a'],
    ]);
  });

  it('caches a secret per environment for its 5 minutes of virtual time: a cold start reads the rotated token, a warm one after it expires', async () => {
    const run = makeWorld();
    run.world.ssm.parameters.set(TOKEN, 'xoxb-old');
    const reader = createSlackSecretReader();
    const warm = environment('slackNotify');
    const read = (env: ExecutionEnvironment) => invokeIn(run, env, () => reader.read({ ssm: TOKEN }));
    const gets = () => run.world.commands.filter((c) => c.command === 'GetParameter').length;

    expect(await read(warm)).toBe('xoxb-old');
    run.world.ssm.parameters.set(TOKEN, 'xoxb-new');
    // The warm environment serves its cached value (as Powertools does on AWS, for SECRET_CACHE_SECONDS).
    expect(await read(warm)).toBe('xoxb-old');
    expect(gets()).toBe(1);
    // A cold start begins with an empty cache and reads the parameter.
    expect(await read(environment('slackNotify'))).toBe('xoxb-new');
    expect(gets()).toBe(2);
    // Once the warm one's value is older than the cache's time, on the virtual clock, it reads it again.
    const advanceTo = (seconds: number) =>
      invokeIn(run, undefined, () => run.clock.sleep(seconds - (run.clock.nowMillis - START) / 1000));
    await advanceTo(SECRET_CACHE_SECONDS - 1);
    expect(await read(warm)).toBe('xoxb-old');
    await advanceTo(SECRET_CACHE_SECONDS + 1);
    expect(await read(warm)).toBe('xoxb-new');
    expect(gets()).toBe(3);
  });
});
