import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import { InvalidInputError } from '../../lib/errors.ts';
import {
  cursorAt,
  deploymentFixture,
  fixedClock,
  RELEASE_EVENTS_TOPIC_ARN,
  TABLE,
} from '../unit/fixtures.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const context = lambdaContext('shipline-confirm-bake');
const NOW = '2025-03-04T10:06:00.000Z';
const deployment = deploymentFixture();
const cursor = cursorAt(3, { shifts: [{ percent: 5, shiftedAt: '2025-03-04T10:02:00.000Z' }] });

let handler: typeof import('../../functions/confirm-bake.ts')['handler'];

describe('Handler: confirm-bake, after a person promoted the release', () => {
  let previousClock: Clock;

  beforeAll(async () => {
    setHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler } = await import('../../functions/confirm-bake.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
  });

  beforeEach(() => {
    ddb.reset();
    ddb.resolves({});
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });

  it('ends the bake as passed without reading the alarms, and goes to the retire step for a full promotion', async () => {
    const next = await handler(
      {
        deployment,
        cursor,
        promotion: {
          outcome: 'promoted',
          full: true,
          by: 'slack:T0001/U0002',
          reason: 'hotfix for an outage',
        },
      },
      context,
    );

    expect(next).toMatchObject({
      index: 8,
      step: { kind: 'retire' },
      note: 'promoted in full by slack:T0001/U0002: hotfix for an outage; 4 steps skipped',
      promotions: [{ index: 3, by: 'slack:T0001/U0002', full: true, at: NOW }],
    });
    // The bake's watches are removed, its end recorded on the release record and published.
    expect(ddb.commandCalls(DeleteCommand).length).toBeGreaterThan(0);
    const update = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(update?.TableName).toBe(TABLE);
    expect(Object.values(update?.ExpressionAttributeValues ?? {})).toContainEqual(
      expect.objectContaining({ step: 4, state: 'baking', newPercent: 5 }),
    );
    const published = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      TopicArn: RELEASE_EVENTS_TOPIC_ARN,
      MessageAttributes: { event: { DataType: 'String', StringValue: 'step' } },
    });
    expect(JSON.parse(published[0]?.Message ?? '{}')).toMatchObject({
      kind: 'step',
      actor: { via: 'slack', id: 'slack:T0001/U0002' },
      reason: 'promoted in full by slack:T0001/U0002: hotfix for an outage',
    });
  });

  it('refuses a promotion that is not the BakePromotion shape, naming the field', async () => {
    const error = await rejection(
      handler(
        {
          deployment,
          cursor,
          promotion: { outcome: 'promoted', full: 'yes', by: 'alice', reason: '' },
        } as never,
        context,
      ),
    );

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toContain('promotion.full');
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});
