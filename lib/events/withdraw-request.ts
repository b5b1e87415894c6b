import * as z from 'zod/mini';
import { actorSchema } from '../domain/schemas.ts';

/**
 * A person's withdrawal of a push queued as data (`shipline abort` of a queued push), as the CLI invokes
 * the trigger function with it: the trigger has the config and the topics the withdrawal tells.
 */
export const withdrawRequestSchema = z.strictObject({
  withdraw: z.strictObject({
    service: z.string().check(z.minLength(1), z.maxLength(256, 'expected at most 256 characters')),
    // An execution name: at most 80 characters (Step Functions).
    releaseId: z.string().check(z.minLength(1), z.maxLength(80, 'expected at most 80 characters')),
    reason: z
      .string()
      .check(
        z.trim(),
        z.minLength(1, 'expected why: the record and the notification name it'),
        z.maxLength(1024, 'expected at most 1024 characters'),
      ),
    actor: actorSchema,
  }),
});

export type WithdrawRequestEvent = z.output<typeof withdrawRequestSchema>;

/** True when the trigger was invoked with a withdrawal (an object with a `withdraw` field), not a push. */
export const looksLikeWithdrawal = (input: unknown): boolean =>
  typeof input === 'object' && input !== null && 'withdraw' in input;
