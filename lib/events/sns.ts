import * as z from 'zod/mini';
import { InvalidInputError } from '../errors.ts';
import { parseInput } from './parse.ts';

const text = () => z.string().check(z.minLength(1));

/** The SNS event Lambda receives from a topic subscription: its records, each with the message as text. */
export const snsEventSchema = z.object({
  Records: z.array(
    z.looseObject({
      Sns: z.looseObject({ TopicArn: text(), MessageId: text(), Message: z.string() }),
    }),
  ),
});

/**
 * The messages an SNS invocation carries, in record order (SNS hands Lambda one record per invocation, but
 * the event shape is a list), each parsed as JSON by `schema`. A record that is not one is an error naming
 * it (`what`, e.g. "release event"): the subscription points at the wrong topic, or the message was damaged.
 */
export const snsMessagesOf = <T>(event: unknown, schema: z.ZodMiniType<T>, what: string): T[] =>
  parseInput(snsEventSchema, event, 'SNS event').Records.map((record, index) => {
    let body: unknown;
    try {
      body = JSON.parse(record.Sns.Message);
    } catch {
      throw new InvalidInputError(
        `SNS record ${index} (message ${record.Sns.MessageId} from ${record.Sns.TopicArn}) is not JSON: not a ${what}`,
      );
    }
    return parseInput(schema, body, `${what} ${record.Sns.MessageId}`);
  });
