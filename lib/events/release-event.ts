import * as z from 'zod/mini';

const isoTime = z
  .string()
  .check(z.refine((value) => !Number.isNaN(Date.parse(value)), 'expected an ISO 8601 time'));

/**
 * The fields of a release-events topic message (`ReleaseEventMessage`, lib/domain/progress.ts) the DORA
 * metrics read; other fields pass through unchecked, so the topic can grow without breaking this reader.
 */
export const releaseEventFactsSchema = z.looseObject({
  version: z.literal(1),
  kind: z.string().check(z.minLength(1)),
  service: z.string().check(z.minLength(1)),
  environment: z.string().check(z.minLength(1)),
  releaseId: z.string().check(z.minLength(1)),
  requestedAt: isoTime,
  endedAt: z.optional(isoTime),
  outcome: z.optional(z.enum(['promoted', 'rolled_back', 'failed', 'superseded'])),
  digest: z.optional(z.string().check(z.regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>'))),
  changeTime: z.optional(
    z.strictObject({ at: isoTime, source: z.enum(['oci-label', 'deploy-request', 'push']) }),
  ),
  at: isoTime,
});
export type ReleaseEventFacts = z.output<typeof releaseEventFactsSchema>;

/** An SNS notification to a subscribed Lambda: each record's `Sns.Message` is the published body. */
export const snsEventSchema = z.looseObject({
  Records: z
    .array(
      z.looseObject({
        Sns: z.looseObject({ Message: z.string(), MessageId: z.optional(z.string()) }),
      }),
    )
    .check(z.minLength(1)),
});
