import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import type { OperationRequest, OperationResult } from '../../lib/domain/operations.ts';
import { buttonValue } from '../../lib/domain/slack.ts';
import { slackSignature } from '../../lib/domain/slack-signature.ts';
import { fixedClock, TABLE } from '../unit/fixtures.ts';
import {
  ONCALL,
  SIGNING_SECRET,
  SIGNING_SECRET_ID,
  setSlackHandlerEnvironment,
  slackFetch,
} from './slack-support.ts';
import { lambdaContext } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const secrets = mockClient(SecretsManagerClient);
const context = lambdaContext('shipline-slack-interactions');
const NOW = '2026-11-22T10:20:00.000Z';
const NOW_SECONDS = Date.parse(NOW) / 1000;
const RESPONSE_URL = 'https://hooks.slack.com/actions/T0TEAM/1234/abcd';

/** The form body Slack posts for a click on one of the thread's buttons. */
const clickBody = (actionId: string, user = ONCALL, message?: Record<string, unknown>): string =>
  `payload=${encodeURIComponent(
    JSON.stringify({
      ...(message ? { message } : {}),
      type: 'block_actions',
      team: { id: 'T0TEAM', domain: 'acme' },
      user: { id: user, username: 'alice', name: 'alice', team_id: 'T0TEAM' },
      api_app_id: 'A0APP',
      response_url: RESPONSE_URL,
      actions: [
        {
          type: 'button',
          action_id: actionId,
          block_id: 'shipline_actions',
          value: buttonValue({ service: 'checkout', environment: 'default', releaseId: 'checkout-v2-0001' }),
          action_ts: '1795860000.123456',
        },
      ],
    }),
  )}`;

/** A Function URL request as Lambda hands it to the function (payload 2.0), signed like Slack signs. */
const request = (
  body: string,
  options: { timestamp?: number; secret?: string; base64?: boolean; signature?: string } = {},
): LambdaFunctionURLEvent => {
  const timestamp = String(options.timestamp ?? NOW_SECONDS - 2);
  const signature = options.signature ?? slackSignature(options.secret ?? SIGNING_SECRET, timestamp, body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signature,
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc123',
      domainName: 'abc123.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc123',
      http: { method: 'POST', path: '/', protocol: 'HTTP/1.1', sourceIp: '52.0.0.1', userAgent: 'Slackbot' },
      requestId: 'r-1',
      routeKey: '$default',
      stage: '$default',
      time: '22/Nov/2026:10:20:00 +0000',
      timeEpoch: NOW_SECONDS * 1000,
    },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 ?? false,
  };
};

const operations: OperationRequest[] = [];
const operate = async (operation: OperationRequest): Promise<OperationResult> => {
  operations.push(operation);
  return {
    status: 'done',
    command: operation.command,
    service: operation.service,
    releaseId: operation.releaseId,
    message: 'Rolling back checkout to v1.',
  };
};

let handler: ReturnType<
  typeof import('../../functions/slack-interactions.ts')['createSlackInteractionsHandler']
>;
let slack: ReturnType<typeof slackFetch>;

describe('Handler: slack-interactions', () => {
  let previousClock: Clock;

  beforeAll(async () => {
    setSlackHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    const module = await import('../../functions/slack-interactions.ts');
    handler = module.createSlackInteractionsHandler(operate);
  });

  afterAll(() => {
    useClock(previousClock);
    vi.unstubAllGlobals();
  });

  beforeEach(() => {
    operations.length = 0;
    ddb.reset();
    ddb.on(PutCommand).resolves({});
    secrets.reset();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: SIGNING_SECRET });
    slack = slackFetch();
    slack.answerWith(() => new Response('ok', { status: 200 }));
    vi.stubGlobal('fetch', slack.fetchFn);
  });

  it('carries out a listed user\'s "Roll back now" through operate, as that user, and tells them the result', async () => {
    const answer = await handler(request(clickBody('shipline_rollback'), { base64: true }), context);

    expect(answer).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: '',
    });
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: SIGNING_SECRET_ID,
    });
    expect(operations).toEqual([
      {
        command: 'rollback',
        service: 'checkout',
        environment: 'default',
        releaseId: 'checkout-v2-0001',
        actor: { via: 'slack', id: 'slack:T0TEAM/U0ONCALL1', name: 'alice' },
        reason: 'Roll back now pressed in Slack by alice',
      },
    ]);
    // The signature is remembered until Slack's window would refuse it anyway.
    const timestamp = NOW_SECONDS - 2;
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        pk: `SLACK#SIGNATURE#${slackSignature(SIGNING_SECRET, String(timestamp), clickBody('shipline_rollback'))}`,
        sk: 'SEEN',
        expiresAt: timestamp + 360,
      },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
      ExpressionAttributeValues: { ':now': NOW_SECONDS },
    });
    expect(slack.calls).toEqual([
      {
        url: RESPONSE_URL,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: { response_type: 'ephemeral', replace_original: false, text: 'Rolling back checkout to v1.' },
      },
    ]);
  });

  it('takes the buttons off an answered pause reply and says who answered, for everyone', async () => {
    const pauseReply = {
      type: 'message',
      ts: '1795341695.000007',
      thread_ts: '1795341603.000001',
      text: 'checkout: Paused',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: ':double_vertical_bar: Paused' } },
        { type: 'actions', block_id: 'shipline_actions', elements: [] },
      ],
    };
    const answer = await handler(request(clickBody('shipline_approve', ONCALL, pauseReply)), context);
    expect(answer.statusCode).toBe(200);
    expect(slack.calls.map((c) => c.body)).toEqual([
      { response_type: 'ephemeral', replace_original: false, text: 'Rolling back checkout to v1.' },
      {
        replace_original: true,
        text: 'checkout: Paused',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: ':double_vertical_bar: Paused' } },
          {
            type: 'context',
            elements: [
              {
                type: 'mrkdwn',
                text: ':ballot_box_with_check: Approve pressed by alice via Slack · 10:20 UTC',
              },
            ],
          },
        ],
      },
    ]);
  });

  it('leaves the root message to the thread function (no replace through the response URL)', async () => {
    const root = { type: 'message', ts: '1795341603.000001', text: 'checkout v1 → v2', blocks: [] };
    await handler(request(clickBody('shipline_rollback', ONCALL, root)), context);
    expect(slack.calls.map((c) => c.body.replace_original)).toEqual([false]);
  });

  it('maps each button to its command: Approve resumes, Reject rejects, Promote promotes', async () => {
    for (const actionId of ['shipline_approve', 'shipline_reject', 'shipline_promote'])
      expect((await handler(request(clickBody(actionId)), context)).statusCode).toBe(200);
    expect(operations.map((o) => o.command)).toEqual(['resume', 'reject', 'promote']);
  });

  it('refuses a forged click (signed with another secret) with 401 and does nothing', async () => {
    const answer = await handler(
      request(clickBody('shipline_rollback'), { secret: 'not-the-signing-secret' }),
      context,
    );
    expect(answer).toMatchObject({ statusCode: 401, body: 'invalid signature' });
    expect(operations).toEqual([]);
    expect(ddb.commandCalls(PutCommand)).toEqual([]);
  });

  it('refuses a click whose body was changed after signing (another button)', async () => {
    const signed = request(clickBody('shipline_promote'));
    const tampered = { ...signed, body: clickBody('shipline_rollback') };
    expect((await handler(tampered, context)).statusCode).toBe(401);
    expect(operations).toEqual([]);
  });

  it('refuses an expired click (signed more than five minutes ago) with 401', async () => {
    const answer = await handler(
      request(clickBody('shipline_rollback'), { timestamp: NOW_SECONDS - 301 }),
      context,
    );
    expect(answer).toMatchObject({ statusCode: 401, body: 'request expired' });
    expect(operations).toEqual([]);
  });

  it('refuses a replayed click (a signature already accepted) with 401', async () => {
    ddb
      .on(PutCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    const answer = await handler(request(clickBody('shipline_rollback')), context);
    expect(answer).toMatchObject({ statusCode: 401, body: 'request already processed' });
    expect(operations).toEqual([]);
  });

  it("refuses an unlisted user's click with 403 and tells them why", async () => {
    const answer = await handler(request(clickBody('shipline_rollback', 'U0STRANGER')), context);
    expect(answer).toMatchObject({ statusCode: 403 });
    expect(operations).toEqual([]);
    expect(slack.calls[0]?.body.text).toBe(
      'You may not press "Roll back now" on checkout: your Slack user ID U0STRANGER is not on its allowlist (slack.allowlist in shipline.yml).',
    );
  });

  it('answers 400 to a signed request that is no Shipline button', async () => {
    const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'view_submission', user: { id: ONCALL } }))}`;
    expect((await handler(request(body), context)).statusCode).toBe(400);
  });
});
