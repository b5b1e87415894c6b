import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { ReleaseEventMessage } from '../domain/progress.ts';
import { clientBase, customize } from './aws-clients.ts';

/**
 * Publishes release events on the internal topic: the JSON message, and the kind as the SNS message
 * attribute `event`, so a subscription's filter policy can pick kinds (`{"event": ["promoted"]}`).
 */
export class SnsReleaseEvents {
  public constructor(
    private readonly client: SNSClient,
    private readonly topicArn: () => string,
  ) {}

  public async publish(message: ReleaseEventMessage): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn(),
        Message: JSON.stringify(message),
        MessageAttributes: {
          event: { DataType: 'String', StringValue: message.kind },
          service: { DataType: 'String', StringValue: message.service },
        },
      }),
    );
  }
}

/** The release-events publisher on a new SNS client; the topic is read at each publish (the function's environment). */
export const createSnsReleaseEvents = (topicArn: () => string): SnsReleaseEvents =>
  new SnsReleaseEvents(customize(new SNSClient(clientBase()), 'SNS'), topicArn);
