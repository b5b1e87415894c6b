import { describe, expect, it } from 'vitest';
import { progressAt, releaseEventOf, subjectOfDeployment } from '../../lib/domain/release-progress.ts';
import { InvalidInputError } from '../../lib/errors.ts';
import { releaseEventsFromSns } from '../../lib/events/release-event.ts';
import { deploymentFixture } from './fixtures.ts';

const AT = '2025-03-04T10:10:00.000Z';
const message = releaseEventOf(subjectOfDeployment(deploymentFixture()), {
  kind: 'promoted',
  text: 'v2 promoted',
  progress: progressAt(deploymentFixture().plan, undefined, { phase: 'ended', state: 'promoted', at: AT }),
  region: 'us-east-1',
  environment: 'default',
});
/** The event Lambda receives from an SNS subscription (Lambda Developer Guide, SNS sample event). */
const snsEvent = (body: string) => ({
  Records: [
    {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:shipline-dev-release-events:1',
      Sns: {
        Type: 'Notification',
        MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
        TopicArn: 'arn:aws:sns:us-east-1:123456789012:shipline-dev-release-events',
        Subject: null,
        Message: body,
        Timestamp: AT,
        MessageAttributes: { event: { Type: 'String', Value: 'promoted' } },
      },
    },
  ],
});

describe('Event: a release event as a subscriber receives it from SNS', () => {
  it('reads the ReleaseEventMessage of each record', () => {
    expect(releaseEventsFromSns(snsEvent(JSON.stringify(message)))).toEqual([message]);
  });

  it('refuses a message that is not JSON, naming the message and its topic', () => {
    expect(() => releaseEventsFromSns(snsEvent('hello'))).toThrow(
      new InvalidInputError(
        'SNS record 0 (message 95df01b4-ee98-5cb9-9903-4c221d41eb5e from arn:aws:sns:us-east-1:123456789012:shipline-dev-release-events) is not JSON: not a release event',
      ),
    );
  });

  it('refuses a JSON message that is no release event, naming the bad field', () => {
    const error = (() => {
      try {
        releaseEventsFromSns(
          snsEvent(JSON.stringify({ ...message, progress: { ...message.progress, state: 'done' } })),
        );
      } catch (caught) {
        return caught as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error?.message).toContain('progress.state');
  });

  it('refuses an event that is not from SNS', () => {
    expect(() => releaseEventsFromSns({ detail: {} })).toThrow(/SNS event is malformed: Records/);
  });
});
