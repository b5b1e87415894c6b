import { Uint8ArrayBlobAdapter } from '@smithy/core/serde';
import { currentFunction } from '../iam/enforce.ts';
import { cloneData } from './clone.ts';
import { SimulatedAwsError } from './errors.ts';
import type { AwsServiceContext } from './services.ts';
import { sleepMs, type Timing } from './timing.ts';

/** A user's smoke-test function as the scenario declares it (`world.functions.<name>`). */
export interface UserFunction {
  name: string;
  /** The scenario service whose version it tests: the answer depends on the version it reaches. */
  service: string;
  /** The payload the function returns per version it reaches, e.g. `{ passed: false, reason: '...' }`. */
  answers: Record<string, Record<string, unknown>>;
  /** The payload for a version `answers` does not list. */
  otherwise: Record<string, unknown>;
  /** The function throws: Lambda answers 200 with FunctionError Unhandled and this error as the payload. */
  error?: { errorType: string; errorMessage: string };
  /** How long one invocation runs (init included), in ms. */
  durationMs: number;
  /** The function's configured timeout, in seconds (Lambda's default is 3). */
  timeoutSeconds: number;
}

/** What the functions read from the world: the clock, and which version a service's tested route reaches. */
export interface LambdaFunctionsContext extends AwsServiceContext {
  readonly timing: Timing;
  /** The version one request to the service's test route (or, with none, its production route) reaches. */
  versionReachedBy(service: string): string | undefined;
}

/** Lambda's limit on a synchronous invocation's request payload: 6 MB (Lambda quotas, "Invocation payload"). */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** An Invoke request's Payload as text: the SDK sends bytes, a hand-built input may hold a string. */
export const payloadText = (raw: unknown): string =>
  raw === undefined ? '' : typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8');

/**
 * Lambda for the user's functions (smoke tests the pipeline invokes): `Invoke` with RequestResponse (the
 * default), Event or DryRun, as the Lambda API reference describes it. A function's answer depends on the
 * version it reaches when it runs: the version one request to its service's test route reaches (the route the
 * function exercises), or its production route when the service has no test route. Keying the answer on the
 * version the payload names instead would let a function pass a version that never answered its requests.
 */
export class SimulatedLambdaFunctions {
  public readonly functions = new Map<string, UserFunction>();
  /** Every invocation as Lambda ran it, for the tests and the timeline. */
  public readonly invocations: Array<{
    at: number;
    name: string;
    version?: string;
    payload: unknown;
    result: string;
  }> = [];

  public constructor(private readonly world: LambdaFunctionsContext) {}

  public arnOf(name: string): string {
    return `arn:aws:lambda:${this.world.region}:${this.world.account}:function:${name}`;
  }

  /**
   * The function a FunctionName names (a name, `name:qualifier`, a partial ARN `account:function:name` or a
   * full ARN) and its qualifier; only unqualified and `$LATEST` are published here.
   */
  private resolve(functionName: string, qualifier: unknown): UserFunction {
    const text = String(functionName);
    const match =
      /^(?:arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):)?(?:(\d{12}):function:)?([a-zA-Z0-9_-]{1,64})(?::([a-zA-Z0-9$_-]+))?$/.exec(
        text,
      );
    if (!match)
      throw new SimulatedAwsError(
        'ValidationException',
        `1 validation error detected: Value '${text}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern`,
      );
    const [, region, account, name = '', nameQualifier] = match;
    const version = nameQualifier ?? (qualifier === undefined ? undefined : String(qualifier));
    const qualified = `${this.arnOf(name)}${version ? `:${version}` : ''}`;
    const notFound = () =>
      new SimulatedAwsError('ResourceNotFoundException', `Function not found: ${qualified}`, { status: 404 });
    if ((region && region !== this.world.region) || (account && account !== this.world.account))
      throw notFound();
    const fn = this.functions.get(name);
    if (!fn || (version !== undefined && version !== '$LATEST')) throw notFound();
    return fn;
  }

  public handle(command: string, input: Record<string, unknown>): unknown {
    if (command !== 'Invoke') return undefined;
    const fn = this.resolve(String(input.FunctionName), input.Qualifier);
    const type = String(input.InvocationType ?? 'RequestResponse');
    if (!['RequestResponse', 'Event', 'DryRun'].includes(type))
      throw new SimulatedAwsError(
        'ValidationException',
        `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
      );
    const text = payloadText(input.Payload);
    if (Buffer.byteLength(text, 'utf8') > MAX_SYNC_PAYLOAD_BYTES && type === 'RequestResponse')
      throw new SimulatedAwsError(
        'RequestTooLargeException',
        `Request must be smaller than ${MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
        { status: 413 },
      );
    let payload: unknown = null;
    if (text !== '') {
      try {
        payload = JSON.parse(text);
      } catch {
        throw new SimulatedAwsError(
          'InvalidRequestContentException',
          'Could not parse request body into json: the payload is not valid JSON',
        );
      }
    }
    if (type === 'DryRun') return { StatusCode: 204 };
    if (type === 'Event') {
      this.run(fn, payload);
      return { StatusCode: 202, Payload: Uint8ArrayBlobAdapter.fromString('') };
    }
    return this.invoke(fn, payload);
  }

  /** The invocation's outcome, decided when it starts (the version its first request reaches). */
  private run(fn: UserFunction, payload: unknown): { result: Record<string, unknown>; unhandled: boolean } {
    const version = this.world.versionReachedBy(fn.service);
    const timedOut = fn.durationMs > fn.timeoutSeconds * 1000;
    const result: Record<string, unknown> = timedOut
      ? {
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${this.world.random.uuid()} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
        }
      : fn.error
        ? { errorType: fn.error.errorType, errorMessage: fn.error.errorMessage, trace: [] }
        : cloneData((version !== undefined ? fn.answers[version] : undefined) ?? fn.otherwise);
    const unhandled = timedOut || fn.error !== undefined;
    this.invocations.push({
      at: this.world.clock.nowMillis,
      name: fn.name,
      ...(version ? { version } : {}),
      payload,
      result: JSON.stringify(result),
    });
    this.world.record(
      'lambda',
      `${fn.name} invoked (reaches ${version ?? 'no version'}): ${unhandled ? `FunctionError Unhandled ${String(result.errorType)}` : JSON.stringify(result)}`,
    );
    return { result, unhandled };
  }

  /**
   * A synchronous invocation: the caller waits the function's run time (at most its timeout) in virtual
   * time. A function error is no API error: Lambda answers 200 with `FunctionError: 'Unhandled'` and the
   * error object as the payload (API reference, Invoke: "If the function throws an error, Lambda returns
   * ... FunctionError"). A run time beyond the caller's own timeout is the caller's problem.
   */
  private async invoke(fn: UserFunction, payload: unknown): Promise<Record<string, unknown>> {
    const { result, unhandled } = this.run(fn, payload);
    // Only a caller holding the clock (a function's invocation) can wait in virtual time.
    if (currentFunction.getStore() !== undefined)
      await sleepMs(this.world.clock, Math.min(fn.durationMs, fn.timeoutSeconds * 1000));
    return {
      StatusCode: 200,
      ExecutedVersion: '$LATEST',
      ...(unhandled ? { FunctionError: 'Unhandled' } : {}),
      Payload: Uint8ArrayBlobAdapter.fromString(JSON.stringify(result)),
    };
  }
}
