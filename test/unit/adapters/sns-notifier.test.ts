import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SnsNotifier, toSnsSubject } from '../../../lib/adapters/sns-notifier.ts';
import { TOPIC_ARN } from '../fixtures.ts';

const sns = mockClient(SNSClient);

describe('Class: SnsNotifier', () => {
  let notifier: SnsNotifier;

  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'b6a2c1f0-0000-4000-8000-000000000001' });
    notifier = new SnsNotifier(new SNSClient({ region: 'us-east-1' }));
  });

  describe('Method: publish', () => {
    it('publishes the subject, the JSON message and the event attribute', async () => {
      const message = { event: 'promoted', service: 'checkout', toVersion: 'v2', reason: null };

      await notifier.publish(TOPIC_ARN, {
        subject: '[shipline] checkout: v2 promoted, now serving 100%',
        message,
      });

      const calls = sns.commandCalls(PublishCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({
        TopicArn: TOPIC_ARN,
        Subject: '[shipline] checkout: v2 promoted, now serving 100%',
        Message: JSON.stringify(message, null, 2),
        MessageAttributes: { event: { DataType: 'String', StringValue: 'promoted' } },
      });
      expect(JSON.parse(calls[0]?.args[0].input.Message ?? '')).toEqual(message);
    });

    it('uses "release" as the event attribute when the message has no event', async () => {
      await notifier.publish(TOPIC_ARN, { subject: 's', message: { service: 'checkout' } });

      expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.MessageAttributes).toEqual({
        event: { DataType: 'String', StringValue: 'release' },
      });
    });

    it('sends an ASCII subject of less than 100 characters', async () => {
      const reason = 'alarm checkout-green-5xx went to ALARM at 25% — p99 latency → 2.4s '.repeat(3);

      await notifier.publish(TOPIC_ARN, {
        subject: `[shipline] checkout: v2 rolled back to v1: ${reason}`,
        message: { event: 'rolled_back' },
      });

      const subject = sns.commandCalls(PublishCommand)[0]?.args[0].input.Subject ?? '';
      expect(subject.length).toBeLessThan(100);
      expect(subject).toMatch(/^[\x20-\x7e]+$/);
      expect(subject.endsWith('...')).toBe(true);
      expect(subject.startsWith('[shipline] checkout: v2 rolled back to v1: alarm checkout-green-5xx')).toBe(
        true,
      );
    });

    it('propagates a publish failure', async () => {
      sns.on(PublishCommand).rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFound' }));

      await expect(notifier.publish(TOPIC_ARN, { subject: 's', message: {} })).rejects.toThrow(
        'Topic does not exist',
      );
    });
  });
});

describe('Function: toSnsSubject', () => {
  it('keeps a short ASCII subject as is', () => {
    expect(toSnsSubject('[shipline] checkout: releasing v2 (from v1)')).toBe(
      '[shipline] checkout: releasing v2 (from v1)',
    );
  });

  it('replaces arrows and dashes, drops other non-ASCII and collapses line breaks', () => {
    expect(toSnsSubject('v1 → v2 — done ✅\nnext  line')).toBe('v1 -> v2 - done next line');
  });

  it('cuts a long subject to 99 characters ending in "..." (SNS wants less than 100)', () => {
    const subject = toSnsSubject('x'.repeat(250));

    expect(subject).toHaveLength(99);
    expect(subject).toBe(`${'x'.repeat(96)}...`);
  });

  it('keeps a subject of 99 characters whole and cuts one of 100', () => {
    expect(toSnsSubject('y'.repeat(99))).toBe('y'.repeat(99));
    expect(toSnsSubject('y'.repeat(100))).toBe(`${'y'.repeat(96)}...`);
  });
});
