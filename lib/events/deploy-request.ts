import * as z from 'zod/mini';

/**
 * A manual release request (`shipline deploy`, or a direct invoke of the trigger function):
 * the same execution input an ECR push produces.
 */
export const manualDeployRequestSchema = z.strictObject({
  source: z._default(z.literal('manual'), 'manual'),
  service: z.string().check(z.minLength(1)),
  image: z.strictObject({
    digest: z.string().check(z.regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>')),
    tag: z.optional(
      z.string().check(z.minLength(1), z.maxLength(300, 'expected at most 300 characters (ECR limit)')),
    ),
    uri: z.optional(z.string().check(z.minLength(1))),
  }),
  requestedBy: z.optional(z.string().check(z.minLength(1))),
  /** Set to release a digest again (a new execution name is derived from it). */
  requestId: z.optional(z.string().check(z.minLength(1))),
});

export type ManualDeployRequest = z.output<typeof manualDeployRequestSchema>;
