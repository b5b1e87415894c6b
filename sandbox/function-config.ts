import { createHash, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import {
  type AsyncInvocationSettings,
  LAMBDA_ASYNC_DEFAULTS,
  MAXIMUM_EVENT_AGE_RANGE,
  MAXIMUM_RETRY_ATTEMPTS_RANGE,
} from './aws/async-invocation.ts';
import { currentWorld, runInWorld, type WorldContext } from './context.ts';
import { type SandboxResources, templateResolver } from './iam/policies.ts';
import type { ExecutionEnvironment, ExecutionEnvironments } from './lambda-runtime.ts';
import { InvocationWork, runAsInvocationWork, type VirtualClock } from './virtual-clock.ts';

/**
 * One function's Lambda configuration as the packaged template gives it: its name, environment, memory,
 * timeout and reserved concurrency, from serverless.yml (provider defaults, then the function's own).
 */
export interface FunctionConfig {
  key: string;
  /** The deployed function's name: osls names it `<service>-<stage>-<key>` unless the function sets `name`. */
  name: string;
  arn: string;
  /** Exactly the variables Lambda gives the function: its own and the provider's, plus Lambda's defined ones. */
  environment: Readonly<Record<string, string>>;
  memorySize: number;
  timeoutSeconds: number;
  /** `reservedConcurrency`: at most this many invocations at once; undefined when it sets none. */
  reservedConcurrency?: number;
  /**
   * How Lambda retries and discards its asynchronous invocations (EventBridge, SNS): `maximumRetryAttempts`,
   * `maximumEventAge` and `destinations.onFailure` (or `onError`, a dead-letter queue) in serverless.yml.
   * Undefined (a configuration a test builds by hand): Lambda's defaults, with a dead-letter queue.
   */
  asyncInvocation?: AsyncInvocationSettings;
}

type FunctionDeclaration = {
  handler?: string;
  name?: string;
  runtime?: string;
  memorySize?: unknown;
  timeout?: unknown;
  reservedConcurrency?: unknown;
  maximumRetryAttempts?: unknown;
  maximumEventAge?: unknown;
  destinations?: { onFailure?: unknown };
  onError?: unknown;
  environment?: Record<string, unknown>;
};

type ServerlessDocument = {
  service?: string;
  provider?: {
    runtime?: string;
    memorySize?: unknown;
    timeout?: unknown;
    environment?: Record<string, unknown>;
  };
  functions?: Record<string, FunctionDeclaration>;
};

/**
 * The Serverless Framework's defaults, which osls writes into the template when serverless.yml sets none
 * (Lambda's own API defaults, 128 MB and 3 s, never apply to an osls function).
 */
const OSLS_DEFAULT_MEMORY_MB = 1024;
const OSLS_DEFAULT_TIMEOUT_SECONDS = 6;

/**
 * Lambda's limits on a function's configuration (Lambda Developer Guide, "Lambda quotas"): memory 128 MB to
 * 10,240 MB, timeout 1 to 900 seconds, and all its environment variables together at most 4 KB.
 */
const MEMORY_RANGE = [128, 10_240] as const;
const TIMEOUT_RANGE = [1, 900] as const;
const ENVIRONMENT_MAX_BYTES = 4096;

/**
 * The variables Lambda sets itself and refuses in a function's configuration ("Defined runtime environment
 * variables", Lambda Developer Guide, https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime):
 * a deployment that sets one fails with InvalidParameterValueException naming the reserved keys.
 */
const RESERVED = [
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
] as const;

/**
 * A call a handler makes after its invocation ended: Lambda stopped it at its timeout, or it answered (middy's
 * early timeout) with work still under way. On AWS the execution environment is then stopped or frozen and
 * the call is never sent, so in the sandbox it reaches no simulated service either.
 */
export class SandboxInvocationStopped extends Error {
  public override readonly name = 'SandboxInvocationStopped';
}

/**
 * The authorizer of an ended invocation's context: it refuses every call, naming why the invocation ended.
 * It keeps the authorizer it replaced: an invocation of another function started from this context (a Step
 * Functions execution the handler started invokes its tasks' functions) is authorized as its own.
 */
class StoppedInvocation {
  public constructor(
    private readonly config: FunctionConfig,
    private readonly ended: string,
    public readonly replaced: WorldContext['iam'],
  ) {}

  public authorize(service: string, commandName: string): void {
    throw new SandboxInvocationStopped(
      `${this.config.name} called ${service}:${commandName.replace(/Command$/, '')} after ${this.ended}`,
    );
  }
}

/** A function's configuration that Lambda (or CloudFormation) would refuse at deploy time. */
export class SandboxFunctionConfigError extends Error {
  public override readonly name = 'SandboxFunctionConfigError';
}

const numberSetting = (value: unknown, fallback: number, what: string, range: readonly [number, number]) => {
  const number = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(number) || number < range[0] || number > range[1])
    throw new SandboxFunctionConfigError(
      `${what} ${String(value)} is invalid: Lambda accepts a whole number from ${range[0]} to ${range[1]}`,
    );
  return number;
};

/**
 * The variables Lambda's Node.js runtime defines for every function (the reserved ones above plus the
 * unreserved defaults a function may override: LANG, PATH, LD_LIBRARY_PATH, NODE_PATH, TZ and the X-Ray
 * daemon's address). The task root is where the sandbox put the package (Lambda's is /var/task); the
 * credentials are the sandbox's own (intercept.ts), as Lambda hands over the role's session credentials.
 */
const lambdaDefined = (
  fn: { key: string; name: string; handler: string; runtime: string; memorySize: number },
  region: string,
  taskRoot: string,
  logStreamDate: string,
): Record<string, string> => {
  const stream = createHash('sha256').update(fn.name).digest('hex').slice(0, 32);
  return {
    LANG: 'en_US.UTF-8',
    PATH: '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin',
    LD_LIBRARY_PATH: `/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:${taskRoot}:${taskRoot}/lib:/opt/lib`,
    NODE_PATH: `/opt/nodejs/node${fn.runtime.replace(/^nodejs(\d+).*$/, '$1')}/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:${taskRoot}`,
    TZ: ':UTC',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000',
    _HANDLER: fn.handler,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${logStreamDate}/[$LATEST]${stream}`,
    AWS_ACCESS_KEY_ID: 'sandbox',
    AWS_SECRET_ACCESS_KEY: 'sandbox',
    AWS_SESSION_TOKEN: 'sandbox',
    AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001',
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: '/var/runtime',
  };
};

/** The names of the variables Lambda defines for every function (reserved or not), whatever their values. */
export const LAMBDA_DEFINED_VARIABLES: readonly string[] = Object.keys(
  lambdaDefined({ key: '', name: '', handler: '', runtime: 'nodejs22.x', memorySize: 0 }, '', '', ''),
);

/** One `environment:` block resolved as CloudFormation hands it to Lambda: every value a string. */
const resolveEnvironment = (
  block: Record<string, unknown> | undefined,
  resolve: (value: unknown) => unknown,
  where: string,
): Record<string, string> =>
  Object.fromEntries(
    Object.entries(block ?? {}).map(([name, raw]) => {
      const value = resolve(raw);
      if (typeof value === 'object' && value !== null)
        throw new SandboxFunctionConfigError(
          `${where}.environment.${name} does not resolve to a string (${JSON.stringify(value)})`,
        );
      return [name, String(value)];
    }),
  );

/**
 * Every function's Lambda configuration as the packaged template holds it, for this world: the provider's
 * and the function's own `environment` (the function's win), CloudFormation references resolved to the
 * sandbox's resources, plus the variables Lambda defines; memory and timeout from the function, else the
 * provider, else osls's defaults. What Lambda would refuse at deploy time (a reserved variable, more than
 * 4 KB of variables, a memory size or timeout out of range) fails the run here, naming the function.
 */
export const resolveFunctionConfigs = (
  document: unknown,
  resources: SandboxResources,
  options: { taskRoot: string; start: Date },
): Map<string, FunctionConfig> => {
  const doc = document as ServerlessDocument;
  const resolve = templateResolver(document, resources);
  const provider = doc.provider ?? {};
  const service = doc.service ?? 'shipline';
  const providerEnvironment = resolveEnvironment(provider.environment, resolve, 'provider');
  const logStreamDate = options.start.toISOString().slice(0, 10).replace(/-/g, '/');
  const configs = new Map<string, FunctionConfig>();
  for (const [key, fn] of Object.entries(doc.functions ?? {})) {
    const where = `functions.${key}`;
    const name = fn.name ?? `${service}-sandbox-${key}`;
    const memorySize = numberSetting(
      fn.memorySize ?? provider.memorySize,
      OSLS_DEFAULT_MEMORY_MB,
      `${where} memorySize`,
      MEMORY_RANGE,
    );
    const timeoutSeconds = numberSetting(
      fn.timeout ?? provider.timeout,
      OSLS_DEFAULT_TIMEOUT_SECONDS,
      `${where} timeout`,
      TIMEOUT_RANGE,
    );
    const own = { ...providerEnvironment, ...resolveEnvironment(fn.environment, resolve, where) };
    const reserved = Object.keys(own).filter((variable) =>
      (RESERVED as readonly string[]).includes(variable),
    );
    if (reserved.length > 0)
      throw new SandboxFunctionConfigError(
        `${where}: Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
      );
    // Lambda measures the variables as the JSON object of names and values.
    const bytes = Buffer.byteLength(JSON.stringify(own), 'utf8');
    if (bytes > ENVIRONMENT_MAX_BYTES)
      throw new SandboxFunctionConfigError(
        `${where}: Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit (${bytes} bytes)`,
      );
    const reservedConcurrency =
      fn.reservedConcurrency === undefined
        ? undefined
        : numberSetting(fn.reservedConcurrency, 0, `${where} reservedConcurrency`, [0, 1000]);
    const asyncInvocation = asyncInvocationOf(fn, where);
    const defined = lambdaDefined(
      {
        key,
        name,
        handler: fn.handler ?? '',
        runtime: fn.runtime ?? provider.runtime ?? 'nodejs22.x',
        memorySize,
      },
      resources.region,
      options.taskRoot,
      logStreamDate,
    );
    configs.set(key, {
      key,
      name,
      arn: `arn:aws:lambda:${resources.region}:${resources.account}:function:${name}`,
      // Lambda's defined variables, then the function's own over the unreserved ones (Object.assign on the
      // fresh object: a spread of these ~30 keys costs ten times as much, on every run of every world).
      environment: Object.assign(defined, own),
      memorySize,
      timeoutSeconds,
      ...(reservedConcurrency === undefined ? {} : { reservedConcurrency }),
      asyncInvocation,
    });
  }
  return configs;
};

/**
 * A function's asynchronous invocation settings as osls deploys them (an AWS::Lambda::EventInvokeConfig for
 * `maximumRetryAttempts`, `maximumEventAge` and `destinations`; the function's DeadLetterConfig for
 * `onError`), Lambda's defaults for what it leaves out. Values CloudFormation would refuse fail the run.
 */
const asyncInvocationOf = (fn: FunctionDeclaration, where: string): AsyncInvocationSettings => {
  const destination = fn.destinations?.onFailure;
  // `onFailure` is an ARN (or a function name), or `{ type, arn }` with the ARN a CloudFormation reference.
  const onFailure =
    destination === undefined || destination === null
      ? fn.onError === undefined || fn.onError === null
        ? undefined
        : 'its dead-letter queue (onError)'
      : typeof destination === 'string'
        ? destination
        : 'its on-failure destination';
  return {
    maximumRetryAttempts: numberSetting(
      fn.maximumRetryAttempts,
      LAMBDA_ASYNC_DEFAULTS.maximumRetryAttempts,
      `${where} maximumRetryAttempts`,
      MAXIMUM_RETRY_ATTEMPTS_RANGE,
    ),
    maximumEventAgeSeconds: numberSetting(
      fn.maximumEventAge,
      LAMBDA_ASYNC_DEFAULTS.maximumEventAgeSeconds,
      `${where} maximumEventAge`,
      MAXIMUM_EVENT_AGE_RANGE,
    ),
    ...(onFailure === undefined ? {} : { onFailure }),
  };
};

/** The configuration of the function `key` in the world the caller runs in (undefined outside a world). */
export const functionConfigOf = (key: string): FunctionConfig | undefined =>
  currentWorld()?.functions?.get(key);

/** Invocations of each function in its world so far: request ids the same run after run (`--seed`). */
const invocationCounts = new WeakMap<FunctionConfig, number>();

/** A request id (UUID-shaped) from the function, the virtual time and the invocation's number in its world. */
const requestIdOf = (config: FunctionConfig, clock: VirtualClock): string => {
  const count = (invocationCounts.get(config) ?? 0) + 1;
  invocationCounts.set(config, count);
  const hex = createHash('sha256').update(`${config.arn}:${clock.nowMillis}:${count}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

/**
 * The context object Lambda hands the handler: the function's name, ARN, memory and log names from its
 * configuration, and the time left before its timeout on the world's clock.
 */
export const invocationContext = (
  key: string,
  config: FunctionConfig | undefined,
  clock: VirtualClock | undefined,
): Context => {
  const name = config?.name ?? `shipline-sandbox-${key}`;
  const timeoutMs = (config?.timeoutSeconds ?? OSLS_DEFAULT_TIMEOUT_SECONDS) * 1000;
  const deadline = clock ? clock.nowMillis + timeoutMs : undefined;
  return {
    awsRequestId: config && clock ? requestIdOf(config, clock) : randomUUID(),
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: config?.arn ?? `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    memoryLimitInMB: String(config?.memorySize ?? OSLS_DEFAULT_MEMORY_MB),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: config?.environment.AWS_LAMBDA_LOG_STREAM_NAME ?? 'sandbox',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () =>
      clock && deadline !== undefined ? Math.max(0, deadline - clock.nowMillis) : timeoutMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

/** The release of an invocation of a function without reserved concurrency: nothing was counted. */
const unlimited = (): void => undefined;

/** Invocations of each function running now, in its world. */
const running = new WeakMap<FunctionConfig, number>();

/**
 * Takes one of the function's concurrent executions for an invocation; returns its release, or undefined
 * when its `reservedConcurrency` executions are all busy: Lambda then throttles the invocation
 * (TooManyRequestsException, Reason ReservedFunctionConcurrentInvocationLimitExceeded), and Step
 * Functions sees Lambda.TooManyRequestsException. With no reserved concurrency nothing is counted.
 */
export const claimConcurrency = (config: FunctionConfig | undefined): (() => void) | undefined => {
  if (config?.reservedConcurrency === undefined) return unlimited;
  const busy = running.get(config) ?? 0;
  if (busy >= config.reservedConcurrency) return undefined;
  running.set(config, busy + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    running.set(config, (running.get(config) ?? 1) - 1);
  };
};

/**
 * Runs one invocation within the function's timeout, in virtual time, as Lambda does: past it the
 * invocation fails with `Sandbox.Timedout` ("Task timed out after N.00 seconds", the errorType Step
 * Functions sees for a Lambda timeout) and whatever the handler still does is lost with its environment.
 * The caller holds the clock; the handler's work holds it too while it runs (InvocationWork), so time
 * advances only when both wait. When the handler answers (middy answers early, 5 ms before the timeout, on
 * a `node:timers` timer: virtual-timers.ts), its work ends: what it still waits for never resumes, and
 * `leftBehind` is told when some of it was still under way.
 */
export const withinTimeout = async <T>(
  clock: VirtualClock,
  config: FunctionConfig,
  requestId: string,
  run: () => Promise<T>,
  timedOut: (message: string) => Error,
  leftBehind: (ended: string) => void = () => undefined,
): Promise<T> => {
  const deadline = clock.nowMillis + config.timeoutSeconds * 1000;
  const work = new InvocationWork(clock);
  clock.holdFor(work);
  let running: Promise<T>;
  try {
    running = runAsInvocationWork(work, run);
  } catch (error) {
    clock.stopWork(work);
    throw error;
  }
  let cancel = (): void => undefined;
  const outcome = clock.block<T>((resolve, reject) => {
    running.then(resolve, reject);
    cancel = clock.schedule(deadline, () => {
      clock.stopWork(work);
      reject(
        timedOut(
          `${new Date(deadline).toISOString()} ${requestId} Task timed out after ${config.timeoutSeconds.toFixed(2)} seconds`,
        ),
      );
    });
  });
  const answered = (): void => {
    if (work.stopped) return;
    const waiting = work.waiting > 0;
    clock.stopWork(work);
    if (waiting)
      leftBehind(
        `its handler answered at ${clock.now().toISOString()} with work still under way (${requestId}), frozen with its execution environment`,
      );
  };
  running.then(answered, answered);
  try {
    return await outcome;
  } finally {
    cancel();
  }
};

/**
 * One invocation of `key` as Lambda runs it under the function's configuration: throttled past its reserved
 * concurrency (Lambda.TooManyRequestsException), in an execution environment of its function (start time on
 * the world's clock), with the context Lambda hands the handler, stopped at its timeout (Sandbox.Timedout).
 * What the handler throws becomes `invocationError(name, message)`, the error its caller sees.
 */
export const invokeAsConfigured = async (
  key: string,
  environments: ExecutionEnvironments | undefined,
  run: (context: Context) => Promise<unknown>,
  invocationError: (errorType: string, errorMessage: string) => Error,
): Promise<unknown> => {
  const config = functionConfigOf(key);
  const leave = claimConcurrency(config);
  if (!leave)
    throw invocationError(
      'Lambda.TooManyRequestsException',
      `Rate Exceeded. (Reason: ReservedFunctionConcurrentInvocationLimitExceeded; ${config?.name} reserves ${config?.reservedConcurrency})`,
    );
  let release: (() => void) | undefined;
  let environment: ExecutionEnvironment | undefined;
  try {
    if (environments) ({ environment, release } = await environments.enter(key));
  } catch (error) {
    leave();
    throw error;
  }
  const context = invocationContext(key, config, environments?.clock);
  let timedOut: Error | undefined;
  try {
    const world = currentWorld();
    if (!config || !environments || !world) return await run(context);
    // The handler runs in its own copy of the world's context: once Lambda has stopped the invocation at
    // its timeout, or the handler answered with work still under way (middy's early timeout), whatever the
    // handler still does (it cannot be killed in-process) reaches no AWS service. It runs in its execution
    // environment: the state its module keeps per environment is that one's. Its authorizer is the world's,
    // even when this invocation was started from an ended one's context.
    const iam = world.iam instanceof StoppedInvocation ? world.iam.replaced : world.iam;
    const invocation: WorldContext = { ...world, iam, executionEnvironment: environment };
    return await withinTimeout(
      environments.clock,
      config,
      context.awsRequestId,
      () => runInWorld(invocation, () => run(context)),
      (message) => {
        invocation.iam = new StoppedInvocation(config, `Lambda stopped its invocation (${message})`, iam);
        timedOut = invocationError('Sandbox.Timedout', message);
        return timedOut;
      },
      (ended) => {
        invocation.iam = new StoppedInvocation(config, ended, iam);
      },
    );
  } catch (error) {
    if (timedOut && error === timedOut) throw error;
    const failure = error instanceof Error ? error : new Error(String(error));
    throw invocationError(failure.name || 'Error', failure.message);
  } finally {
    // A timed-out invocation's environment is not reused: Lambda resets it (the next one starts cold). One
    // that answered, with an error too (middy's early TimeoutError is the handler's own error: the runtime
    // reports it and lives on), is frozen and reused ("If the Lambda function crashes or times out during
    // the Invoke phase, Lambda resets the execution environment": Lambda Developer Guide, "Understanding
    // the Lambda execution environment lifecycle", Failures during the invoke phase,
    // https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
    if (!timedOut) release?.();
    leave();
  }
};
