import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SUBJECT_MAX_LENGTH } from '../domain/notifications.ts';
import type { Notification, Notifier } from '../ports/notifier.ts';
import { clientBase, customize } from './aws-clients.ts';

const SUBJECT_MAX = SUBJECT_MAX_LENGTH;

/**
 * SNS subjects: ASCII, no line breaks, less than 100 characters (SNS API reference, Publish). The domain
 * already fits its subjects; this is the last guard before the wire.
 */
export const toSnsSubject = (subject: string): string => {
  const ascii = subject
    .replace(/[→]/g, '->')
    .replace(/[—–]/g, '-')
    .replace(/[^\x20-\x7e]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return ascii.length <= SUBJECT_MAX ? ascii : `${ascii.slice(0, SUBJECT_MAX - 3)}...`;
};

export class SnsNotifier implements Notifier {
  public constructor(private readonly client: SNSClient) {}

  public async publish(topicArn: string, notification: Notification): Promise<void> {
    const event = typeof notification.message.event === 'string' ? notification.message.event : 'release';
    await this.client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: toSnsSubject(notification.subject),
        Message: JSON.stringify(notification.message, null, 2),
        MessageAttributes: { event: { DataType: 'String', StringValue: event } },
      }),
    );
  }
}

/** The notifier on a new SNS client. */
export const createSnsNotifier = (): SnsNotifier =>
  new SnsNotifier(customize(new SNSClient(clientBase()), 'SNS'));
