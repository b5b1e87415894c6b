import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../lib/config/load.ts';
import { slackSecretRefs, slackSettingsFor } from '../../lib/config/slack.ts';
import { ConfigError } from '../../lib/errors.ts';
import { BLUE_TG, GREEN_TG, LISTENER_RULE_ARN } from './fixtures.ts';

/** checkout on the fixtures' listener rule and target groups; any other service on its own (as the config requires). */
const own = (name: string, arn: string): string =>
  name === 'checkout'
    ? arn
    : arn
        .replace(/checkout-/, `${name}-`)
        .replace(/[0-9a-f]{8}$/, Buffer.from(name).toString('hex').slice(0, 8).padEnd(8, '0'));

const service = (name: string, slack = '') => `
  ${name}:
    image:
      repository: ${name}
    target:
      type: ecs-alb
      cluster: prod
      container: app
      listenerRuleArn: ${own(name, LISTENER_RULE_ARN)}
      slots:
        blue: { service: ${name}-blue, targetGroupArn: ${own(name, BLUE_TG)} }
        green: { service: ${name}-green, targetGroupArn: ${own(name, GREEN_TG)} }
    strategy:
      type: canary
      steps: [10, 100]
      bake: 5m
    watchAlarms: false
${slack}`;

const PIPELINE_SLACK = `
slack:
  channel: C0RELEASES
  botToken: { ssm: /shipline/slack/bot-token }
  signingSecret: { secretsManager: shipline/slack/signing-secret }
  allowlist: [U0ONCALL1]
`;

const issuesOf = (text: string): readonly string[] => {
  try {
    parseConfigText(text);
  } catch (error) {
    if (error instanceof ConfigError)
      return error.issues.map((i) => i.replace(/^shipline\.yml:\d+:\d+ /, ''));
    throw error;
  }
  throw new Error('expected the config to be invalid');
};

describe('Config: slack', () => {
  it('reads the pipeline-wide section and applies it to every service', () => {
    const config = parseConfigText(`version: 1\n${PIPELINE_SLACK}services:${service('checkout')}`);
    expect(slackSettingsFor(config, 'checkout')).toEqual({
      channel: 'C0RELEASES',
      botToken: { ssm: '/shipline/slack/bot-token' },
      signingSecret: { secretsManager: 'shipline/slack/signing-secret' },
      allowlist: ['U0ONCALL1'],
    });
  });

  it('lets a service override the channel and allowlist, or turn Slack off', () => {
    const config = parseConfigText(
      `version: 1\n${PIPELINE_SLACK}services:${service('checkout', '    slack: { channel: C0CHECKOUT, allowlist: [U0TEAM1, U0TEAM2] }')}${service('billing', '    slack: false')}`,
    );
    expect(slackSettingsFor(config, 'checkout')).toMatchObject({
      channel: 'C0CHECKOUT',
      allowlist: ['U0TEAM1', 'U0TEAM2'],
      botToken: { ssm: '/shipline/slack/bot-token' },
    });
    expect(slackSettingsFor(config, 'billing')).toBeUndefined();
  });

  it('sends a service nowhere when no section applies', () => {
    const config = parseConfigText(`version: 1\nservices:${service('checkout')}`);
    expect(slackSettingsFor(config, 'checkout')).toBeUndefined();
  });

  it('refuses a bot token written in the config, saying it looks like a Slack token to revoke', () => {
    const issues = issuesOf(
      `version: 1\nslack:\n  channel: C0RELEASES\n  botToken: xoxb-1234-5678-abcdefghijkl\n  signingSecret: { ssm: /shipline/slack/signing }\nservices:${service('checkout')}`,
    );
    expect(issues).toEqual([
      'slack.botToken: expected a reference, { ssm: /parameter/name } (a SecureString parameter) or { secretsManager: name-or-arn }, never the bot token itself. This looks like a Slack token: it is now in your config (and its history), so revoke it in Slack and store the new one in SSM or Secrets Manager.',
    ]);
  });

  it('refuses a signing secret written in the config, and a token pasted as a parameter name', () => {
    const issues = issuesOf(
      `version: 1\nslack:\n  channel: C0RELEASES\n  botToken: { ssm: xoxb-1234-5678-abcdefghijkl }\n  signingSecret: 8f742231b10e8888abcd9999ddd285a5\nservices:${service('checkout')}`,
    );
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/^slack\.botToken: .*This looks like a Slack token/);
    expect(issues[1]).toMatch(
      /^slack\.signingSecret: expected a reference.*never the signing secret itself\. This looks like a Slack signing secret/,
    );
  });

  it('names a channel given by its #name and a malformed user ID', () => {
    const issues = issuesOf(
      `version: 1\nslack:\n  channel: '#releases'\n  botToken: { ssm: /shipline/bot }\n  signingSecret: { ssm: /shipline/signing }\n  allowlist: [alice]\nservices:${service('checkout')}`,
    );
    expect(issues).toEqual([
      'slack.channel: expected a Slack channel ID such as C0123456789 (the ID, not the #name: Slack shows it in the channel details)',
      'slack.allowlist[0]: expected a Slack user ID such as U0123456789',
    ]);
  });

  it("requires a service's own section to be complete when there is no pipeline-wide one", () => {
    const issues = issuesOf(
      `version: 1\nservices:${service('checkout', '    slack: { channel: C0CHECKOUT }')}`,
    );
    expect(issues).toEqual([
      'services.checkout.slack: needs botToken, signingSecret: there is no top-level slack section to take them from',
    ]);
  });

  it('requires a bot token and a signing secret together (one Slack app)', () => {
    const issues = issuesOf(
      `version: 1\n${PIPELINE_SLACK}services:${service('checkout', '    slack: { botToken: { ssm: /team/bot } }')}`,
    );
    expect(issues).toEqual([
      "services.checkout.slack: give botToken and signingSecret together: they belong to one Slack app (or give neither and use the pipeline's)",
    ]);
  });

  it('lists each distinct secret reference once (the IAM grants)', () => {
    const config = parseConfigText(
      `version: 1\n${PIPELINE_SLACK}services:${service('checkout')}${service('billing', '    slack: { botToken: { secretsManager: billing/bot }, signingSecret: { secretsManager: billing/signing } }')}`,
    );
    expect(slackSecretRefs(config, 'botToken')).toEqual([
      { ssm: '/shipline/slack/bot-token' },
      { secretsManager: 'billing/bot' },
    ]);
  });
});
