import { SimulatedAwsError } from './errors.ts';
import type { AwsServiceContext } from './services.ts';

export interface PublishedMessage {
  at: number;
  messageId: string;
  topicArn: string;
  subject: string;
  message: string;
  attributes: Record<string, unknown>;
}

const MAX_MESSAGE_BYTES = 262_144;
/** PublishBatch: "Publishes up to 10 messages to the specified topic in a single batch." */
const MAX_BATCH_ENTRIES = 10;

/**
 * A message's bytes as SNS counts them against its 256 KB: the message and each attribute's name, data type
 * and value ("The message size includes the message body and attributes": Amazon SNS message attributes).
 */
const sizeOf = (input: Record<string, unknown>): number => {
  const attributes = (input.MessageAttributes ?? {}) as Record<
    string,
    { DataType?: unknown; StringValue?: unknown; BinaryValue?: unknown }
  >;
  let size = Buffer.byteLength(String(input.Message ?? ''), 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(String(value?.DataType ?? ''), 'utf8');
    if (value?.StringValue !== undefined) size += Buffer.byteLength(String(value.StringValue), 'utf8');
    if (value?.BinaryValue instanceof Uint8Array) size += value.BinaryValue.byteLength;
  }
  return size;
};

/**
 * The service a published message is about, for the timeline: the `service` of a JSON message (Shipline's
 * notifications carry one); undefined for any other message.
 */
const serviceNamedBy = (message: string): string | undefined => {
  if (!message.startsWith('{')) return undefined;
  try {
    const service = (JSON.parse(message) as { service?: unknown }).service;
    return typeof service === 'string' ? service : undefined;
  } catch {
    return undefined;
  }
};

/** SNS topics that record what is published to them, and hand each message to the topic's subscribers. */
export class SimulatedSns {
  public readonly topics = new Set<string>();
  /** What the users' notification topics received (people read these). */
  public readonly messages: PublishedMessage[] = [];
  /**
   * The pipeline's own topics (the release-events topic): what they receive is kept apart from the users'
   * notifications, and is no notification in the timeline.
   */
  public readonly internalTopics = new Set<string>();
  /** What the internal topics received, in publish order. */
  public readonly internalMessages: PublishedMessage[] = [];
  /** Told of every message published (the world delivers it to the topic's subscribed functions). */
  public onPublished?: (message: PublishedMessage) => void;
  private published = 0;

  public constructor(private readonly world: AwsServiceContext) {}

  public handle(command: string, input: Record<string, unknown>): unknown {
    if (command === 'Publish') {
      const topicArn = this.topicOf(input);
      return { MessageId: this.publish(topicArn, input) };
    }
    if (command === 'PublishBatch') return this.publishBatch(input);
    return undefined;
  }

  /** The topic a request names: it must exist in this world's region. */
  private topicOf(input: Record<string, unknown>): string {
    const topicArn = String(input.TopicArn ?? '');
    // A topic is reached only through its own region's endpoint: SNS answers a topic ARN of another
    // region with InvalidParameter "Invalid parameter: TopicArn", not NotFound.
    const topicRegion = topicArn.split(':')[3];
    if (topicArn.startsWith('arn:') && topicRegion !== this.world.region)
      throw new SimulatedAwsError(
        'InvalidParameterException',
        `Invalid parameter: TopicArn (topic region ${topicRegion ?? '?'}, client region ${this.world.region})`,
      );
    if (!this.topics.has(topicArn))
      throw new SimulatedAwsError('NotFoundException', `Topic does not exist: ${topicArn}`);
    return topicArn;
  }

  /** One message as Publish (or one entry of PublishBatch) sends it: validated, recorded, delivered. */
  private publish(topicArn: string, input: Record<string, unknown>): string {
    const subject = input.Subject === undefined ? '' : String(input.Subject);
    // SNS Publish: "Subjects must be UTF-8 text with no line breaks or control characters, and less than
    // 100 characters long"; the sandbox also refuses non-ASCII, which email subjects mangle.
    if (subject.length >= 100 || /[^\x20-\x7e]/.test(subject)) {
      throw new SimulatedAwsError('InvalidParameterException', 'Invalid parameter: Subject');
    }
    const message = String(input.Message ?? '');
    if (message.length === 0)
      throw new SimulatedAwsError('InvalidParameterException', 'Invalid parameter: Empty message');
    // SNS Publish: the message, with its attributes, is at most 256 KB (262,144 bytes).
    const size = sizeOf(input);
    if (size > MAX_MESSAGE_BYTES)
      throw new SimulatedAwsError(
        'InvalidParameterException',
        `Invalid parameter: Message too long (${size} bytes, at most ${MAX_MESSAGE_BYTES})`,
      );
    this.published += 1;
    const published: PublishedMessage = {
      at: this.world.clock.nowMillis,
      // Counted, not drawn from the run's random source: publishing must not shift the run's jitter.
      messageId: `00000000-0000-4000-8000-${String(this.published).padStart(12, '0')}`,
      topicArn,
      subject,
      message,
      attributes: (input.MessageAttributes as Record<string, unknown>) ?? {},
    };
    if (this.internalTopics.has(topicArn)) this.internalMessages.push(published);
    else {
      this.messages.push(published);
      this.world.record('notify', subject, undefined, serviceNamedBy(message));
    }
    this.onPublished?.(published);
    return published.messageId;
  }

  /**
   * PublishBatch (Amazon SNS API Reference): up to ten entries, each with an Id unique in the request of up to
   * 80 alphanumeric characters, hyphens and underscores, and at most 256 KB (262,144 bytes) of messages in
   * all; a request that breaks one of these is refused whole (EmptyBatchRequest, TooManyEntriesInBatchRequest,
   * InvalidBatchEntryId, BatchEntryIdsNotDistinct, BatchRequestTooLong). Each entry is then published as
   * Publish would publish it, and answered on its own: in `Successful` with its message id, or in `Failed`
   * with the code Publish would have answered (the request itself succeeds).
   */
  private publishBatch(input: Record<string, unknown>): unknown {
    const topicArn = this.topicOf(input);
    const entries = (input.PublishBatchRequestEntries as Array<Record<string, unknown>> | undefined) ?? [];
    if (entries.length === 0)
      throw new SimulatedAwsError(
        'EmptyBatchRequestException',
        "The batch request doesn't contain any entries.",
      );
    if (entries.length > MAX_BATCH_ENTRIES)
      throw new SimulatedAwsError(
        'TooManyEntriesInBatchRequestException',
        `The batch request contains more entries than permissible (${entries.length}, at most ${MAX_BATCH_ENTRIES}).`,
      );
    const ids = new Set<string>();
    for (const entry of entries) {
      const id = String(entry.Id ?? '');
      if (!/^[A-Za-z0-9_-]{1,80}$/.test(id))
        throw new SimulatedAwsError(
          'InvalidBatchEntryIdException',
          `The Id of a batch entry in a batch request doesn't abide by the specification: ${JSON.stringify(id)}.`,
        );
      if (ids.has(id))
        throw new SimulatedAwsError(
          'BatchEntryIdsNotDistinctException',
          `Two or more batch entries in the request have the same Id: ${id}.`,
        );
      ids.add(id);
    }
    const total = entries.reduce((sum, entry) => sum + sizeOf(entry), 0);
    if (total > MAX_MESSAGE_BYTES)
      throw new SimulatedAwsError(
        'BatchRequestTooLongException',
        `The length of all the messages put together is more than the limit (${total} bytes, at most ${MAX_MESSAGE_BYTES}).`,
      );
    const Successful: Array<{ Id: string; MessageId: string }> = [];
    const Failed: Array<{ Id: string; Code: string; Message: string; SenderFault: boolean }> = [];
    for (const entry of entries) {
      const Id = String(entry.Id);
      try {
        Successful.push({ Id, MessageId: this.publish(topicArn, entry) });
      } catch (error) {
        if (!(error instanceof SimulatedAwsError)) throw error;
        Failed.push({
          Id,
          Code: error.name.replace(/Exception$/, ''),
          Message: error.message,
          SenderFault: true,
        });
      }
    }
    return { Successful, Failed };
  }
}
