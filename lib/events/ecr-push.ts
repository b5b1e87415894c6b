import * as z from 'zod/mini';

/**
 * "ECR Image Action" as EventBridge delivers it (source aws.ecr). Only successful pushes release;
 * the rule filters on them, and the handler checks again because a rule can be edited.
 */
export const ecrImageActionEventSchema = z.object({
  version: z.string(),
  id: z.string().check(z.minLength(1)),
  'detail-type': z.literal('ECR Image Action'),
  source: z.literal('aws.ecr'),
  account: z.string().check(z.regex(/^\d{12}$/, 'expected a 12-digit account id')),
  time: z.iso.datetime({ offset: true }),
  region: z.string().check(z.minLength(1)),
  resources: z._default(z.array(z.string()), []),
  detail: z.object({
    result: z.enum(['SUCCESS', 'FAILURE']),
    'repository-name': z.string().check(z.minLength(1)),
    'image-digest': z
      .string({ error: 'expected the pushed image digest (sha256:<64 hex>)' })
      .check(z.regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>')),
    'action-type': z.enum(['PUSH', 'DELETE']),
    // ECR accepts tags up to 300 characters.
    'image-tag': z.optional(
      z.string().check(z.maxLength(300, 'expected at most 300 characters (ECR limit)')),
    ),
  }),
});

export type EcrImageActionEvent = z.output<typeof ecrImageActionEventSchema>;

/** True when the input looks like an EventBridge ECR event (so it is parsed as one, strictly). */
export const looksLikeEcrEvent = (input: unknown): boolean =>
  typeof input === 'object' && input !== null && (input as Record<string, unknown>).source === 'aws.ecr';

/** The image URI pinned to the pushed digest. */
export const imageUriFromEcrEvent = (event: EcrImageActionEvent): string =>
  `${event.account}.dkr.ecr.${event.region}.amazonaws.com/${event.detail['repository-name']}@${event.detail['image-digest']}`;
