import * as z from 'zod/mini';
import {
  caughtFailureSchema,
  deploymentSchema,
  executionRefSchema,
  releaseRequestSchema,
  stepCursorSchema,
} from '../../lib/domain/schemas.ts';
import { REPORT_KINDS } from '../../lib/use-cases/finish-release.ts';

/** What the report states send, to "report" and, when reporting failed, to "record-lost-notification". */
export const reportInputSchema = z.extend(executionRefSchema, {
  kind: z.enum(REPORT_KINDS),
  request: releaseRequestSchema,
  deployment: z.optional(deploymentSchema),
  /** A failed rollback's: the step the release was rolling back from. */
  cursor: z.optional(stepCursorSchema),
  failure: z.optional(caughtFailureSchema),
  rolledBackBecause: z.optional(caughtFailureSchema),
  supersededBy: z.optional(z.string()),
});
