import * as z from 'zod';
import { durationSchema } from '../../lib/config/schema.ts';
import { parseDurationSeconds } from '../../lib/duration.ts';

/** `world.slack`: the Slack workspace of the world, whose Web API the pipeline's functions call. */
export const slackWorldSchema = z
  .object({
    team: z
      .string()
      .regex(/^T[A-Z0-9]+$/, 'expected a Slack team ID such as T0SANDBOX')
      .default('T0SANDBOX'),
    botToken: z.string().min(1).meta({
      description:
        'The bot token Slack accepts. The config references a parameter or secret; the one that holds another value gets invalid_auth.',
    }),
    signingSecret: z.string().min(1).meta({
      description: "The Slack app's signing secret: the sandbox signs clicks with it.",
    }),
    channels: z
      .array(z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'expected a Slack channel ID such as C0RELEASES'))
      .min(1)
      .meta({ description: 'The channels the bot is in; any other answers channel_not_found.' }),
    users: z
      .record(
        z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'expected a Slack user ID such as U0ONCALL1'),
        z.string(),
      )
      .default({})
      .meta({ description: 'Users by ID, with the name a click carries, e.g. { U0ONCALL1: alice }.' }),
    down: z
      .array(
        z
          .object({
            from: durationSchema
              .default(0)
              .meta({ description: 'From this virtual time (default the start).' }),
            until: durationSchema
              .optional()
              .meta({ description: 'Until this virtual time (default: the whole run).' }),
            status: z
              .union([z.literal(429), z.literal(500), z.literal(502), z.literal(503)])
              .default(503)
              .meta({
                description: 'What every call gets: 503 (down) or 429 (rate limited, with Retry-After).',
              }),
            retryAfter: durationSchema.default('30s').meta({ description: "A 429's Retry-After." }),
          })
          .strict()
          .refine(
            (outage) =>
              outage.until === undefined ||
              (parseDurationSeconds(outage.until) ?? 0) > (parseDurationSeconds(outage.from) ?? 0),
            { path: ['until'], message: 'an outage ends after it begins: until is later than from' },
          ),
      )
      .default([])
      .meta({ description: 'When Slack answers every call with an HTTP error.' }),
  })
  .strict()
  .meta({
    description: 'A Slack workspace: the Web API (chat.postMessage, chat.update) and click response URLs.',
  });

/** One click on a release button, delivered to the interactions function as a Function URL request. */
export const clickSchema = z
  .object({
    button: z.enum(['rollback', 'promote', 'approve', 'reject']).meta({
      description: 'Roll back now, Promote now, Approve or Reject.',
    }),
    user: z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'expected a Slack user ID such as U0ONCALL1'),
    signed: z
      .union([z.boolean(), z.enum(['expired', 'replayed'])])
      .default(true)
      .meta({
        description:
          "true: signed with the app's signing secret, now; false: forged (another secret); expired: signed 10 minutes ago; replayed: the previous click's request sent again, byte for byte.",
      }),
    service: z.string().min(1).optional().meta({
      description: "The service whose thread holds the button (default: the scenario's service).",
    }),
  })
  .strict();

/** A count: exactly this many, or at least this many. */
const countSchema = z.union([
  z.number().int().min(0),
  z.object({ atLeast: z.number().int().min(0) }).strict(),
]);

/** `expect.slack`: the release thread(s) at the end of the run, and how each click was answered. */
export const slackExpectationSchema = z
  .object({
    threads: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Root messages posted (one per release).' }),
    rootUpdates: countSchema.optional().meta({ description: 'chat.update calls on the (last) root.' }),
    replies: countSchema.optional().meta({ description: 'Replies in the (last) thread.' }),
    broadcasts: z.number().int().min(0).optional().meta({
      description: 'Replies also posted to the channel (reply_broadcast): the outcome.',
    }),
    rootContains: z.array(z.string()).optional().meta({
      description: 'Texts the (last) root message shows at the end, e.g. [Promoted, v2 100%].',
    }),
    rootButtons: z.array(z.string()).optional().meta({
      description: 'The button labels the (last) root shows at the end (none once the release ended).',
    }),
    repliesContain: z.array(z.string()).optional().meta({
      description: 'Texts found in the (last) thread replies, in this order.',
    }),
    clicks: z
      .array(z.object({ status: z.number().int(), toldContains: z.string().optional() }).strict())
      .optional()
      .meta({
        description:
          'How the interactions function answered each click, in order (every answer must also come within Slack’s 3 seconds), and what it told the user.',
      }),
  })
  .strict();

/** The parsed Slack parts of a scenario. */
export type SlackWorld = z.output<typeof slackWorldSchema>;
export type SlackClick = z.output<typeof clickSchema>;
export type SlackExpectation = z.output<typeof slackExpectationSchema>;
