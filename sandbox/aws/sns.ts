import { SimulatedAwsError } from './errors.ts';
import type { SimulatedWorld } from './world.ts';

export interface PublishedMessage {
  at: number;
  topicArn: string;
  subject: string;
  message: string;
  attributes: Record<string, unknown>;
}

/** SNS topics that record what is published to them. */
export class SimulatedSns {
  public readonly topics = new Set<string>();
  public readonly messages: PublishedMessage[] = [];

  public constructor(private readonly world: SimulatedWorld) {}

  public handle(command: string, input: Record<string, unknown>): unknown {
    if (command !== 'Publish') return undefined;
    const topicArn = String(input.TopicArn ?? '');
    if (!this.topics.has(topicArn))
      throw new SimulatedAwsError('NotFoundException', `Topic does not exist: ${topicArn}`);
    const subject = input.Subject === undefined ? '' : String(input.Subject);
    // SNS: subjects are ASCII, no line breaks, at most 100 characters.
    if (subject.length > 100 || /[^\x20-\x7e]/.test(subject)) {
      throw new SimulatedAwsError('InvalidParameterException', 'Invalid parameter: Subject');
    }
    const message = String(input.Message ?? '');
    if (message.length === 0)
      throw new SimulatedAwsError('InvalidParameterException', 'Invalid parameter: Empty message');
    this.messages.push({
      at: this.world.clock.nowMillis,
      topicArn,
      subject,
      message,
      attributes: (input.MessageAttributes as Record<string, unknown>) ?? {},
    });
    this.world.record('notify', subject);
    return { MessageId: `sandbox-${this.messages.length}` };
  }
}
