import * as z from 'zod';

/**
 * The `slack` sections of shipline.yml: the pipeline-wide one (`slack:` at the top) and each service's
 * override (`services.<name>.slack`). Secrets are never written in the config: the bot token and the
 * signing secret are references to an SSM SecureString parameter or a Secrets Manager secret, read by the
 * functions at run time.
 */

/** What a Slack secret looks like, so a literal pasted into the config is named for what it is. */
const SLACK_TOKEN = /^(?:xox[abpoer]|xapp)-/;
/** A Slack app's signing secret: 32 lowercase hex characters. */
const SIGNING_SECRET = /^[0-9a-f]{32}$/;

const literalSecretMessage = (what: string, value: string): string => {
  const looksLike = SLACK_TOKEN.test(value)
    ? ' This looks like a Slack token: it is now in your config (and its history), so revoke it in Slack and store the new one in SSM or Secrets Manager.'
    : SIGNING_SECRET.test(value)
      ? ' This looks like a Slack signing secret: it is now in your config (and its history), so regenerate it in Slack and store the new one in SSM or Secrets Manager.'
      : '';
  return `expected a reference, { ssm: /parameter/name } (a SecureString parameter) or { secretsManager: name-or-arn }, never the ${what} itself.${looksLike}`;
};

/**
 * SSM parameter names: letters, digits and `_ . - /`, at most 2048 characters, and not starting with
 * `aws` or `ssm` (reserved)
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html).
 */
const ssmNameSchema = z
  .string()
  .regex(
    /^\/?[A-Za-z0-9_.\-/]{1,2048}$/,
    'expected an SSM parameter name such as /shipline/slack/bot-token (letters, digits, _ . - /)',
  )
  .refine((name) => !/^\/?(?:aws|ssm)/i.test(name), {
    message: 'SSM parameter names may not start with aws or ssm (reserved by AWS)',
  });

/**
 * Secrets Manager secret names: letters, digits and `/ _ + = . @ -`, at most 512 characters
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html, Name), or a
 * secret's ARN.
 */
const secretIdSchema = z
  .string()
  .regex(
    /^(?:arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}|[A-Za-z0-9/_+=.@-]{1,512})$/,
    'expected a Secrets Manager secret name (letters, digits, / _ + = . @ -) or a secret ARN',
  );

/** A secret the functions read at run time: never its value. */
export const secretRefSchema = (what: string) =>
  z
    .union(
      [
        z
          .object({
            ssm: ssmNameSchema.meta({
              description: 'Name of an SSM SecureString parameter holding the value.',
            }),
          })
          .strict(),
        z
          .object({
            secretsManager: secretIdSchema.meta({
              description: 'Name or ARN of a Secrets Manager secret whose SecretString is the value.',
            }),
          })
          .strict(),
      ],
      {
        error: (issue) =>
          typeof issue.input === 'string'
            ? literalSecretMessage(what, issue.input)
            : 'expected { ssm: /parameter/name } or { secretsManager: name-or-arn }',
      },
    )
    .check((ctx) => {
      const name = 'ssm' in ctx.value ? ctx.value.ssm : ctx.value.secretsManager;
      if (SLACK_TOKEN.test(name) || SIGNING_SECRET.test(name))
        ctx.issues.push({ code: 'custom', input: name, message: literalSecretMessage(what, name) });
    })
    .meta({
      description: `The ${what}: { ssm: /parameter/name } (SecureString) or { secretsManager: name-or-arn }. Never the value itself.`,
    });

/** A Slack conversation ID: C (public channel), G (private channel) or D (direct message), then letters and digits. */
const channelSchema = z
  .string()
  .regex(
    /^[CGD][A-Z0-9]{2,}$/,
    'expected a Slack channel ID such as C0123456789 (the ID, not the #name: Slack shows it in the channel details)',
  )
  .meta({ description: 'Slack channel ID the release threads go to, e.g. C0123456789.' });

/** Slack user IDs: U or W, then letters and digits. */
const allowlistSchema = z
  .array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'expected a Slack user ID such as U0123456789'))
  .meta({
    description:
      'Slack user IDs allowed to press the release buttons (roll back, promote, approve, reject). Empty: the thread shows no buttons.',
  });

/** The pipeline-wide Slack settings (`slack:` at the top of shipline.yml). */
export const slackSchema = z
  .object({
    channel: channelSchema,
    botToken: secretRefSchema('bot token').meta({
      description: 'The Slack app bot token (xoxb-...) with chat:write, as a reference.',
    }),
    signingSecret: secretRefSchema('signing secret').meta({
      description: "The Slack app's signing secret (verifies button clicks), as a reference.",
    }),
    allowlist: allowlistSchema.default([]),
  })
  .strict();

/**
 * A service's Slack settings: each field overrides the pipeline-wide one; `false` sends this service's
 * releases to no Slack channel. A service with its own Slack app gives both its bot token and its signing
 * secret.
 */
export const serviceSlackSchema = z.union([
  z.literal(false),
  z
    .object({
      channel: channelSchema.optional(),
      botToken: secretRefSchema('bot token').optional(),
      signingSecret: secretRefSchema('signing secret').optional(),
      allowlist: allowlistSchema.optional(),
    })
    .strict()
    .refine((slack) => (slack.botToken === undefined) === (slack.signingSecret === undefined), {
      message:
        "give botToken and signingSecret together: they belong to one Slack app (or give neither and use the pipeline's)",
    }),
]);

/** The parsed `slack` sections and a secret reference. */
export type SlackConfig = z.output<typeof slackSchema>;
export type ServiceSlackConfig = z.output<typeof serviceSlackSchema>;
export type SecretRef = z.output<ReturnType<typeof secretRefSchema>>;
