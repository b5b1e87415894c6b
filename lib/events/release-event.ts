import * as z from 'zod/mini';
import { NOTIFICATION_KINDS } from '../domain/notifications.ts';
import { STEP_KINDS } from '../domain/plan.ts';
import { RELEASE_STATES, type ReleaseEventMessage } from '../domain/progress.ts';
import { InvalidInputError } from '../errors.ts';
import { parseInput } from './parse.ts';

const progressSchema = z.object({
  sequence: z.number(),
  step: z.number(),
  steps: z.number(),
  kind: z.optional(z.enum(STEP_KINDS)),
  label: z.optional(z.string()),
  state: z.enum(RELEASE_STATES),
  newPercent: z.number(),
  stepStartedAt: z.string(),
  endsAt: z.optional(z.string()),
  watchedAlarms: z.optional(z.array(z.string())),
  updatedAt: z.string(),
});

/** A message of the internal release-events topic (lib/domain/progress.ts `ReleaseEventMessage`). */
export const releaseEventMessageSchema = z.object({
  version: z.literal(1),
  kind: z.enum([...NOTIFICATION_KINDS, 'step']),
  service: z.string().check(z.minLength(1)),
  environment: z.string().check(z.minLength(1)),
  releaseId: z.string().check(z.minLength(1)),
  executionArn: z.optional(z.string()),
  region: z.string(),
  strategy: z.string(),
  fromVersion: z.optional(z.string()),
  toVersion: z.string(),
  digest: z.optional(z.string()),
  text: z.string(),
  reason: z.optional(z.string()),
  progress: progressSchema,
  outcome: z.optional(z.enum(['promoted', 'rolled_back', 'failed', 'superseded'])),
  requestedAt: z.string(),
  endedAt: z.optional(z.string()),
  changeTime: z.optional(
    z.object({ at: z.string(), source: z.enum(['oci-label', 'deploy-request', 'push']) }),
  ),
  actor: z.optional(
    z.object({ via: z.enum(['cli', 'slack']), id: z.string(), name: z.optional(z.string()) }),
  ),
  at: z.string(),
});

/** An SNS event as Lambda receives it from a topic subscription (only the fields the functions read). */
export const snsEventSchema = z.object({
  Records: z.array(
    z.object({
      EventSource: z.optional(z.string()),
      Sns: z.object({
        MessageId: z.optional(z.string()),
        TopicArn: z.optional(z.string()),
        Message: z.string(),
      }),
    }),
  ),
});

export type SnsEvent = z.output<typeof snsEventSchema>;

/** The release-events messages of an SNS event, each parsed and checked (a bad one names its record). */
export const releaseEventsOf = (event: SnsEvent): ReleaseEventMessage[] =>
  event.Records.map((record, index) => {
    let body: unknown;
    try {
      body = JSON.parse(record.Sns.Message);
    } catch {
      throw new InvalidInputError(
        `SNS record ${index} does not carry JSON: ${record.Sns.Message.slice(0, 80)}`,
      );
    }
    return parseInput(
      releaseEventMessageSchema,
      body,
      `SNS record ${index} (release event)`,
    ) as ReleaseEventMessage;
  });
