import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import type { PlanStep } from '../../lib/domain/plan.ts';
import { InvalidInputError } from '../../lib/errors.ts';
import {
  deploymentFixture,
  fixedClock,
  RELEASE_EVENTS_TOPIC_ARN,
  ROLLOUT,
  TABLE,
  TOPIC_ARN,
} from '../unit/fixtures.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const context = lambdaContext('shipline-start-pause');
const NOW = '2025-03-04T10:05:00.000Z';

const STEPS: PlanStep[] = [
  { kind: 'deploy', index: 0, label: 'Deploy the new version to green' },
  { kind: 'pause', index: 1, label: 'Pause 1h for approval', timeoutSeconds: 3600, onTimeout: 'fail' },
  { kind: 'retire', index: 2, label: 'Promote green', rollbackWindowSeconds: 900, warmAfterWindowSeconds: 0 },
];
const deployment = deploymentFixture({ plan: { strategy: 'blue-green', steps: STEPS, totalBakeSeconds: 0 } });
const cursor = { index: 1, step: STEPS[1] as PlanStep, shifts: [], rollout: ROLLOUT };

let handler: typeof import('../../functions/start-pause.ts')['handler'];

/** The publishes to the users' notification topic (the release-events topic hears every transition too). */
const notificationPublishes = () =>
  sns.commandCalls(PublishCommand).filter((call) => call.args[0].input.TopicArn === TOPIC_ARN);

describe('Handler: start-pause', () => {
  let previousClock: Clock;

  beforeAll(async () => {
    setHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler } = await import('../../functions/start-pause.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
  });

  beforeEach(() => {
    ddb.reset();
    ddb.on(PutCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });

  const EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:execution:shipline-dev-release:${deployment.id}`;
  const markPut = () =>
    ddb.commandCalls(PutCommand).filter((call) => call.args[0].input.Item?.pk === `RELEASE#${deployment.id}`);

  it('registers the task token as a pause wait under the release, so a person can resume it, until the timeout', async () => {
    const result = await handler({ deployment, cursor, taskToken: 'token-pause' }, context);

    expect(result).toEqual({ waiting: true, until: '2025-03-04T11:05:00.000Z' });
    // The other write is the paused notification's mark (see below).
    const calls = ddb.commandCalls(PutCommand).filter((call) => call.args[0].input.Item?.kind === 'pause');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        pk: `WAIT#RELEASE#${deployment.id}`,
        sk: `RELEASE#${deployment.id}`,
        waitRelease: `RELEASE#${deployment.id}`,
        waitOn: `pause#${deployment.id}`,
        kind: 'pause',
        key: deployment.id,
        releaseId: deployment.id,
        service: 'checkout',
        environment: 'default',
        taskToken: 'token-pause',
        // The step's hour, plus an hour before TTL removes a wait nobody claimed.
        expiresAt: Date.parse(NOW) / 1000 + 3600 + 3600,
      },
    });
  });

  it('sends the paused notification with the step, until when, and the exact commands to approve or abort', async () => {
    await handler({ deployment, cursor, taskToken: 'token-pause', executionArn: EXECUTION_ARN }, context);

    const publishes = notificationPublishes();
    expect(publishes).toHaveLength(1);
    const input = publishes[0]?.args[0].input;
    expect(input).toMatchObject({
      TopicArn: TOPIC_ARN,
      Subject: '[shipline] checkout: v2 paused, waiting for approval (until 11:05 UTC)',
      MessageAttributes: { event: { DataType: 'String', StringValue: 'paused' } },
    });
    expect(JSON.parse(input?.Message ?? '{}')).toMatchObject({
      event: 'paused',
      service: 'checkout',
      release: deployment.id,
      toVersion: 'v2',
      executionArn: EXECUTION_ARN,
      at: NOW,
      until: '2025-03-04T11:05:00.000Z',
      step: 'Pause 1h for approval',
      stepIndex: 1,
      timeoutSeconds: 3600,
      onTimeout: 'fail',
      commands: {
        approve: `shipline approve --release ${deployment.id} --service checkout --table ${TABLE} --region us-east-1`,
        abort: `shipline abort --release ${deployment.id} --reason "<why>" --table ${TABLE} --region us-east-1`,
      },
    });
    // The release-events topic hears the pause too, with its progress (until when it waits).
    const transitions = sns
      .commandCalls(PublishCommand)
      .filter((call) => call.args[0].input.TopicArn === RELEASE_EVENTS_TOPIC_ARN);
    expect(transitions.map((call) => call.args[0].input.MessageAttributes?.event?.StringValue)).toEqual([
      'paused',
    ]);
    expect(JSON.parse(transitions[0]?.args[0].input.Message ?? '{}')).toMatchObject({
      kind: 'paused',
      executionArn: EXECUTION_ARN,
      progress: { step: 2, steps: 3, state: 'paused', endsAt: '2025-03-04T11:05:00.000Z' },
    });
    expect(markPut().map((call) => call.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Item: { pk: `RELEASE#${deployment.id}`, sk: 'NOTIFIED#paused#1', expiresAt: expect.any(Number) },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    ]);
  });

  it('notifies once per release and step: a retried invocation registers the wait again but sends nothing', async () => {
    ddb
      .on(PutCommand, { Item: { sk: 'NOTIFIED#paused#1' } })
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    const result = await handler({ deployment, cursor, taskToken: 'token-pause' }, context);

    expect(result).toEqual({ waiting: true, until: '2025-03-04T11:05:00.000Z' });
    expect(notificationPublishes()).toHaveLength(0);
  });

  it('still pauses when SNS fails: the wait is registered, the mark removed, the warning returned', async () => {
    sns
      .on(PublishCommand)
      .rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException' }));
    const result = await handler({ deployment, cursor, taskToken: 'token-pause' }, context);

    expect(result).toEqual({
      waiting: true,
      until: '2025-03-04T11:05:00.000Z',
      warnings: ['the paused notification could not be sent: NotFoundException: Topic does not exist'],
    });
    expect(
      ddb.commandCalls(PutCommand).filter((call) => call.args[0].input.Item?.kind === 'pause'),
    ).toHaveLength(1);
    expect(ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key)).toEqual([
      { pk: `RELEASE#${deployment.id}`, sk: 'NOTIFIED#paused#1' },
    ]);
  });

  it('rejects a payload without a task token and writes nothing', async () => {
    const error = await rejection(handler({ deployment, cursor }, context));

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toContain('taskToken');
    expect(ddb.calls()).toHaveLength(0);
  });
});
