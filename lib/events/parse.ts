import * as z from 'zod/mini';
import type { $ZodType, output } from 'zod/v4/core';
import { describeIssues } from '../config/issues.ts';
import { InvalidInputError } from '../errors.ts';

/**
 * Validates handler input against a schema; the error names every bad field by path. Handler schemas
 * use `zod/mini`, which tree-shakes to a few KB of the Lambda bundles.
 */
export const parseInput = <S extends $ZodType>(schema: S, input: unknown, what: string): output<S> => {
  const result = z.safeParse(schema, input);
  if (!result.success) {
    throw new InvalidInputError(`${what} is malformed: ${describeIssues(result.error).join('; ')}`);
  }
  return result.data;
};
