import * as z from 'zod/mini';
import { NOTIFICATION_KINDS } from '../domain/notifications.ts';
import { RELEASE_STATES, type ReleaseEventMessage } from '../domain/progress.ts';
import { snsMessagesOf } from './sns.ts';

export { snsEventSchema } from './sns.ts';

const text = () => z.string().check(z.minLength(1));

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

/** The ReleaseEventMessage a subscriber reads (lib/domain/progress.ts): the fields it relies on, checked. */
export const releaseEventMessageSchema = z.looseObject({
  version: z.literal(1),
  kind: z.enum([...NOTIFICATION_KINDS, 'step']),
  service: text(),
  environment: text(),
  releaseId: text(),
  region: text(),
  strategy: text(),
  toVersion: z.string(),
  text: z.string(),
  requestedAt: text(),
  at: text(),
  progress: z.looseObject({
    sequence: z.number(),
    step: z.number(),
    steps: z.number(),
    state: z.enum(RELEASE_STATES),
    newPercent: z.number(),
    stepStartedAt: text(),
    updatedAt: text(),
  }),
});

/**
 * The release events an SNS invocation carries, in record order (SNS hands Lambda one record per
 * invocation, but the event shape is a list). A record that is not a release event is an error naming it:
 * the subscription points at the wrong topic, or the message was damaged.
 */
export const releaseEventsFromSns = (event: unknown): ReleaseEventMessage[] =>
  snsMessagesOf(event, releaseEventMessageSchema, 'release event') as unknown as ReleaseEventMessage[];
