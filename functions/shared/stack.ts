import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { $ZodType, output } from 'zod/v4/core';
import { environment } from '../../lib/env.ts';
import { asError, isTransientAwsError, TransientAwsError } from '../../lib/errors.ts';
import { parseInput } from '../../lib/events/parse.ts';

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
 * The one middy stack every Shipline function uses: Powertools logger context, input validation,
 * fault logging. The handler body receives the validated input and returns plain JSON. `schema` may be
 * a function that builds it: then it is built on the first invocation, so importing the function (its
 * cold start's init) builds no zod schema.
 */
export const shiplineHandler = <S extends $ZodType, R>(
  name: string,
  schema: S | (() => S),
  body: (input: output<S>, context: Context) => Promise<R>,
) =>
  middy<unknown, R, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logFaults())
    .use(validateInput(schema, `${name} input`))
    .handler(async (event, context) => {
      logger.appendKeys({ function: name });
      return body(event as output<S>, context);
    });
