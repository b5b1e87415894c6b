import * as z from 'zod/mini';
import { NOTIFICATION_KINDS } from '../domain/notifications.ts';
import { RELEASE_STATES, type ReleaseEventMessage } from '../domain/progress.ts';
import { InvalidInputError } from '../errors.ts';
import { parseInput } from './parse.ts';

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

/** The SNS event Lambda receives from a topic subscription: its records, each with the message as text. */
export const snsEventSchema = z.object({
  Records: z.array(
    z.looseObject({
      Sns: z.looseObject({ TopicArn: text(), MessageId: text(), Message: z.string() }),
    }),
  ),
});

/**
 * The release events an SNS invocation carries, in record order (SNS hands Lambda one record per
 * invocation, but the event shape is a list). A record that is not a release event is an error naming it:
 * the subscription points at the wrong topic, or the message was damaged.
 */
export const releaseEventsFromSns = (event: unknown): ReleaseEventMessage[] =>
  parseInput(snsEventSchema, event, 'SNS event').Records.map((record, index) => {
    let body: unknown;
    try {
      body = JSON.parse(record.Sns.Message);
    } catch {
      throw new InvalidInputError(
        `SNS record ${index} (message ${record.Sns.MessageId} from ${record.Sns.TopicArn}) is not JSON: not a release event`,
      );
    }
    return parseInput(
      releaseEventMessageSchema,
      body,
      `release event ${record.Sns.MessageId}`,
    ) as unknown as ReleaseEventMessage;
  });
