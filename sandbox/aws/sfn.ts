import { createHash } from 'node:crypto';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { outsideInvocationWork } from '../virtual-clock.ts';
import { cloneData } from './clone.ts';
import { SimulatedAwsError } from './errors.ts';
import type { LambdaService, StepFunctionsContext } from './services.ts';
import { catcherProblems, decideRetry, formatDelay, type Retrier, retrierProblems } from './sfn-retry.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type State = Record<string, Json>;

const TOKEN_PLACEHOLDER = '__SANDBOX_TASK_TOKEN__';
const WAIT_FOR_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/** Step Functions name rules: 1-80 characters, none of whitespace, brackets, wildcards, punctuation listed by AWS, control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS forbids control characters in names; the pattern must name them.
const NAME_PATTERN = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

export interface ExecutionRecord {
  executionArn: string;
  name: string;
  stateMachineArn: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  stateEntered: number;
  history: Array<{ at: number; state: string; type: string }>;
}

interface TokenEntry {
  execution: string;
  state: string;
  done: boolean;
  settle?: { resolve: (value: Json) => void; reject: (error: Error) => void };
  early?: { ok: true; value: Json } | { ok: false; error: Error };
}

export interface StateFault {
  state: string;
  error: string;
  cause: string;
  remaining: number;
}

/**
 * Step Functions' payload limit: execution input, state output, task result and SendTaskSuccess output are
 * at most 262,144 bytes of UTF-8 (the API reference's "Maximum length of 262144", counted in bytes).
 */
export const MAX_PAYLOAD_BYTES = 262_144;

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * A status-change event's id, derived from the execution and its status (a UUID's shape): an event no rule
 * matches (every RUNNING and SUCCEEDED one, in this pipeline) draws nothing from the run's random source.
 */
const statusEventId = (execution: { executionArn: string; status: string }): string => {
  const hex = createHash('sha256').update(`${execution.executionArn}|${execution.status}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

/** The statuses ListExecutions filters on (its `statusFilter` enum). */
const LIST_STATUSES: ReadonlySet<string> = new Set([
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'PENDING_REDRIVE',
]);

/** The `Error` of every Fail state of an ASL document, at any depth (Parallel branches, Map iterators). */
const failStateErrors = (asl: unknown): ReadonlySet<string> => {
  const errors = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) for (const item of node) walk(item);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (record.Type === 'Fail' && typeof record.Error === 'string') errors.add(record.Error);
      for (const value of Object.values(record)) walk(value);
    }
  };
  walk(asl);
  return errors;
};

/** The AWS/States metric that counts each final status. */
const ENDED_METRICS: Partial<Record<ExecutionRecord['status'], string>> = {
  SUCCEEDED: 'ExecutionsSucceeded',
  FAILED: 'ExecutionsFailed',
  ABORTED: 'ExecutionsAborted',
  TIMED_OUT: 'ExecutionsTimedOut',
};

/** The input and output a status-change event carries at most, leaving room in the 256 KB event for the rest. */
const STATUS_EVENT_DATA_BYTES = 240 * 1024;

/** What AWS answers for a request field over its length constraint. */
const tooLong = (field: string): SimulatedAwsError =>
  new SimulatedAwsError(
    'ValidationException',
    `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PAYLOAD_BYTES}`,
  );

/** AWS's cause for a result over the limit (the execution fails with States.DataLimitExceeded). */
const dataLimitCause = (state: string): string =>
  `The state/task '${state}' returned a result with a size exceeding the maximum number of bytes service limit.`;

/**
 * What the engine is told a Task's timeout is. aws-local-stepfunctions races every Task against a real
 * `setTimeout` of its TimeoutSeconds[Path], 60 s when the state has none: a task blocked on the virtual
 * clock (a token wait, a Wait state, a retry interval) for a minute of wall time, as in a large fleet, would
 * fail with States.Timeout and the engine would move on from a state whose task still holds or awaits the
 * clock. Timeouts are the sandbox's, in virtual time; the engine's is the longest delay a Node timer takes
 * (2^31 - 1 ms), so it never fires.
 */
const ENGINE_TASK_TIMEOUT_SECONDS = Math.floor(0x7fffffff / 1000);

/**
 * Prepared definitions this process has validated: validating the ASL is most of the CPU of starting an
 * execution, and a definition that was valid once stays valid (checked once per process, across worlds).
 */
const validatedDefinitions = new Set<string>();

/** The engine for a prepared definition, validated once per process; its runs skip validation. */
const engineFor = (definition: StateMachineDefinition): StateMachine => {
  const key = JSON.stringify(definition);
  if (!validatedDefinitions.has(key)) {
    new StateMachine(definition, { validationOptions: { checkArn: false } });
    validatedDefinitions.add(key);
  }
  // Map and Parallel branches are state machines of their own the engine builds per run: they were
  // validated with the whole definition, so they skip it too.
  return new StateMachine(definition, { validationOptions: { noValidate: true } });
};

/**
 * A timestamp as Step Functions takes it in a Wait state (Amazon States Language, "Timestamps": RFC 3339,
 * with an uppercase T between the date and the time and an uppercase Z when no numeric offset is given).
 */
const ASL_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** The longest wait in seconds a Wait state takes (Step Functions Developer Guide, "Wait state"). */
const MAX_WAIT_SECONDS = 99_999_999;

/** A Wait state's number of seconds: an integer from 0 to 99,999,999. */
const isWaitSeconds = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_WAIT_SECONDS;

/** The fields of which a Wait state has exactly one. */
const WAIT_FIELDS = ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'] as const;

/**
 * What CreateStateMachine refuses in a Wait state (none: undefined). The sandbox runs a Wait as a Task of
 * its own on the virtual clock, so the engine's validator never sees the Wait itself: its rules are checked
 * here (Step Functions Developer Guide, "Wait state"): exactly one of Seconds, SecondsPath, Timestamp and
 * TimestampPath; Seconds an integer from 0 to 99,999,999; Timestamp RFC 3339 with an uppercase T and Z;
 * a path a reference path (`$...`).
 */
const waitProblem = (name: string, state: State): string | undefined => {
  const given = WAIT_FIELDS.filter((field) => state[field] !== undefined);
  if (given.length !== 1)
    return `WAIT_DURATION: State "${name}" MUST contain exactly one of "Seconds", "SecondsPath", "Timestamp", "TimestampPath"`;
  const field = given[0] as (typeof WAIT_FIELDS)[number];
  const value = state[field];
  const invalid = (why: string) =>
    `SCHEMA_VALIDATION_FAILED: /States/${name}/${field} is invalid: ${JSON.stringify(value)} ${why}`;
  if (field === 'Seconds' && !isWaitSeconds(value))
    return invalid(`is not an integer from 0 to ${MAX_WAIT_SECONDS}`);
  if (field === 'Timestamp' && !(typeof value === 'string' && ASL_TIMESTAMP.test(value)))
    return invalid('is not an RFC 3339 timestamp such as 2026-11-24T10:00:00Z');
  if (
    (field === 'SecondsPath' || field === 'TimestampPath') &&
    !(typeof value === 'string' && value.startsWith('$'))
  )
    return invalid('is not a reference path (such as $.until)');
  return undefined;
};

const named = (name: string, message: string): Error => {
  const error = new Error(message);
  error.name = name;
  return error;
};

/**
 * Step Functions: StartExecution with AWS's name rules and same-name behaviour, DescribeExecution,
 * ListExecutions, and task tokens. Executions run the real ASL on aws-local-stepfunctions; what that
 * engine lacks is emulated here on the virtual clock: `.waitForTaskToken` (a fresh token per task,
 * resumed by SendTaskSuccess/Failure, timed out by TimeoutSeconds[Path] in virtual time) and Wait states.
 */
export class SimulatedStepFunctions {
  private readonly machines = new Map<
    string,
    {
      name: string;
      engine: StateMachine;
      taskStates: Map<string, State>;
      retriers: Map<string, Retrier[]>;
      /** The errors of its Fail states (any depth): an execution failing with one ended through its own states. */
      failErrors: ReadonlySet<string>;
    }
  >();
  public readonly executions = new Map<string, ExecutionRecord>();
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly aborts = new Map<string, () => void>();
  /** A state output over the limit, seen in the event log after the engine moved on: fails the execution at its next task or end. */
  private readonly pendingFailures = new Map<string, { error: string; cause: string }>();
  public readonly stateFaults: StateFault[] = [];
  /** Executions stopped by StopExecution (not by the run's time limit): they end on the timeline and emit their event. */
  private readonly stopped = new Set<string>();
  /**
   * Per execution, what wakes each of its waits on the clock (a Wait state, a retry interval, a Task's
   * invocation) when StopExecution stops it: the wait ends at once with States.Aborted, holding the clock
   * again, so the execution's end gives back the hold its run took.
   */
  private readonly wakers = new Map<string, Set<(error: Error) => void>>();

  public constructor(
    private readonly world: StepFunctionsContext,
    private readonly lambda: Pick<LambdaService, 'invoke'>,
  ) {}

  /** Engine runs started and not yet finished: counted, as the clock asks after every step. */
  private running = 0;

  public get open(): number {
    return this.running;
  }

  /** Registers a state machine from its ASL document (with `Fn::GetAtt` references, as in the repository). */
  public createStateMachine(name: string, asl: Record<string, unknown>): string {
    // The engine would time the execution out in real time: refuse rather than be kinder.
    if (asl.TimeoutSeconds !== undefined)
      throw new Error('the sandbox does not model an execution TimeoutSeconds on the virtual clock');
    const arn = `arn:aws:states:${this.world.region}:${this.world.account}:stateMachine:${name}`;
    const taskStates = new Map<string, State>();
    const retriers = new Map<string, Retrier[]>();
    const definition = this.prepare(
      cloneData(asl) as unknown as State,
      taskStates,
      retriers,
    ) as unknown as StateMachineDefinition;
    this.machines.set(arn, {
      name,
      engine: engineFor(definition),
      taskStates,
      retriers,
      failErrors: failStateErrors(asl),
    });
    return arn;
  }

  private functionArn(key: string): string {
    return `arn:aws:lambda:${this.world.region}:${this.world.account}:function:shipline-sandbox-${key}`;
  }

  /**
   * Resolves `Fn::GetAtt` like CloudFormation, and rewrites Wait states, waitForTaskToken timeouts and Task
   * Retry for the virtual clock: a Task's retriers are taken out of the definition (the engine would wait
   * with real timers) and applied by its local handler, so retry intervals pass in virtual time. Catch stays
   * with the engine.
   */
  private prepare(node: State, taskStates: Map<string, State>, retriers: Map<string, Retrier[]>): State {
    const resolve = (value: Json): Json => {
      if (Array.isArray(value)) return value.map(resolve);
      if (value && typeof value === 'object') {
        const getAtt = value['Fn::GetAtt'];
        if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return this.functionArn(getAtt[0]);
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
      }
      return value;
    };
    const resolved = resolve(node) as State;
    const states = resolved.States as Record<string, State>;
    for (const [name, state] of Object.entries(states)) {
      // The engine's validator lets through catchers and retriers AWS refuses (and never sees a Task's
      // retriers, applied here): they are checked as CreateStateMachine checks them.
      const problems = [
        ...(state.Catch === undefined ? [] : catcherProblems(state.Catch, `/States/${name}`)),
        ...(state.Retry === undefined ? [] : retrierProblems(state.Retry, `/States/${name}`)),
      ];
      if (problems.length > 0)
        throw new SimulatedAwsError(
          'InvalidDefinition',
          `Invalid State Machine Definition: '${problems.map((p) => `SCHEMA_VALIDATION_FAILED: ${p}`).join(', ')}'`,
        );
      if (state.Type === 'Wait') {
        const problem = waitProblem(name, state);
        if (problem)
          throw new SimulatedAwsError('InvalidDefinition', `Invalid State Machine Definition: '${problem}'`);
        // A Wait until a Timestamp(Path) waits until that moment of the virtual clock (none: at once).
        const seconds: State = state.SecondsPath
          ? { '__wait_seconds.$': state.SecondsPath }
          : state.TimestampPath
            ? { '__wait_until.$': state.TimestampPath }
            : state.Timestamp !== undefined
              ? { __wait_until: state.Timestamp }
              : { __wait_seconds: state.Seconds ?? 0 };
        states[name] = {
          Type: 'Task',
          Resource: 'arn:aws:states:::sandbox:wait',
          Parameters: { ...seconds, '__input.$': '$' },
          TimeoutSeconds: ENGINE_TASK_TIMEOUT_SECONDS,
          ...(state.Next ? { Next: state.Next } : { End: true }),
        };
        taskStates.set(name, states[name] as State);
      } else if (state.Type === 'Task') {
        // The engine ignores HeartbeatSeconds; AWS fails a task whose heartbeat is late with
        // States.HeartbeatTimeout, which a Catch of States.Timeout also matches (Step Functions Developer Guide,
        // "Error names"). Refuse rather than run a definition that would be kinder than AWS.
        if (state.HeartbeatSeconds !== undefined || state.HeartbeatSecondsPath !== undefined)
          throw new Error(
            `the sandbox does not model HeartbeatSeconds on Task state "${name}": AWS would fail it with States.HeartbeatTimeout when no SendTaskHeartbeat arrives in time`,
          );
        if (state.Resource === WAIT_FOR_TOKEN) {
          const params = (state.Parameters ?? {}) as State;
          if (state.TimeoutSecondsPath) {
            params['__timeout_seconds.$'] = state.TimeoutSecondsPath;
            params.__timeout_path = state.TimeoutSecondsPath;
          } else if (state.TimeoutSeconds) params.__timeout_seconds = state.TimeoutSeconds;
          state.Parameters = params;
          delete state.TimeoutSecondsPath;
        } else if (state.TimeoutSeconds !== undefined || state.TimeoutSecondsPath !== undefined) {
          // The engine would time the function out in real time: refuse rather than be kinder.
          throw new Error(
            `the sandbox does not model TimeoutSeconds on Task state "${name}" (only on .waitForTaskToken tasks) on the virtual clock`,
          );
        }
        state.TimeoutSeconds = ENGINE_TASK_TIMEOUT_SECONDS;
        if (state.Retry !== undefined) retriers.set(name, state.Retry as unknown as Retrier[]);
        delete state.Retry;
        taskStates.set(name, state);
      } else if (state.Type === 'Map' || state.Type === 'Parallel') {
        // The engine would wait between retries of these with real timers: refuse rather than be kinder.
        if (state.Retry)
          throw new Error(
            `the sandbox does not model Retry on ${state.Type} state "${name}" on the virtual clock`,
          );
        if (state.Type === 'Map') {
          const processor = (state.ItemProcessor ?? state.Iterator) as State;
          state[state.ItemProcessor ? 'ItemProcessor' : 'Iterator'] = this.prepare(
            processor,
            taskStates,
            retriers,
          );
        } else {
          state.Branches = (state.Branches as State[]).map((branch) =>
            this.prepare(branch, taskStates, retriers),
          );
        }
      }
    }
    return resolved;
  }

  private functionKey(arn: string): string {
    return arn.slice(arn.lastIndexOf(':shipline-sandbox-') + ':shipline-sandbox-'.length);
  }

  private takeFault(state: string): StateFault | undefined {
    const fault = this.stateFaults.find((f) => f.state === state && f.remaining > 0);
    if (fault) fault.remaining -= 1;
    return fault;
  }

  /**
   * The local handler of one Task state: runs an attempt and applies the state's retriers to its errors in
   * virtual time (each retry is on the timeline), as Step Functions would before handing the error to Catch.
   */
  private localHandler(
    execution: ExecutionRecord,
    stateName: string,
    state: State,
    retriers: readonly Retrier[],
  ) {
    return async (input: Json): Promise<Json> => {
      // Counted from zero at each entry into the state, one count per retrier.
      const attempts = retriers.map(() => 0);
      for (;;) {
        try {
          return await this.attempt(execution, stateName, state, input);
        } catch (error) {
          const failure = error as Error;
          if (execution.status !== 'RUNNING') throw failure;
          const retry = decideRetry(retriers, attempts, failure.name, this.world.random);
          if (!retry) throw failure;
          this.world.record(
            'retry',
            `${stateName}: ${failure.name}, retry ${retry.retry} of ${retry.maxAttempts} in ${formatDelay(retry.delayMs)}`,
            execution.name,
          );
          await this.sleep(execution, retry.delayMs / 1000);
          if (execution.status !== 'RUNNING') throw failure;
        }
      }
    };
  }

  /**
   * Blocks a state of `execution` on the clock until `executor` settles it, or StopExecution stops the
   * execution (the wait then ends at once with States.Aborted). `executor` returns what undoes what it set
   * in motion (a timer) when the wait ends early.
   */
  private blockExecution<T>(
    execution: ExecutionRecord,
    executor: (resolve: (value: T) => void, reject: (error: Error) => void) => () => void,
  ): Promise<T> {
    const arn = execution.executionArn;
    return this.world.clock.block<T>((resolve, reject) => {
      let wakers = this.wakers.get(arn);
      if (!wakers) {
        wakers = new Set();
        this.wakers.set(arn, wakers);
      }
      const own = wakers;
      let undo = (): void => undefined;
      const wake = (error: Error): void => {
        own.delete(wake);
        undo();
        reject(error);
      };
      own.add(wake);
      undo = executor(
        (value) => {
          own.delete(wake);
          resolve(value);
        },
        (error) => {
          own.delete(wake);
          reject(error);
        },
      );
    });
  }

  /** Sleeps on the clock for a state of `execution` (a Wait state, a retry interval); StopExecution wakes it. */
  private sleep(execution: ExecutionRecord, seconds: number): Promise<void> {
    const clock = this.world.clock;
    return this.blockExecution<void>(execution, (resolve) =>
      clock.schedule(clock.nowMillis + seconds * 1000, () => resolve()),
    );
  }

  /**
   * A Task's Lambda invocation. The invocation holds the clock on its own: StopExecution ends the execution's
   * wait for it at once, while the invocation runs on to its end and its result is discarded, as on AWS
   * (StopExecution ends no running Lambda invocation; the task's result reaches a stopped execution).
   */
  private invokeTask(execution: ExecutionRecord, key: string, input: Json): Promise<Json> {
    const clock = this.world.clock;
    clock.hold();
    const invocation = (async () => {
      try {
        return (await this.lambda.invoke(key, input)) as Json;
      } finally {
        clock.release();
      }
    })();
    return this.blockExecution<Json>(execution, (resolve, reject) => {
      invocation.then(resolve, reject);
      return () => undefined;
    });
  }

  /**
   * Emits "Step Functions Execution Status Change" on the default bus, in the shape the Step Functions
   * Developer Guide documents ("Step Functions events" / EventBridge integration): the execution's ARN,
   * its state machine's, name, status, start and stop dates as epoch milliseconds, input (with
   * `inputDetails.included`), output, error and cause. AWS delivers these events best effort
   * (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-states.html); the world's EventBridge
   * adds its latency, at-least-once delivery and the scenario's event faults.
   */
  private emitStatusChange(execution: ExecutionRecord): void {
    // The event must fit EventBridge's 256 KB: input and output too large for it are left out, as
    // `inputDetails.included: false` says.
    const included =
      utf8Bytes(execution.input) + utf8Bytes(execution.output ?? '') <= STATUS_EVENT_DATA_BYTES;
    this.world.emitEvent(
      'aws.states',
      'Step Functions Execution Status Change',
      [execution.executionArn],
      {
        executionArn: execution.executionArn,
        stateMachineArn: execution.stateMachineArn,
        name: execution.name,
        status: execution.status,
        startDate: execution.startDate.getTime(),
        stopDate: execution.stopDate ? execution.stopDate.getTime() : null,
        input: included ? execution.input : null,
        output: included ? (execution.output ?? null) : null,
        inputDetails: { included },
        outputDetails: execution.output === undefined ? null : { included },
        ...(execution.error !== undefined ? { error: execution.error, cause: execution.cause ?? null } : {}),
      },
      statusEventId(execution),
    );
  }

  /**
   * Counts the execution in its state machine's AWS/States metric (dimension StateMachineArn), as Step
   * Functions publishes ExecutionsStarted, ExecutionsSucceeded, ExecutionsFailed, ExecutionsAborted and
   * ExecutionsTimedOut ("Step Functions metrics", Monitoring Step Functions metrics using Amazon CloudWatch).
   * Unlike the status-change event (best effort), these counts are what CloudWatch alarms read.
   */
  private countExecution(execution: ExecutionRecord, metric: string | undefined, awaitActions = false): void {
    if (metric === undefined) return;
    this.world.putAwsMetric(
      'AWS/States',
      metric,
      [{ Name: 'StateMachineArn', Value: execution.stateMachineArn }],
      1,
      awaitActions,
    );
  }

  /**
   * StopExecution, as a person (or an operator's script) calls it: a RUNNING execution ends ABORTED at once,
   * whatever state it is in (a Task, a Wait state, a retry interval, a `.waitForTaskToken` wait), with the
   * error and cause given, and runs no further state. Its pending task tokens are closed (SendTaskSuccess,
   * SendTaskFailure and SendTaskHeartbeat then answer TaskTimedOut: "the task associated with the token has
   * already been closed", Step Functions API reference, TaskTimedOut); a Task's Lambda invocation already
   * under way runs on to its end, its result discarded. Stopping an execution that already ended changes
   * nothing and answers its stop date.
   */
  public stopExecution(executionArn: string, error?: string, cause?: string): { stopDate: Date } {
    const execution = [...this.executions.values()].find((e) => e.executionArn === executionArn);
    if (!execution)
      throw new SimulatedAwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    if (execution.status !== 'RUNNING') return { stopDate: execution.stopDate ?? this.world.clock.now() };
    execution.status = 'ABORTED';
    if (error !== undefined) execution.error = error;
    if (cause !== undefined) execution.cause = cause;
    this.stopped.add(executionArn);
    // A task blocked on its token holds the clock again as it is woken: the execution's run then holds
    // it, as when it runs a task, and its end below releases it.
    for (const entry of this.tokens.values()) {
      if (entry.execution !== executionArn || entry.done || !entry.settle) continue;
      entry.done = true;
      entry.settle.reject(named('States.Aborted', 'the execution was stopped'));
    }
    // Every other wait of the execution (a Wait state, a retry interval, a running Task) ends now, holding
    // the clock again as it wakes, before the engine is aborted: nothing it waited for resumes it later.
    for (const wake of [...(this.wakers.get(executionArn) ?? [])])
      wake(named('States.Aborted', 'the execution was stopped'));
    this.aborts.get(executionArn)?.();
    return { stopDate: this.world.clock.now() };
  }

  /** One attempt of a Task state. */
  private async attempt(
    execution: ExecutionRecord,
    stateName: string,
    state: State,
    input: Json,
  ): Promise<Json> {
    const pending = this.pendingFailures.get(execution.executionArn);
    if (pending) {
      this.failTerminally(execution, pending.error, pending.cause);
      throw named(pending.error, pending.cause);
    }
    const fault = this.takeFault(stateName);
    if (fault) {
      this.world.record('fault', `${stateName}: injected ${fault.error}`);
      throw named(fault.error, fault.cause);
    }
    const resource = String(state.Resource);
    if (resource === 'arn:aws:states:::sandbox:wait') {
      const params = input as State;
      const timestamp = params.__wait_until;
      // Step Functions "considers the time value up to seconds and truncates milliseconds" ("Wait state").
      const until =
        timestamp === undefined
          ? undefined
          : typeof timestamp === 'string' && ASL_TIMESTAMP.test(timestamp)
            ? Math.floor(Date.parse(timestamp) / 1000) * 1000
            : Number.NaN;
      if (until !== undefined && Number.isNaN(until))
        throw named(
          'States.Runtime',
          `The Wait state "${stateName}" was given "${String(params.__wait_until)}", not an RFC 3339 timestamp`,
        );
      // A SecondsPath must select an integer number of seconds (a static Seconds was checked at creation).
      if (until === undefined && !isWaitSeconds(params.__wait_seconds))
        throw named(
          'States.Runtime',
          `The Wait state "${stateName}" was given ${JSON.stringify(params.__wait_seconds) ?? 'nothing'} from its SecondsPath, not an integer number of seconds from 0 to ${MAX_WAIT_SECONDS}`,
        );
      const seconds =
        until === undefined
          ? (params.__wait_seconds as number)
          : Math.max(0, (until - this.world.clock.nowMillis) / 1000);
      await this.sleep(execution, seconds);
      return params.__input ?? null;
    }
    if (resource === WAIT_FOR_TOKEN) return this.awaitToken(execution, stateName, input as State);
    const result = await this.invokeTask(execution, this.functionKey(resource), input);
    return this.withinLimit(execution, resource, result);
  }

  /**
   * A `.waitForTaskToken` task: invokes the function with a fresh token, then waits for SendTaskSuccess or
   * SendTaskFailure. TimeoutSeconds counts from the task's start (TaskStarted), so the invocation's own
   * duration counts: if it runs past the timeout the task fails with States.Timeout at that moment, while
   * the invocation finishes in the background and its late token is refused (TaskTimedOut). A token
   * answered while the invocation still runs completes the task at once.
   */
  private awaitToken(execution: ExecutionRecord, stateName: string, input: State): Promise<Json> {
    const clock = this.world.clock;
    const { __timeout_seconds: timeout, __timeout_path: timeoutPath, FunctionName, Payload } = input;
    // "When resolved, the path must select a field whose value is a positive integer" (Task state,
    // TimeoutSecondsPath); AWS fails the execution with States.Runtime, which no Catch handles (not even
    // States.ALL: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
    if (typeof timeoutPath === 'string' && !(Number.isInteger(timeout) && Number(timeout) >= 1)) {
      const cause = `TimeoutSecondsPath '${timeoutPath}' resolved to ${JSON.stringify(timeout)} in state '${stateName}': it must select a positive integer`;
      this.failTerminally(execution, 'States.Runtime', cause);
      return Promise.reject(named('States.Runtime', cause));
    }
    const token = `${execution.name}:${stateName}:${this.world.random.uuid()}`;
    const entry: TokenEntry = { execution: execution.executionArn, state: stateName, done: false };
    this.tokens.set(token, entry);
    const payload = JSON.parse(JSON.stringify(Payload ?? {}).replaceAll(TOKEN_PLACEHOLDER, token)) as Json;
    // The invocation holds the clock on its own, so the task can time out while it still runs.
    clock.hold();
    const invocation = (async () => {
      try {
        await this.lambda.invoke(this.functionKey(String(FunctionName)), payload);
      } finally {
        clock.release();
      }
    })();
    return clock.block<Json>((resolve, reject) => {
      const cancel =
        typeof timeout === 'number'
          ? clock.schedule(clock.nowMillis + timeout * 1000, () => {
              if (entry.done) return;
              entry.done = true;
              reject(named('States.Timeout', 'States.Timeout'));
            })
          : () => undefined;
      const settle = {
        resolve: (value: Json) => {
          cancel();
          resolve(value);
        },
        reject: (error: Error) => {
          cancel();
          reject(error);
        },
      };
      if (entry.early) {
        if (entry.early.ok) settle.resolve(entry.early.value);
        else settle.reject(entry.early.error);
      } else entry.settle = settle;
      // A failed invocation fails the task, unless its token was already answered or timed out.
      invocation.catch((error: unknown) => {
        if (entry.done) return;
        entry.done = true;
        settle.reject(error as Error);
      });
    });
  }

  /**
   * A task result over 256 KB fails the execution with States.DataLimitExceeded, a terminal error that no
   * Retry or Catch (not even States.ALL) handles, as on AWS; the engine is stopped so no further state runs.
   */
  private withinLimit(execution: ExecutionRecord, state: string, result: Json): Json {
    if (utf8Bytes(JSON.stringify(result ?? null)) <= MAX_PAYLOAD_BYTES) return result;
    this.failTerminally(execution, 'States.DataLimitExceeded', dataLimitCause(state));
    throw named('States.DataLimitExceeded', dataLimitCause(state));
  }

  private failTerminally(execution: ExecutionRecord, error: string, cause: string): void {
    if (execution.status !== 'RUNNING') return;
    execution.status = 'FAILED';
    execution.error = error;
    execution.cause = cause;
    this.aborts.get(execution.executionArn)?.();
  }

  private start(machineArn: string, name: string, input: string): ExecutionRecord {
    const machine = this.machines.get(machineArn);
    if (!machine)
      throw new SimulatedAwsError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${machineArn}'`,
      );
    const startDate = this.world.clock.now();
    const execution: ExecutionRecord = {
      executionArn: `${machineArn.replace(':stateMachine:', ':execution:')}:${name}`,
      name,
      stateMachineArn: machineArn,
      input,
      status: 'RUNNING',
      startDate,
      stateEntered: 0,
      history: [],
    };
    this.executions.set(`${machineArn}|${name}`, execution);
    const overrides = {
      taskResourceLocalHandlers: Object.fromEntries(
        [...machine.taskStates].map(([stateName, state]) => [
          stateName,
          this.localHandler(execution, stateName, state, machine.retriers.get(stateName) ?? []),
        ]),
      ),
    };
    // Held before the engine starts: it runs the first state synchronously, and a Wait there releases the clock.
    this.world.clock.hold();
    this.running += 1;
    // The execution outlives the call that started it: it is no invocation's work, even when a handler's
    // StartExecution started it (its waits go on after that invocation answers).
    const run = outsideInvocationWork(() =>
      machine.engine.run(JSON.parse(input) as Json, {
        overrides,
        context: {
          Execution: {
            Id: execution.executionArn,
            Name: name,
            StartTime: startDate.toISOString(),
            RoleArn: 'arn:aws:iam::123456789012:role/sandbox',
          },
          StateMachine: { Id: machineArn, Name: machine.name },
          Task: { Token: TOKEN_PLACEHOLDER },
        },
      }),
    );
    this.aborts.set(execution.executionArn, run.abort);
    this.countExecution(execution, 'ExecutionsStarted');
    this.emitStatusChange(execution);
    void (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered') {
          execution.stateEntered += 1;
          execution.history.push({
            at: this.world.clock.nowMillis,
            state: event.state.name,
            type: event.state.type,
          });
          this.world.record('state', event.state.name, execution.name);
        } else if (
          event.type === 'StateExited' &&
          utf8Bytes(JSON.stringify(event.state.output ?? null)) > MAX_PAYLOAD_BYTES &&
          !this.pendingFailures.has(execution.executionArn)
        ) {
          // The engine may already run the next state (possibly blocked on the clock, so it cannot be
          // aborted here without unbalancing the clock): the failure lands at its next task or its end.
          this.pendingFailures.set(execution.executionArn, {
            error: 'States.DataLimitExceeded',
            cause: dataLimitCause(event.state.name),
          });
        }
      }
    })();
    /** A limit the event log saw exceeded fails the execution as AWS would, whatever the engine returned. */
    const failPending = (): boolean => {
      const pending = this.pendingFailures.get(execution.executionArn);
      if (!pending) return false;
      execution.status = 'FAILED';
      execution.error = pending.error;
      execution.cause = pending.cause;
      return true;
    };
    run.result
      .then((output) => {
        if (execution.status !== 'RUNNING' || failPending()) return;
        execution.status = 'SUCCEEDED';
        execution.output = JSON.stringify(output);
      })
      .catch((error: unknown) => {
        if (execution.status !== 'RUNNING' || failPending()) return;
        const cause =
          error instanceof ExecutionError && error.cause instanceof Error ? error.cause : (error as Error);
        execution.status = 'FAILED';
        execution.error = cause.name;
        execution.cause = cause.message;
      })
      .finally(() => {
        this.running -= 1;
        this.aborts.delete(execution.executionArn);
        this.pendingFailures.delete(execution.executionArn);
        this.wakers.delete(execution.executionArn);
        // Stopped by the run's time limit: the world ends, nothing more happens in it.
        if (execution.status === 'ABORTED' && !this.stopped.has(execution.executionArn)) return;
        execution.stopDate = this.world.clock.now();
        this.world.record(
          'execution',
          `${execution.status}${execution.error ? ` ${execution.error}: ${execution.cause}` : ''}`,
          execution.name,
        );
        // An end through the machine's own Succeed or Fail states was handled by its own states: the run
        // does not wait to watch an alarm on the count act on it (it would find nothing to do).
        const ownEnd =
          execution.status === 'SUCCEEDED' ||
          (execution.status === 'FAILED' && machine.failErrors.has(execution.error ?? ''));
        this.countExecution(execution, ENDED_METRICS[execution.status], !ownEnd);
        this.emitStatusChange(execution);
        this.world.clock.release();
      });
    return execution;
  }

  /**
   * Stops every execution still running when a scenario reaches its time limit (as StopExecution would):
   * they end ABORTED and run no further state.
   */
  public abortOpen(reason: string): void {
    for (const execution of this.executions.values()) {
      if (execution.status !== 'RUNNING') continue;
      execution.status = 'ABORTED';
      execution.error = 'SandboxTimeLimit';
      execution.cause = reason;
      execution.stopDate = this.world.clock.now();
      this.world.record('execution', `ABORTED: ${reason}`, execution.name);
      this.aborts.get(execution.executionArn)?.();
    }
  }

  private complete(token: unknown, outcome: { ok: true; value: Json } | { ok: false; error: Error }): void {
    const entry = this.tokens.get(String(token));
    if (!entry) throw new SimulatedAwsError('InvalidToken', 'Invalid token');
    if (entry.done) throw new SimulatedAwsError('TaskTimedOut', 'Task Timed Out');
    entry.done = true;
    if (!entry.settle) {
      entry.early = outcome;
      return;
    }
    if (outcome.ok) entry.settle.resolve(outcome.value);
    else entry.settle.reject(outcome.error);
  }

  private describe(execution: ExecutionRecord) {
    return {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate,
      ...(execution.stopDate ? { stopDate: execution.stopDate } : {}),
      input: execution.input,
      ...(execution.output ? { output: execution.output } : {}),
      ...(execution.error ? { error: execution.error, cause: execution.cause } : {}),
    };
  }

  /**
   * ListExecutions as the Step Functions API reference describes it: the state machine's executions (it must
   * exist: StateMachineDoesNotExist), only those in `statusFilter`'s status when given (RUNNING, SUCCEEDED,
   * FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE), "sorted by time, with the most recent execution first"
   * (start time), `maxResults` a page (0 to 1000, 0 or none meaning the default of 100), and a `nextToken`
   * while more remain; a token this list did not give is InvalidToken. The sandbox's token is the position
   * in the list (AWS's is opaque).
   */
  private listExecutions(input: Record<string, unknown>): unknown {
    const machineArn = String(input.stateMachineArn ?? '');
    if (!this.machines.has(machineArn))
      throw new SimulatedAwsError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${machineArn}'`,
      );
    const status = input.statusFilter;
    if (status !== undefined && !LIST_STATUSES.has(String(status)))
      throw new SimulatedAwsError(
        'ValidationException',
        `1 validation error detected: Value '${String(status)}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${[...LIST_STATUSES].join(', ')}]`,
      );
    const requested = input.maxResults === undefined ? 0 : Number(input.maxResults);
    if (!Number.isInteger(requested) || requested < 0 || requested > 1000)
      throw new SimulatedAwsError(
        'ValidationException',
        `1 validation error detected: Value '${String(input.maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`,
      );
    const pageSize = requested === 0 ? 100 : requested;
    let from = 0;
    if (input.nextToken !== undefined) {
      const match = /^sandbox-page:(\d+)$/.exec(String(input.nextToken));
      if (!match) throw new SimulatedAwsError('InvalidToken', `Invalid Token: '${String(input.nextToken)}'`);
      from = Number(match[1]);
    }
    const list = [...this.executions.values()]
      .filter((e) => e.stateMachineArn === machineArn && (status === undefined || e.status === status))
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
    const page = list.slice(from, from + pageSize).map((e) => ({
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      ...(e.stopDate ? { stopDate: e.stopDate } : {}),
    }));
    return {
      executions: page,
      ...(from + pageSize < list.length ? { nextToken: `sandbox-page:${from + pageSize}` } : {}),
    };
  }

  public handle(command: string, input: Record<string, unknown>): unknown {
    switch (command) {
      case 'StartExecution': {
        const machineArn = String(input.stateMachineArn);
        const name = input.name === undefined ? this.world.random.uuid() : String(input.name);
        if (!NAME_PATTERN.test(name)) throw new SimulatedAwsError('InvalidName', `Invalid Name: '${name}'`);
        const body = input.input === undefined ? '{}' : String(input.input);
        if (utf8Bytes(body) > MAX_PAYLOAD_BYTES) throw tooLong('input');
        try {
          JSON.parse(body);
        } catch {
          throw new SimulatedAwsError('InvalidExecutionInput', 'Invalid execution input: not JSON');
        }
        const existing = this.executions.get(`${machineArn}|${name}`);
        if (existing) {
          // AWS: same name, still open, same input -> the existing execution (idempotent start).
          if (existing.status === 'RUNNING' && existing.input === body) {
            return { executionArn: existing.executionArn, startDate: existing.startDate };
          }
          throw new SimulatedAwsError(
            'ExecutionAlreadyExists',
            `Execution Already Exists: '${existing.executionArn}'`,
          );
        }
        const execution = this.start(machineArn, name, body);
        return { executionArn: execution.executionArn, startDate: execution.startDate };
      }
      case 'DescribeExecution': {
        const execution = [...this.executions.values()].find((e) => e.executionArn === input.executionArn);
        if (!execution)
          throw new SimulatedAwsError(
            'ExecutionDoesNotExist',
            `Execution Does Not Exist: '${String(input.executionArn)}'`,
          );
        return this.describe(execution);
      }
      case 'ListExecutions':
        return this.listExecutions(input);
      case 'SendTaskSuccess': {
        if (utf8Bytes(String(input.output ?? '')) > MAX_PAYLOAD_BYTES) throw tooLong('output');
        let output: Json;
        try {
          output = JSON.parse(String(input.output)) as Json;
        } catch {
          throw new SimulatedAwsError('InvalidOutput', 'Invalid output: not JSON');
        }
        this.complete(input.taskToken, { ok: true, value: output });
        return {};
      }
      case 'SendTaskFailure':
        this.complete(input.taskToken, {
          ok: false,
          error: named(String(input.error ?? ''), String(input.cause ?? '')),
        });
        return {};
      case 'StopExecution':
        return this.stopExecution(
          String(input.executionArn),
          input.error === undefined ? undefined : String(input.error),
          input.cause === undefined ? undefined : String(input.cause),
        );
      case 'SendTaskHeartbeat': {
        const entry = this.tokens.get(String(input.taskToken));
        if (!entry) throw new SimulatedAwsError('InvalidToken', 'Invalid token');
        if (entry.done) throw new SimulatedAwsError('TaskTimedOut', 'Task Timed Out');
        return {};
      }
      default:
        return undefined;
    }
  }
}
