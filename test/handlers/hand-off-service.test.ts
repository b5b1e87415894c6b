import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import { progressSequence } from '../../lib/domain/release-progress.ts';
import {
  BLUE_TG,
  fixedClock,
  GREEN_TG,
  LISTENER_RULE_ARN,
  notificationsLostInput,
  STATE_MACHINE_ARN,
  TABLE,
  TOPIC_ARN,
} from '../unit/fixtures.ts';
import {
  HOLDER,
  LOCK_KEY,
  lease,
  NOW,
  PENDING,
  PENDING_TOKEN,
  pendingInput,
  pendingWait,
  QUEUE_KEY,
} from './pending-push.ts';
import { lambdaContext, setHandlerEnvironment } from './support.ts';

const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const cloudwatch = mockClient(CloudWatchClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const context = lambdaContext('shipline-hand-off-service');
let handler: typeof import('../../functions/hand-off-service.ts')['handler'];

describe('Handler: hand-off-service', () => {
  let previousClock: Clock;

  beforeAll(async () => {
    setHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler } = await import('../../functions/hand-off-service.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
  });

  beforeEach(() => {
    sfn.reset();
    ddb.reset();
    sns.reset();
    cloudwatch.reset();
    cloudwatch.on(PutMetricDataCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
  });

  it("releases the lock and starts the pending push's execution with the name and input it was queued with", async () => {
    ddb.on(GetCommand, { Key: LOCK_KEY }).resolves(lease('2025-03-04T10:00:00Z'));
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves(pendingWait('2025-03-04T10:05:00Z'));
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:e', startDate: new Date(0) });

    await expect(handler({ service: 'checkout', releaseId: HOLDER }, context)).resolves.toEqual({
      released: true,
      woke: PENDING,
    });

    expect(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { stateMachineArn: STATE_MACHINE_ARN, name: PENDING, input: pendingInput('2025-03-04T10:05:00Z') },
    ]);
    const deletes = ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input);
    expect(deletes).toContainEqual({
      TableName: TABLE,
      Key: LOCK_KEY,
      ConditionExpression: 'holder = :holder',
      ExpressionAttributeValues: { ':holder': HOLDER },
    });
    // Marked as being started before the start, only if the queue still holds that very pending push (a
    // person's withdrawal that came first makes the mark fail, and nothing is started).
    expect(ddb.commandCalls(PutCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({
        TableName: TABLE,
        Item: expect.objectContaining({ ...QUEUE_KEY, taskToken: `${PENDING_TOKEN}:starting` }),
        ConditionExpression: 'releaseId = :release AND taskToken = :token',
        ExpressionAttributeValues: { ':release': PENDING, ':token': PENDING_TOKEN },
      }),
    ]);
    // Out of the queue once started, only if it is still that very pending push, as marked.
    expect(deletes.at(-1)).toEqual({
      TableName: TABLE,
      Key: QUEUE_KEY,
      ConditionExpression: 'taskToken = :token AND releaseId = :release',
      ExpressionAttributeValues: { ':token': `${PENDING_TOKEN}:starting`, ':release': PENDING },
    });
  });

  it('keeps the pending push queued when StartExecution fails, so the retried hand-off starts it', async () => {
    ddb.on(GetCommand, { Key: LOCK_KEY }).resolves(lease('2025-03-04T10:00:00Z'));
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves(pendingWait('2025-03-04T10:05:00Z'));
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(handler({ service: 'checkout', releaseId: HOLDER }, context)).rejects.toThrow(
      'Rate exceeded',
    );

    const queueDeletes = ddb
      .commandCalls(DeleteCommand)
      .filter((call) => call.args[0].input.Key?.pk === QUEUE_KEY.pk);
    expect(queueDeletes).toHaveLength(0);
  });

  it('ends a pending push older than the holder as superseded: recorded and told, never started', async () => {
    ddb.on(GetCommand, { Key: LOCK_KEY }).resolves(lease('2025-03-04T10:20:00Z'));
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves(pendingWait('2025-03-04T10:05:00Z'));

    await expect(handler({ service: 'checkout', releaseId: HOLDER }, context)).resolves.toEqual({
      released: true,
      woke: null,
    });

    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    const record = ddb
      .commandCalls(PutCommand)
      .map((call) => call.args[0].input.Item)
      .find((item) => item?.status === 'superseded');
    expect(record).toMatchObject({
      releaseId: PENDING,
      toVersion: 'v3',
      requestedAt: '2025-03-04T10:05:00Z',
      reason: `superseded by newer release ${HOLDER}`,
    });
    const told = sns.commandCalls(PublishCommand).find((call) => call.args[0].input.TopicArn === TOPIC_ARN);
    expect(told?.args[0].input.Subject).toBe('[shipline] checkout: v3 skipped, superseded by a newer push');
    expect(ddb.commandCalls(DeleteCommand).at(-1)?.args[0].input).toEqual({
      TableName: TABLE,
      Key: QUEUE_KEY,
      ConditionExpression: 'taskToken = :token AND releaseId = :release',
      ExpressionAttributeValues: { ':token': PENDING_TOKEN, ':release': PENDING },
    });
  });
  it('counts a replaced push it could not tell as Shipline/NotificationsLost, and still starts the queued push', async () => {
    const replaced = 'checkout-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
    const queued = pendingWait('2025-03-04T10:05:00Z');
    // The queued push replaced an older pending push, and its trigger dead-lettered before telling it.
    const withReplaced = {
      Item: {
        ...queued.Item,
        data: {
          ...queued.Item.data,
          supersedes: {
            executionName: replaced,
            requestedAt: '2025-03-04T10:03:00Z',
            taskToken: `pending-push:${replaced}:2025-03-04T10:03:00.100Z:2:r-0`,
            pendingInput: pendingInput('2025-03-04T10:03:00Z'),
          },
        },
      },
    };
    ddb.on(GetCommand, { Key: LOCK_KEY }).resolves(lease('2025-03-04T10:00:00Z'));
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves(withReplaced);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:e', startDate: new Date(0) });
    // SNS keeps refusing: the replaced push cannot be told.
    sns
      .on(PublishCommand)
      .rejects(
        Object.assign(new Error('not authorized to publish'), { name: 'AuthorizationErrorException' }),
      );

    await expect(handler({ service: 'checkout', releaseId: HOLDER }, context)).resolves.toEqual({
      released: true,
      woke: PENDING,
    });

    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    expect(cloudwatch.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input)).toEqual([
      notificationsLostInput(),
    ]);
  });

  it('counts nothing when every push was told', async () => {
    ddb.on(GetCommand, { Key: LOCK_KEY }).resolves(lease('2025-03-04T10:00:00Z'));
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves(pendingWait('2025-03-04T10:05:00Z'));
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:e', startDate: new Date(0) });

    await handler({ service: 'checkout', releaseId: HOLDER }, context);

    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });
});

/** The ended-execution hand-off shares the hand-off's path, so it counts a lost telling the same way. */
describe('Handler: hand-off-ended-execution', () => {
  let endedHandler: typeof import('../../functions/hand-off-ended-execution.ts')['handler'];
  let previousClock: Clock;
  const endedContext = lambdaContext('shipline-hand-off-ended-execution');

  beforeAll(async () => {
    setHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler: endedHandler } = await import('../../functions/hand-off-ended-execution.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
  });

  beforeEach(() => {
    sfn.reset();
    ddb.reset();
    sns.reset();
    cloudwatch.reset();
    cloudwatch.on(PutMetricDataCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    ddb.on(PutCommand).resolves({});
  });

  it('counts a replaced push it could not tell as Shipline/NotificationsLost after a release that ended SUCCEEDED', async () => {
    const replaced = 'checkout-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
    const queued = pendingWait('2025-03-04T10:05:00Z');
    ddb.on(GetCommand, { Key: LOCK_KEY }).resolves(lease('2025-03-04T10:00:00Z'));
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves({
      Item: {
        ...queued.Item,
        data: {
          ...queued.Item.data,
          supersedes: {
            executionName: replaced,
            requestedAt: '2025-03-04T10:03:00Z',
            taskToken: `pending-push:${replaced}:2025-03-04T10:03:00.100Z:2:r-0`,
            pendingInput: pendingInput('2025-03-04T10:03:00Z'),
          },
        },
      },
    });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:e', startDate: new Date(0) });
    sns
      .on(PublishCommand)
      .rejects(
        Object.assign(new Error('not authorized to publish'), { name: 'AuthorizationErrorException' }),
      );

    await expect(
      endedHandler(
        {
          'detail-type': 'Step Functions Execution Status Change',
          detail: {
            name: HOLDER,
            status: 'SUCCEEDED',
            input: JSON.stringify({ service: 'checkout' }),
          },
        },
        endedContext,
      ),
    ).resolves.toEqual({ released: true, woke: PENDING });

    expect(cloudwatch.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input)).toEqual([
      notificationsLostInput(),
    ]);
  });
});

describe('Handler: hand-off-ended-execution, a promoted release stopped in its rollback window', () => {
  let endedHandler: typeof import('../../functions/hand-off-ended-execution.ts')['handler'];
  let previousClock: Clock;
  const endedContext = lambdaContext('shipline-hand-off-ended-execution');
  const REQUESTED_AT = '2025-03-04T10:00:00Z';
  const RECORD_KEY = { pk: 'SERVICE#default#checkout', sk: `RELEASE#${REQUESTED_AT}#${HOLDER}` };
  const stoppedEvent = {
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      name: HOLDER,
      status: 'ABORTED',
      input: JSON.stringify({ service: 'checkout', requestedAt: REQUESTED_AT }),
      error: 'StoppedByPerson',
      cause: 'stopped by on-call',
    },
  };

  beforeAll(async () => {
    setHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler: endedHandler } = await import('../../functions/hand-off-ended-execution.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
  });

  beforeEach(() => {
    for (const client of [sfn, ddb, sns, cloudwatch, elbv2]) client.reset();
    ddb.on(DeleteCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    ddb.on(GetCommand, { Key: LOCK_KEY }).resolves(lease(REQUESTED_AT));
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves({});
    ddb.on(GetCommand, { Key: { pk: 'SERVICE#default#checkout', sk: 'STATE' } }).resolves({
      Item: {
        pk: 'SERVICE#default#checkout',
        sk: 'STATE',
        service: 'checkout',
        stableSlot: 'green',
        stableVersion: 'v2',
        stableTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:8',
        latestRelease: HOLDER,
        updatedAt: '2025-03-04T10:32:00.000Z',
      },
    });
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          ...RECORD_KEY,
          service: 'checkout',
          releaseId: HOLDER,
          requestedAt: REQUESTED_AT,
          status: 'promoted',
          fromVersion: 'v1',
          toVersion: 'v2',
          startedAt: '2025-03-04T10:00:02.000Z',
          endedAt: '2025-03-04T10:32:00.000Z',
          progress: {
            sequence: progressSequence('window', 8),
            step: 9,
            steps: 9,
            kind: 'retire',
            state: 'rollback-window',
            newPercent: 100,
            stepStartedAt: '2025-03-04T10:32:00.000Z',
            endsAt: '2025-03-04T10:47:00.000Z',
            watchedAlarms: ['checkout-latency-p99', 'checkout-green-5xx'],
            updatedAt: '2025-03-04T10:32:00.000Z',
          },
        },
      ],
    });
    elbv2.on(DescribeRulesCommand).resolves({
      Rules: [
        {
          RuleArn: LISTENER_RULE_ARN,
          Actions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: BLUE_TG, Weight: 0 },
                  { TargetGroupArn: GREEN_TG, Weight: 100 },
                ],
              },
            },
          ],
        },
      ],
    });
  });

  it('tells the topic that v2 serves and blue is left warm, clears the window watches, keeps the record promoted, and hands the service on', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });

    await expect(endedHandler(stoppedEvent, endedContext)).resolves.toEqual({
      released: true,
      woke: null,
      ended: true,
    });

    const published = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    const told = published.filter((input) => input.TopicArn === TOPIC_ARN);
    expect(told).toHaveLength(1);
    expect(told[0]?.Subject).toBe(
      '[shipline] ACTION NEEDED checkout: v2 serves, its rollback window was stopped; blue left warm',
    );
    expect(JSON.parse(told[0]?.Message ?? '{}')).toMatchObject({
      event: 'stopped',
      toVersion: 'v2',
      reason: expect.stringContaining(
        'v2 serves 100% on green (blue 0% / green 100%); no alarm rolls v2 back automatically any more, and the old slot blue (ECS service checkout-blue, v1) is still warm and Shipline will not scale it down: scale it down with aws ecs update-service --region us-east-1 --cluster prod --service checkout-blue --desired-count 0',
      ),
      oldSlot: { slot: 'blue', ecsService: 'checkout-blue', cluster: 'prod', version: 'v1' },
    });
    // The release-events topic hears it too.
    expect(published.filter((input) => input.TopicArn !== TOPIC_ARN)).toHaveLength(1);
    // The window's watches are deleted, one per alarm it watched.
    const deleted = ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key);
    expect(deleted).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ pk: 'WAIT#ALARM#checkout-latency-p99' }),
        expect.objectContaining({ pk: 'WAIT#ALARM#checkout-green-5xx' }),
      ]),
    );
    // The record stays promoted: its reason and progress say what happened after.
    const update = ddb
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .find((input) => input.Key?.sk === RECORD_KEY.sk);
    expect(JSON.stringify(update?.ExpressionAttributeValues)).toContain(
      'stopped outside Shipline during its rollback window',
    );
    expect(JSON.stringify(update?.ExpressionAttributeValues)).not.toContain('"status"');
  });

  it('hands the service on when SNS fails, then fails so EventBridge retries the telling', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('SNS down'), { name: 'InternalErrorException' }));

    await expect(endedHandler(stoppedEvent, endedContext)).rejects.toThrow('SNS down');

    // The lock was released (its conditional delete) although the telling failed.
    expect(ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key)).toContainEqual(LOCK_KEY);
  });
});
