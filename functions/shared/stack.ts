import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { $ZodType, output } from 'zod/v4/core';
import { environment } from '../../lib/env.ts';
import { asError, isTransientAwsError, TransientAwsError } from '../../lib/errors.ts';
import { parseInput } from '../../lib/events/parse.ts';
import { perEnvironment } from '../../lib/per-environment.ts';

/** One logger per function, structured JSON, with the Lambda context on every line. */
export const logger = new Logger({
  serviceName: 'shipline',
  logLevel: environment.logLevel() as 'INFO',
});

/**
 * Validates the event against the handler's schema before the handler runs; the error names each bad field.
 * A schema given as a function is built on the first invocation, not at import (see shiplineHandler).
 */
const validateInput = <S extends $ZodType>(
  schema: S | (() => S),
  what: string,
): MiddlewareObj<unknown, unknown> => {
  let built: S | undefined;
  return {
    before: (request) => {
      built ??= typeof schema === 'function' ? schema() : schema;
      request.event = parseInput(built, request.event, what);
    },
  };
};

/**
 * Logs every fault once, with its name (the state machine routes on it), and rethrows. Throttling and
 * server-side AWS errors are rethrown as TransientAwsError, which every Task state retries.
 */
const logFaults = (): MiddlewareObj<unknown, unknown> => ({
  onError: (request) => {
    const error = asError(request.error);
    logger.error('handler failed', { errorName: error.name, error });
    if (isTransientAwsError(error)) {
      request.error = new TransientAwsError(`${error.name}: ${error.message}`, { cause: error });
    }
  },
});

/**
 * Middy's own answer when a handler runs out of time (@middy/core's default `timeoutEarlyResponse`, which
 * it does not export): the same error, so a stack with work to do before it answers fails as any other.
 */
const middyTimeoutError = (): Error => {
  const error = new Error('[AbortError]: The operation was aborted.', { cause: { package: '@middy/core' } });
  error.name = 'TimeoutError';
  return error;
};

/** Middy's default `timeoutEarlyInMillis`: it answers 5 ms before Lambda's timeout. */
const MIDDY_TIMEOUT_EARLY_MS = 5;

/** What a handler body may ask of its invocation. */
export interface Invocation {
  /**
   * Registers work to run if the invocation runs out of time: when the handler has not answered
   * `timeoutEarlyInMillis` before Lambda's timeout, middy stops waiting for it, runs this work (the
   * handler's own strand is left where it is: on AWS it is frozen with the environment once the invocation
   * answers, so its `finally` would never run), then answers with its TimeoutError as it always does.
   */
  beforeTimeout(work: () => Promise<void>): void;
}

/** Options of a function's middy stack. */
export interface HandlerOptions {
  /**
   * How long before Lambda's timeout middy stops waiting for the handler (default 5 ms, middy's): time
   * enough for the work the body registers with `beforeTimeout`.
   */
  timeoutEarlyInMillis?: number;
}

/**
 * The one middy stack every Shipline function uses: Powertools logger context, input validation,
 * fault logging. The handler body receives the validated input and returns plain JSON. `schema` may be
 * a function that builds it: then it is built on the first invocation, so importing the function (its
 * cold start's init) builds no zod schema. Middy answers with its TimeoutError `timeoutEarlyInMillis`
 * before Lambda's timeout, after the work the body registered with `beforeTimeout`.
 */
export const shiplineHandler = <S extends $ZodType, R>(
  name: string,
  schema: S | (() => S),
  body: (input: output<S>, context: Context, invocation: Invocation) => Promise<R>,
  options: HandlerOptions = {},
) => {
  // The invocation running in this execution environment (Lambda runs one at a time in each): what it
  // registered for its timeout. Middy's timeout response is one function for every invocation.
  const running = perEnvironment(() => ({ beforeTimeout: [] as Array<() => Promise<void>> }));
  return middy<unknown, R, Error, Context>({
    timeoutEarlyInMillis: options.timeoutEarlyInMillis ?? MIDDY_TIMEOUT_EARLY_MS,
    timeoutEarlyResponse: async () => {
      const works = running().beforeTimeout.splice(0);
      // Each is best effort: one that fails (it logs its own failure) does not stop the others.
      await Promise.allSettled(works.map((work) => work()));
      throw middyTimeoutError();
    },
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logFaults())
    .use(validateInput(schema, `${name} input`))
    .handler(async (event, context) => {
      logger.appendKeys({ function: name });
      const invocation = running();
      invocation.beforeTimeout = [];
      return body(event as output<S>, context, {
        beforeTimeout: (work) => {
          invocation.beforeTimeout.push(work);
        },
      });
    });
};
