import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SNSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import type { ReleaseEventMessage } from '../../lib/domain/progress.ts';
import { useEnvironmentKeySource } from '../../lib/per-environment.ts';
import { fixedClock, TABLE } from '../unit/fixtures.ts';
import { releaseEvent } from '../unit/slack-fixtures.ts';
import { BOT_TOKEN_PARAMETER, CHANNEL, setSlackHandlerEnvironment, slackFetch } from './slack-support.ts';
import { lambdaContext, rejection } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const ssm = mockClient(SSMClient);
const context = lambdaContext('shipline-slack-notify');
const NOW = '2026-11-22T10:14:05.000Z';
const NOW_SECONDS = Date.parse(NOW) / 1000;
const THREAD_KEY = { pk: 'RELEASE#checkout-v2-0001', sk: 'SLACK#THREAD' };
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

/** An SNS event as Lambda receives it from the release-events topic. */
const snsEvent = (...messages: ReleaseEventMessage[]): SNSEvent => ({
  Records: messages.map((message, index) => ({
    EventSource: 'aws:sns',
    EventVersion: '1.0',
    EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:shipline-dev-release-events:1a2b',
    Sns: {
      Type: 'Notification',
      MessageId: `m-${index}`,
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:shipline-dev-release-events',
      Subject: '',
      Message: JSON.stringify(message),
      Timestamp: NOW,
      SignatureVersion: '1',
      Signature: 'EXAMPLE',
      SigningCertUrl: 'EXAMPLE',
      UnsubscribeUrl: 'EXAMPLE',
      MessageAttributes: { event: { Type: 'String', Value: message.kind } },
    },
  })),
});

let handler: typeof import('../../functions/slack-notify.ts')['handler'];
let slack: ReturnType<typeof slackFetch>;

describe('Handler: slack-notify', () => {
  let previousClock: Clock;

  beforeAll(async () => {
    setSlackHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler } = await import('../../functions/slack-notify.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
    vi.unstubAllGlobals();
  });

  beforeEach(() => {
    ddb.reset();
    ssm.reset();
    ssm
      .on(GetParameterCommand)
      .resolves({ Parameter: { Name: BOT_TOKEN_PARAMETER, Value: 'xoxb-test-token\n' } });
    slack = slackFetch();
    vi.stubGlobal('fetch', slack.fetchFn);
  });

  it('starts the thread with the first event: claims it, posts the root, records its ts, replies in it', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});

    const result = await handler(
      snsEvent(releaseEvent({ kind: 'started', text: 'Release started' })),
      context,
    );

    expect(result).toEqual({
      results: [{ status: 'posted', releaseId: 'checkout-v2-0001', root: true, updated: false }],
    });
    // The token is read once, decrypted (a SecureString).
    expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({
      Name: BOT_TOKEN_PARAMETER,
      WithDecryption: true,
    });
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        ...THREAD_KEY,
        channel: CHANNEL,
        rootSequence: -1,
        claimedUntil: NOW_SECONDS + 60,
        expiresAt: expect.any(Number),
      },
      ConditionExpression: 'attribute_not_exists(pk) OR (attribute_not_exists(ts) AND claimedUntil < :now)',
      ExpressionAttributeValues: { ':now': NOW_SECONDS },
    });
    expect(slack.calls.map((c) => c.url)).toEqual([
      'https://slack.com/api/chat.postMessage',
      'https://slack.com/api/chat.postMessage',
    ]);
    expect(slack.calls[0]?.headers.authorization).toBe('Bearer xoxb-test-token');
    const root = slack.calls[0]?.body ?? {};
    expect(root).toMatchObject({
      channel: CHANNEL,
      text: 'checkout v1 → v2: baking, step 4 of 7 (v2 25% · v1 75%)',
    });
    expect(root.thread_ts).toBeUndefined();
    const updates = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates[0]).toEqual({
      TableName: TABLE,
      Key: THREAD_KEY,
      UpdateExpression: 'SET ts = :ts, rootSequence = :sequence REMOVE claimedUntil',
      ExpressionAttributeValues: { ':ts': '1795860000.000101', ':sequence': 5 },
    });
    expect(updates[1]).toMatchObject({
      UpdateExpression: 'ADD replied :keys',
      ExpressionAttributeValues: { ':key': '5:started' },
    });
    expect(slack.calls[1]?.body).toMatchObject({ channel: CHANNEL, thread_ts: '1795860000.000101' });
    expect(slack.calls[1]?.body.reply_broadcast).toBeUndefined();
  });

  it('updates the root in place when the event is newer than what it shows, and replies', async () => {
    ddb
      .on(GetCommand)
      .resolves({ Item: { ...THREAD_KEY, channel: CHANNEL, ts: '1795860000.000001', rootSequence: 3 } });
    ddb.on(UpdateCommand).resolves({});

    const result = await handler(snsEvent(releaseEvent()), context);

    expect(result.results[0]).toMatchObject({ status: 'posted', root: false, updated: true });
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: THREAD_KEY,
      UpdateExpression: 'SET rootSequence = :sequence, rootMessage = :root',
      ConditionExpression: 'attribute_exists(ts) AND rootSequence < :sequence',
      ExpressionAttributeValues: {
        ':sequence': 5,
        ':root': { text: slack.calls[0]?.body.text, blocks: slack.calls[0]?.body.blocks },
      },
    });
    expect(slack.calls.map((c) => c.url)).toEqual([
      'https://slack.com/api/chat.update',
      'https://slack.com/api/chat.postMessage',
    ]);
    expect(slack.calls[0]?.body).toMatchObject({ channel: CHANNEL, ts: '1795860000.000001' });
  });

  it('sends the newest root again when a newer delivery advanced it while this one updated (Slack applies updates as they arrive)', async () => {
    const newest = {
      text: 'checkout v1 -> v2: Promoted',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: ':white_check_mark: Promoted' } }],
    };
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: { ...THREAD_KEY, channel: CHANNEL, ts: '1795860000.000001', rootSequence: 3 } })
      // After this delivery's update of step 5: a delivery of step 9 advanced the root meanwhile, and its
      // update may have landed before this one's.
      .resolves({
        Item: {
          ...THREAD_KEY,
          channel: CHANNEL,
          ts: '1795860000.000001',
          rootSequence: 9,
          rootMessage: newest,
        },
      });
    ddb.on(UpdateCommand).resolves({});

    const result = await handler(snsEvent(releaseEvent()), context);

    expect(result.results[0]).toMatchObject({ status: 'posted', updated: true });
    expect(slack.calls.map((c) => c.url)).toEqual([
      'https://slack.com/api/chat.update',
      'https://slack.com/api/chat.update',
      'https://slack.com/api/chat.postMessage',
    ]);
    expect(slack.calls[1]?.body).toEqual({ channel: CHANNEL, ts: '1795860000.000001', ...newest });
  });

  it('leaves the root alone for an event older than it shows (SNS reorders), still replying', async () => {
    ddb
      .on(GetCommand)
      .resolves({ Item: { ...THREAD_KEY, channel: CHANNEL, ts: '1795860000.000001', rootSequence: 9 } });
    ddb.on(UpdateCommand).resolves({});
    await handler(snsEvent(releaseEvent()), context);
    expect(slack.calls.map((c) => c.url)).toEqual(['https://slack.com/api/chat.postMessage']);
  });

  it('posts nothing twice for a redelivered event', async () => {
    ddb
      .on(GetCommand)
      .resolves({ Item: { ...THREAD_KEY, channel: CHANNEL, ts: '1795860000.000001', rootSequence: 5 } });
    ddb.on(UpdateCommand).rejects(conditionFailed());
    const result = await handler(snsEvent(releaseEvent()), context);
    expect(result.results[0]).toMatchObject({ status: 'already-posted' });
    expect(slack.calls).toEqual([]);
  });

  it('posts an outcome to the channel too (reply_broadcast)', async () => {
    ddb
      .on(GetCommand)
      .resolves({ Item: { ...THREAD_KEY, channel: CHANNEL, ts: '1795860000.000001', rootSequence: 5 } });
    ddb.on(UpdateCommand).resolves({});
    await handler(
      snsEvent(
        releaseEvent({
          kind: 'promoted',
          outcome: 'promoted',
          text: 'Promoted v2',
          progress: { sequence: 12, state: 'promoted', newPercent: 100 },
        }),
      ),
      context,
    );
    expect(slack.calls.map((c) => c.url)).toEqual([
      'https://slack.com/api/chat.update',
      'https://slack.com/api/chat.postMessage',
    ]);
    expect(slack.calls[1]?.body).toMatchObject({ thread_ts: '1795860000.000001', reply_broadcast: true });
  });

  it('says who caused an ending: by name via Slack, a mention without one, a principal via the CLI; the root too', async () => {
    ddb
      .on(GetCommand)
      .resolves({ Item: { ...THREAD_KEY, channel: CHANNEL, ts: '1795860000.000001', rootSequence: 5 } });
    ddb.on(UpdateCommand).resolves({});
    const rolledBack = (sequence: number, actor: ReleaseEventMessage['actor']) =>
      releaseEvent({
        kind: 'rolled_back',
        outcome: 'rolled_back',
        text: 'Rolled back: v1 serves 100% again',
        reason: 'aborted by a person: Roll back now pressed in Slack by alice',
        actor,
        progress: { sequence, state: 'rolled-back', step: 4, steps: 7, newPercent: 0, reachedPercent: 25 },
      });
    const contexts = async (event: ReleaseEventMessage): Promise<unknown[]> => {
      slack.calls.length = 0;
      await handler(snsEvent(event), context);
      return slack.calls.map(
        (call) =>
          (call.body.blocks as Array<{ type: string; elements?: Array<{ text: string }> }>).find(
            (b) => b.type === 'context',
          )?.elements?.[0]?.text,
      );
    };

    expect(
      await contexts(rolledBack(1_000_001, { via: 'slack', id: 'slack:T0SANDBOX/U0ONCALL1', name: 'alice' })),
    ).toEqual([
      'default · release checkout-v2-0001 · by alice via Slack · updated 10:14 UTC',
      '10:14 UTC · step 4 of 7 · traffic v2 0% · v1 100% · by alice via Slack',
    ]);
    const [, mentioned] = await contexts(
      rolledBack(1_000_001, { via: 'slack', id: 'slack:T0SANDBOX/U0ONCALL1' }),
    );
    expect(mentioned).toBe('10:14 UTC · step 4 of 7 · traffic v2 0% · v1 100% · by <@U0ONCALL1> via Slack');
    const [, cli] = await contexts(
      rolledBack(1_000_001, { via: 'cli', id: 'arn:aws:sts::123456789012:assumed-role/oncall/bob' }),
    );
    expect(cli).toBe(
      '10:14 UTC · step 4 of 7 · traffic v2 0% · v1 100% · by arn:aws:sts::123456789012:assumed-role/oncall/bob via the CLI',
    );
    // The root says how the release ended and how far it had got, not the steps it planned.
    expect(JSON.stringify(slack.calls[0]?.body.blocks)).toContain('rolled back at step 4 of 7 (25%)');
  });

  it('waits for a concurrent delivery still posting the root (throws to be retried)', async () => {
    ddb.on(GetCommand).resolves({
      Item: { ...THREAD_KEY, channel: CHANNEL, rootSequence: -1, claimedUntil: NOW_SECONDS + 30 },
    });
    ddb.on(PutCommand).rejects(conditionFailed());
    const error = await rejection(handler(snsEvent(releaseEvent()), context));
    expect(error.name).toBe('SlackThreadPending');
    expect(slack.calls).toEqual([]);
  });

  it('logs and ends on a Slack refusal that would repeat (invalid_auth): the event is not retried', async () => {
    ddb
      .on(GetCommand)
      .resolves({ Item: { ...THREAD_KEY, channel: CHANNEL, ts: '1795860000.000001', rootSequence: 5 } });
    ddb.on(UpdateCommand).resolves({});
    slack.answerWith(
      () => new Response(JSON.stringify({ ok: false, error: 'invalid_auth' }), { status: 200 }),
    );
    const result = await handler(snsEvent(releaseEvent()), context);
    expect(result.results[0]).toEqual({
      status: 'slack-failed',
      releaseId: 'checkout-v2-0001',
      error: 'Slack chat.postMessage failed: invalid_auth',
    });
    // The reply stays marked: a retry would be refused the same way.
    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.UpdateExpression)).toEqual([
      'ADD replied :keys',
    ]);
  });

  it('throws on a rate limit so Lambda retries the event later, forgetting the reply it could not post', async () => {
    ddb
      .on(GetCommand)
      .resolves({ Item: { ...THREAD_KEY, channel: CHANNEL, ts: '1795860000.000001', rootSequence: 5 } });
    ddb.on(UpdateCommand).resolves({});
    slack.answerWith(() => new Response('', { status: 429, headers: { 'retry-after': '1' } }));
    const error = await rejection(handler(snsEvent(releaseEvent()), context));
    expect(error.name).toBe('SlackApiError');
    expect(error.message).toBe('Slack chat.postMessage failed: http_429 (rate limited, retry after 1 s)');
    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.UpdateExpression)).toEqual([
      'ADD replied :keys',
      'DELETE replied :keys',
    ]);
  });

  it('gives the claim up when the root cannot be posted, so the retry claims again', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    slack.answerWith(() => new Response('unavailable', { status: 503 }));
    const error = await rejection(handler(snsEvent(releaseEvent()), context));
    expect(error.message).toBe('Slack chat.postMessage failed: http_503');
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: THREAD_KEY,
      ConditionExpression: 'attribute_not_exists(ts)',
    });
  });

  it('logs and ends when the bot token parameter does not exist (a configuration error, not retried)', async () => {
    // A cold start: an execution environment of its own, with nothing cached (lib/per-environment.ts).
    const coldStart = {};
    useEnvironmentKeySource(() => coldStart);
    try {
      ssm.on(GetParameterCommand).rejects(
        Object.assign(new Error('Parameter /shipline/slack/bot-token not found.'), {
          name: 'ParameterNotFound',
        }),
      );
      const result = await handler(snsEvent(releaseEvent()), context);
      expect(result.results[0]).toEqual({
        status: 'slack-failed',
        releaseId: 'checkout-v2-0001',
        error:
          'cannot read the SSM parameter /shipline/slack/bot-token: ParameterNotFound: Parameter /shipline/slack/bot-token not found.',
      });
      expect(slack.calls).toEqual([]);
      expect(ddb.commandCalls(GetCommand)).toEqual([]);
    } finally {
      useEnvironmentKeySource(undefined);
    }
  });

  it('refuses an SNS message that is not a release event, naming the field', async () => {
    const bad = snsEvent(releaseEvent());
    const record = bad.Records[0];
    if (!record) throw new Error('no record');
    record.Sns.Message = JSON.stringify({ ...releaseEvent(), progress: undefined });
    const error = await rejection(handler(bad, context));
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('progress');
  });
});
