import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type Clock, useClock } from '../../lib/clock.ts';
import { parseConfig } from '../../lib/config/load.ts';
import type { ShiplineConfig } from '../../lib/config/schema.ts';
import type { SecretRef } from '../../lib/config/slack.ts';
import type { OperationRequest, OperationResult } from '../../lib/domain/operations.ts';
import { buttonValue } from '../../lib/domain/slack.ts';
import { slackSignature } from '../../lib/domain/slack-signature.ts';
import { SlackSecretError } from '../../lib/ports/slack.ts';
import { handleSlackInteraction, type SlackInteractionPorts } from '../../lib/use-cases/slack-interaction.ts';
import { configText, fixedClock } from './fixtures.ts';

const NOW = '2026-11-22T10:20:00.000Z';
const NOW_SECONDS = Date.parse(NOW) / 1000;
const CHECKOUT_SECRET = '0123456789abcdef0123456789abcdef';
const ONCALL = 'U0ONCALL1';
const PAYMENTS_ONCALL = 'U0PAYMENTS';

/** checkout on the pipeline's Slack app; payments on its own app (its own signing secret, its own allowlist). */
const twoAppsConfig = (): ShiplineConfig => {
  const document = parseYaml(configText()) as { services: Record<string, Record<string, unknown>> };
  const checkout = document.services.checkout as Record<string, unknown>;
  return parseConfig({
    ...document,
    slack: {
      channel: 'C0RELEASES',
      botToken: { ssm: '/shipline/slack/bot-token' },
      signingSecret: { ssm: '/shipline/slack/signing-secret' },
      allowlist: [ONCALL],
    },
    services: {
      checkout,
      payments: {
        ...checkout,
        image: { repository: 'payments' },
        // Its own listener rule, slots and target groups: two services never share them.
        target: {
          ...(checkout.target as Record<string, unknown>),
          listenerRuleArn: `${String((checkout.target as { listenerRuleArn: string }).listenerRuleArn).slice(0, -4)}beef`,
          slots: {
            blue: {
              service: 'payments-blue',
              targetGroupArn:
                'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payments-blue/84f3e7cd35e9b178',
            },
            green: {
              service: 'payments-green',
              targetGroupArn:
                'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payments-green/9a2f3e7cd35e9b17',
            },
          },
        },
        slack: {
          botToken: { ssm: '/payments/slack/bot-token' },
          signingSecret: { ssm: '/payments/slack/signing-secret' },
          allowlist: [PAYMENTS_ONCALL],
        },
      },
    },
  });
};

const click = (service: string, user: string, secret: string, timestamp = NOW_SECONDS - 1) => {
  const body = `payload=${encodeURIComponent(
    JSON.stringify({
      type: 'block_actions',
      team: { id: 'T0TEAM' },
      user: { id: user, username: 'alice', team_id: 'T0TEAM' },
      response_url: 'https://hooks.slack.com/actions/T0TEAM/1/abc',
      actions: [
        {
          action_id: 'shipline_rollback',
          value: buttonValue({ service, environment: 'default', releaseId: `${service}-v2-0001` }),
        },
      ],
    }),
  )}`;
  return {
    method: 'POST',
    headers: {
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(secret, String(timestamp), body),
    },
    body: Buffer.from(body),
  };
};

const setup = (secrets: Record<string, string | Error>) => {
  const operations: OperationRequest[] = [];
  const logs: Array<{ level: string; message: string; details?: Record<string, unknown> }> = [];
  const seen = new Set<string>();
  const ports: SlackInteractionPorts = {
    secrets: {
      read: async (ref: SecretRef) => {
        const name = 'ssm' in ref ? ref.ssm : ref.secretsManager;
        const value = secrets[name];
        if (value === undefined || value instanceof Error)
          throw value ?? new SlackSecretError(`cannot read the SSM parameter ${name}`, { retryable: false });
        return value;
      },
    },
    replays: {
      firstUse: async (signature: string) => {
        if (seen.has(signature)) return false;
        seen.add(signature);
        return true;
      },
    },
    chat: { respond: async () => {}, replaceClicked: async () => {} },
    operate: async (request: OperationRequest): Promise<OperationResult> => {
      operations.push(request);
      return {
        status: 'done',
        command: request.command,
        service: request.service,
        releaseId: request.releaseId,
        message: 'rolling back',
      };
    },
    config: twoAppsConfig,
    log: {
      info: (message, details) => logs.push({ level: 'info', message, ...(details ? { details } : {}) }),
      warn: (message, details) => logs.push({ level: 'warn', message, ...(details ? { details } : {}) }),
      error: (message, details) => logs.push({ level: 'error', message, ...(details ? { details } : {}) }),
    },
  };
  return { ports, operations, logs };
};

describe('handleSlackInteraction with several Slack apps', () => {
  let previous: Clock;
  const withClock = async (run: () => Promise<void>) => {
    previous = useClock(fixedClock(NOW));
    try {
      await run();
    } finally {
      useClock(previous);
    }
  };

  it("carries out a click signed by one app while another service's signing secret cannot be read", () =>
    withClock(async () => {
      const { ports, operations, logs } = setup({
        '/shipline/slack/signing-secret': CHECKOUT_SECRET,
        '/payments/slack/signing-secret': new SlackSecretError(
          'cannot read the SSM parameter /payments/slack/signing-secret: ParameterNotFound: ',
          { retryable: false },
        ),
      });
      const answer = await handleSlackInteraction(ports, click('checkout', ONCALL, CHECKOUT_SECRET));
      expect(answer).toMatchObject({ statusCode: 200, outcome: 'done' });
      expect(operations.map((operation) => operation.service)).toEqual(['checkout']);
      // The unreadable secret is named (never a value) so someone fixes it.
      expect(logs).toContainEqual(
        expect.objectContaining({
          level: 'error',
          message: 'could not read a Slack signing secret',
          details: expect.objectContaining({
            error: expect.stringContaining('/payments/slack/signing-secret'),
          }),
        }),
      );
      expect(JSON.stringify(logs)).not.toContain(CHECKOUT_SECRET);
    }));

  it('answers a failure, not "forged", when the signature matches no readable secret and a secret could not be read', () =>
    withClock(async () => {
      const { ports, operations } = setup({
        '/shipline/slack/signing-secret': CHECKOUT_SECRET,
        '/payments/slack/signing-secret': new SlackSecretError('cannot read the SSM parameter', {
          retryable: true,
        }),
      });
      const answer = await handleSlackInteraction(
        ports,
        click('payments', PAYMENTS_ONCALL, 'fedcba9876543210fedcba9876543210'),
      );
      expect(answer).toMatchObject({ statusCode: 503, outcome: 'failed' });
      expect(operations).toEqual([]);
    }));

  it('logs every refusal, a signed request with no JSON payload and a GET too', () =>
    withClock(async () => {
      const { ports, logs } = setup({
        '/shipline/slack/signing-secret': CHECKOUT_SECRET,
        '/payments/slack/signing-secret': 'fedcba9876543210fedcba9876543210',
      });
      const body = 'payload=%7Bnot-json';
      const timestamp = String(NOW_SECONDS - 1);
      const notJson = await handleSlackInteraction(ports, {
        method: 'POST',
        headers: {
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': slackSignature(CHECKOUT_SECRET, timestamp, body),
        },
        body: Buffer.from(body),
      });
      const get = await handleSlackInteraction(ports, { method: 'GET', headers: {}, body: Buffer.alloc(0) });
      expect([notJson.statusCode, get.statusCode]).toEqual([400, 405]);
      expect(logs.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
        'refused a Slack request: its payload is not JSON',
        'refused a request: not a POST',
      ]);
    }));

  it("refuses a user allowed on checkout pressing a payments button signed by checkout's app", () =>
    withClock(async () => {
      const { ports, operations } = setup({
        '/shipline/slack/signing-secret': CHECKOUT_SECRET,
        '/payments/slack/signing-secret': 'fedcba9876543210fedcba9876543210',
      });
      const answer = await handleSlackInteraction(ports, click('payments', ONCALL, CHECKOUT_SECRET));
      expect(answer).toMatchObject({ statusCode: 403, outcome: 'unlisted' });
      const own = await handleSlackInteraction(
        ports,
        click('payments', ONCALL, 'fedcba9876543210fedcba9876543210'),
      );
      expect(own).toMatchObject({ statusCode: 403, outcome: 'unlisted' });
      expect(operations).toEqual([]);
    }));
});
