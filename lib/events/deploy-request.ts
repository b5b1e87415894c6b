import * as z from 'zod/mini';

/**
 * A manual release request (`shipline deploy`, or a direct invoke of the trigger function):
 * the same execution input an ECR push produces.
 */
export const manualDeployRequestSchema = z.strictObject({
  source: z._default(z.literal('manual'), 'manual'),
  image: z.strictObject({
    digest: z.string().check(z.regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>')),
    tag: z.optional(
      z.string().check(z.minLength(1), z.maxLength(300, 'expected at most 300 characters (ECR limit)')),
    ),
    // A registry host (<= 253), a repository name (<= 256, ECR), a tag and a digest fit well within 1,024.
    uri: z.optional(z.string().check(z.minLength(1), z.maxLength(1024, 'expected at most 1024 characters'))),
  }),
  // The request travels in every state's data for the whole release: small fields keep each state far
  // below Step Functions' 256 KB (an oversized state fails with States.DataLimitExceeded, which no Catch
  // can route to the lock release).
  service: z.string().check(z.minLength(1), z.maxLength(256, 'expected at most 256 characters')),
  requestedBy: z.optional(
    z.string().check(z.minLength(1), z.maxLength(256, 'expected at most 256 characters')),
  ),
  /**
   * When the change was made (ISO 8601 with a time zone, e.g. the commit time CI knows): the release's
   * change lead time counts from it (DORA).
   */
  commitTime: z.optional(
    z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z' }),
  ),
  /** Set to release a digest again (a new execution name is derived from it). */
  requestId: z.optional(
    z.string().check(z.minLength(1), z.maxLength(256, 'expected at most 256 characters')),
  ),
});

export type ManualDeployRequest = z.output<typeof manualDeployRequestSchema>;
