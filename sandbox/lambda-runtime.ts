import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { AsyncInvocationSettings } from './aws/async-invocation.ts';
import { LambdaInvocationError } from './aws/errors.ts';
import { sleepMs, type Timing } from './aws/timing.ts';
import { functionConfigOf, invokeAsConfigured } from './function-config.ts';
import { currentFunction } from './iam/enforce.ts';
import type { VirtualClock } from './virtual-clock.ts';
import { readYamlFile } from './yaml-file.ts';

/** A function as serverless.yml declares it: handler module and EventBridge patterns. */
export interface DeclaredFunction {
  key: string;
  modulePath: string;
  exportName: string;
  eventPatterns: Record<string, unknown>[];
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Reads the functions (and their EventBridge rules) from serverless.yml: the sandbox wires what is deployed. */
export const readDeclaredFunctions = (root: string): DeclaredFunction[] =>
  declaredFunctionsOf(readYamlFile(path.join(root, 'serverless.yml')), root);

/** The functions a serverless document declares, their handler modules resolved from `root`. */
export const declaredFunctionsOf = (serverlessDocument: unknown, root: string): DeclaredFunction[] => {
  const document = serverlessDocument as {
    functions?: Record<string, { handler: string; events?: Array<Record<string, unknown>> }>;
  };
  return Object.entries(document.functions ?? {}).map(([key, fn]) => {
    const dot = fn.handler.lastIndexOf('.');
    return {
      key,
      modulePath: path.join(root, `${fn.handler.slice(0, dot)}.ts`),
      exportName: fn.handler.slice(dot + 1),
      eventPatterns: (fn.events ?? [])
        .map((event) => (event.eventBridge as { pattern?: Record<string, unknown> } | undefined)?.pattern)
        .filter((pattern): pattern is Record<string, unknown> => pattern !== undefined),
    };
  });
};

// The error lives with the simulated services (which see it), so they import nothing from the runtime.
export { LambdaInvocationError } from './aws/errors.ts';

/**
 * One Lambda execution environment: its identity keys the state the handler module keeps per environment
 * (lib/per-environment.ts: SDK clients and their retry quotas, cached secrets), so a cold start begins
 * with none of it, as on AWS.
 */
export interface ExecutionEnvironment {
  /** The function it runs. */
  readonly functionKey: string;
  /** When it last finished an invocation (virtual epoch ms). */
  releasedAt: number;
}

/**
 * A world's Lambda execution environments, per function. An invocation takes an idle environment of its
 * function (a warm start) or, when every one is busy or none is left, a new one that first runs init (a
 * cold start): concurrent invocations need as many environments. An environment idle for longer than
 * `lambdaIdleReclaimSeconds` is reclaimed (Lambda keeps it "for a non-deterministic period of time"; see
 * `timing.ts`). The start time advances the virtual clock while the invocation holds it.
 */
export class ExecutionEnvironments {
  /**
   * Per function, its idle environments, the one that finished first first: released in time order, so the
   * newest is last and, once the newest is past reclaim, every one is (O(1) per invocation at any scale).
   */
  private readonly idle = new Map<string, ExecutionEnvironment[]>();
  public coldStarts = 0;
  public warmStarts = 0;

  public constructor(
    public readonly clock: VirtualClock,
    private readonly timing: Pick<
      Timing,
      'lambdaColdStartMs' | 'lambdaWarmStartMs' | 'lambdaIdleReclaimSeconds'
    >,
  ) {}

  /** Takes an environment for one invocation of `key`, paying its start; returns it and its release. */
  public async enter(key: string): Promise<{ environment: ExecutionEnvironment; release: () => void }> {
    let idle = this.idle.get(key);
    if (!idle) {
      idle = [];
      this.idle.set(key, idle);
    }
    const newest = idle.pop();
    const warm =
      newest !== undefined &&
      this.clock.nowMillis - newest.releasedAt < this.timing.lambdaIdleReclaimSeconds * 1000;
    // The newest idle one is past reclaim: so is every older one.
    if (newest !== undefined && !warm) idle.length = 0;
    if (warm) this.warmStarts += 1;
    else this.coldStarts += 1;
    await sleepMs(this.clock, (warm ? 0 : this.timing.lambdaColdStartMs) + this.timing.lambdaWarmStartMs);
    const environment: ExecutionEnvironment = warm && newest ? newest : { functionKey: key, releasedAt: 0 };
    const pool = idle;
    return {
      environment,
      release: () => {
        environment.releasedAt = this.clock.nowMillis;
        pool.push(environment);
      },
    };
  }
}

/** Runs the real handler modules (their middy stacks included) as Lambda would, one module per function. */
export class LambdaRuntime {
  private readonly handlers: Map<string, Handler>;
  public readonly functions: Map<string, DeclaredFunction>;
  public invocations = 0;
  /** This world's execution environments; undefined for the process-wide runtime (no start time). */
  public readonly environments: ExecutionEnvironments | undefined;

  public constructor(
    functions: DeclaredFunction[],
    shared?: { handlers: Map<string, Handler>; environments: ExecutionEnvironments },
  ) {
    this.functions = new Map(functions.map((fn) => [fn.key, fn]));
    this.handlers = shared?.handlers ?? new Map();
    this.environments = shared?.environments;
  }

  /**
   * The same loaded handlers as one world's Lambda service: invocations pay cold and warm starts on that
   * world's clock, with execution environments of their own.
   */
  public forWorld(clock: VirtualClock, timing: Timing): LambdaRuntime {
    return new LambdaRuntime([...this.functions.values()], {
      handlers: this.handlers,
      environments: new ExecutionEnvironments(clock, timing),
    });
  }

  /** Imports every handler module (cold start); the sandbox's client customizer must be installed first. */
  public async load(): Promise<void> {
    for (const fn of this.functions.values()) {
      const module = (await import(pathToFileURL(fn.modulePath).href)) as Record<string, unknown>;
      const handler = module[fn.exportName];
      if (typeof handler !== 'function') throw new Error(`${fn.modulePath} exports no ${fn.exportName}`);
      this.handlers.set(fn.key, handler as Handler);
    }
  }

  /** The function's asynchronous invocation settings in the world the caller runs in (function-config.ts). */
  public asyncInvocation(key: string): AsyncInvocationSettings | undefined {
    return functionConfigOf(key)?.asyncInvocation;
  }

  public async invoke(key: string, event: unknown): Promise<unknown> {
    const handler = this.handlers.get(key);
    if (!handler) throw new Error(`the sandbox has no function "${key}" (is it declared in serverless.yml?)`);
    this.invocations += 1;
    // Run as its Lambda configuration says (function-config.ts): reserved concurrency, context, timeout.
    const result = await invokeAsConfigured(
      key,
      this.environments,
      (context) => currentFunction.run(key, () => handler(JSON.parse(JSON.stringify(event)), context)),
      (errorType, errorMessage) => new LambdaInvocationError(errorType, errorMessage),
    );
    return result === undefined ? null : JSON.parse(JSON.stringify(result));
  }
}
