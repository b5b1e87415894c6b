import type { z } from 'zod';
import { describeIssues } from '../config/issues.ts';
import { InvalidInputError } from '../errors.ts';

/** Validates handler input against a schema; the error names every bad field by path. */
export const parseInput = <S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> => {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new InvalidInputError(`${what} is malformed: ${describeIssues(result.error).join('; ')}`);
  }
  return result.data;
};
