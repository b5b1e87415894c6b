import { PublishBatchCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SnsReleaseEvents } from '../../../lib/adapters/sns-release-events.ts';
import type { ReleaseEventMessage } from '../../../lib/domain/progress.ts';
import { progressAt, releaseEventOf } from '../../../lib/domain/release-progress.ts';

const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:shipline-release-events';
const AT = '2025-03-04T10:00:00.000Z';

/** A "queued" release event of push `n`, its text padded to `textBytes` when given. */
const queued = (n: number, textBytes = 0): ReleaseEventMessage =>
  releaseEventOf(
    {
      releaseId: `checkout-${String(n).padStart(12, '0')}`,
      service: 'checkout',
      requestedAt: AT,
      strategy: 'unplanned',
      toVersion: `v${n}`,
    },
    {
      kind: 'step',
      text: textBytes > 0 ? 'x'.repeat(textBytes) : `v${n} is queued`,
      progress: progressAt(undefined, undefined, { phase: 'queued', at: AT }),
      region: 'us-east-1',
      environment: 'default',
    },
  );

describe('Class: SnsReleaseEvents', () => {
  let events: SnsReleaseEvents;

  beforeEach(() => {
    sns.reset();
    events = new SnsReleaseEvents(new SNSClient({ region: 'us-east-1' }), () => TOPIC);
  });

  it('publishes one message with Publish: the JSON text, its kind and service as attributes', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });

    await events.publish(queued(1));

    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toEqual({
      TopicArn: TOPIC,
      Message: JSON.stringify(queued(1)),
      MessageAttributes: {
        event: { DataType: 'String', StringValue: 'step' },
        service: { DataType: 'String', StringValue: 'checkout' },
      },
    });
  });

  it('publishes several messages with PublishBatch, ten a request at most, each entry as Publish sends it', async () => {
    sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
    const messages = Array.from({ length: 12 }, (_, i) => queued(i + 1));

    await expect(events.publishAll(messages)).resolves.toEqual([]);

    const requests = sns.commandCalls(PublishBatchCommand).map((call) => call.args[0].input);
    expect(requests.map((request) => request.PublishBatchRequestEntries?.length)).toEqual([10, 2]);
    expect(requests[1]).toEqual({
      TopicArn: TOPIC,
      PublishBatchRequestEntries: [11, 12].map((n, i) => ({
        Id: String(i),
        Message: JSON.stringify(queued(n)),
        MessageAttributes: {
          event: { DataType: 'String', StringValue: 'step' },
          service: { DataType: 'String', StringValue: 'checkout' },
        },
      })),
    });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('keeps each request within 256 KB of messages and attributes', async () => {
    sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
    // Three messages of about 100 KB: two fit in 256 KB, the third goes in a request of its own.
    const messages = [1, 2, 3].map((n) => queued(n, 100_000));

    await events.publishAll(messages);

    const requests = sns.commandCalls(PublishBatchCommand).map((call) => call.args[0].input);
    expect(requests.map((request) => request.PublishBatchRequestEntries?.length)).toEqual([2, 1]);
    for (const request of requests) {
      const bytes = (request.PublishBatchRequestEntries ?? []).reduce(
        (sum, entry) => sum + Buffer.byteLength(entry.Message ?? '', 'utf8'),
        0,
      );
      expect(bytes).toBeLessThanOrEqual(262_144);
    }
  });

  it('returns each message SNS answered as failed, with its code and message', async () => {
    sns.on(PublishBatchCommand).resolves({
      Successful: [{ Id: '0', MessageId: 'm' }],
      Failed: [
        { Id: '1', Code: 'InvalidParameter', Message: 'Invalid parameter: Message', SenderFault: true },
      ],
    });

    const failed = await events.publishAll([queued(1), queued(2)]);

    expect(failed.map(({ message, error }) => [message.releaseId, error.name, error.message])).toEqual([
      ['checkout-000000000002', 'InvalidParameter', 'Invalid parameter: Message'],
    ]);
  });

  it('returns as lost only the messages of a request that failed, not those earlier requests published', async () => {
    sns
      .on(PublishBatchCommand)
      .resolvesOnce({
        Successful: [],
        Failed: [{ Id: '3', Code: 'InternalError', Message: 'Internal error', SenderFault: false }],
      })
      .rejectsOnce(
        Object.assign(new Error('User is not authorized to perform: SNS:Publish'), {
          name: 'AuthorizationErrorException',
        }),
      );
    const messages = Array.from({ length: 12 }, (_, i) => queued(i + 1));

    const failed = await events.publishAll(messages);

    expect(failed.map(({ message, error }) => [message.releaseId, error.name])).toEqual([
      ['checkout-000000000004', 'InternalError'],
      ['checkout-000000000011', 'AuthorizationErrorException'],
      ['checkout-000000000012', 'AuthorizationErrorException'],
    ]);
  });
});
