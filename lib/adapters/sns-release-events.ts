import {
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
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
    await this.client.send(new PublishCommand({ TopicArn: this.topicArn(), ...entryOf(message) }));
  }

  /**
   * Publishes the messages with PublishBatch: at most ten a request, and at most 256 KB (262,144 bytes) of
   * messages and attributes a request ("The maximum allowed individual message size and the maximum total
   * payload size (the sum of the individual lengths of all of the batched messages) are both 256 KB":
   * PublishBatch, Amazon SNS API Reference). A batch answers each message on its own: the ones in `Failed`
   * are returned with their error; a request that fails loses its own messages (returned with its error),
   * never those an earlier request published, and the next request is still sent.
   */
  public async publishAll(
    messages: readonly ReleaseEventMessage[],
  ): Promise<Array<{ message: ReleaseEventMessage; error: Error }>> {
    const failed: Array<{ message: ReleaseEventMessage; error: Error }> = [];
    for (const batch of batchesOf(messages.map((message) => ({ message, entry: entryOf(message) })))) {
      const entries = batch.map(({ entry }, i): PublishBatchRequestEntry => ({ Id: String(i), ...entry }));
      let answer: { Failed?: Array<{ Id?: string; Code?: string; Message?: string }> };
      try {
        answer = await this.client.send(
          new PublishBatchCommand({ TopicArn: this.topicArn(), PublishBatchRequestEntries: entries }),
        );
      } catch (error) {
        const lost = error instanceof Error ? error : new Error(String(error));
        for (const { message } of batch) failed.push({ message, error: lost });
        continue;
      }
      for (const entry of answer.Failed ?? []) {
        const message = batch[Number(entry.Id)]?.message;
        if (message)
          failed.push({
            message,
            error: Object.assign(new Error(entry.Message ?? entry.Code ?? 'not published'), {
              name: entry.Code ?? 'PublishBatchEntryFailed',
            }),
          });
      }
    }
    return failed;
  }
}

/** At most ten messages in a PublishBatch request. */
const MAX_BATCH_ENTRIES = 10;
/** At most 256 KB of messages and attributes in a PublishBatch request (and in one message). */
const MAX_BATCH_BYTES = 262_144;

/** A message as a Publish request carries it: the JSON text, and its kind and service as attributes. */
const entryOf = (message: ReleaseEventMessage) => ({
  Message: JSON.stringify(message),
  MessageAttributes: {
    event: { DataType: 'String', StringValue: message.kind },
    service: { DataType: 'String', StringValue: message.service },
  },
});

/** A message's bytes as SNS counts them against the limit: its text and its attributes' names and values. */
const bytesOf = (entry: ReturnType<typeof entryOf>): number =>
  Buffer.byteLength(entry.Message, 'utf8') +
  Object.entries(entry.MessageAttributes).reduce(
    (sum, [name, value]) =>
      sum +
      Buffer.byteLength(name, 'utf8') +
      Buffer.byteLength(value.DataType, 'utf8') +
      Buffer.byteLength(value.StringValue, 'utf8'),
    0,
  );

/** The messages in order, in batches of at most ten and at most 256 KB (a larger message goes alone). */
const batchesOf = <T extends { entry: ReturnType<typeof entryOf> }>(items: readonly T[]): T[][] => {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item.entry);
    if (current.length > 0 && (current.length === MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
};

/** The release-events publisher on a new SNS client; the topic is read at each publish (the function's environment). */
export const createSnsReleaseEvents = (topicArn: () => string): SnsReleaseEvents =>
  new SnsReleaseEvents(customize(new SNSClient(clientBase()), 'SNS'), topicArn);
