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
    if (command !== 'Publish') return undefined;
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
    const size =
      Buffer.byteLength(message, 'utf8') +
      Buffer.byteLength(JSON.stringify(input.MessageAttributes ?? {}), 'utf8');
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
      this.world.record('notify', subject);
    }
    this.onPublished?.(published);
    return { MessageId: published.messageId };
  }
}
