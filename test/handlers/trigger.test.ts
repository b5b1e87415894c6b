import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PublishBatchCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import { InvalidInputError } from '../../lib/errors.ts';
import {
  ecrPushEvent,
  fixedClock,
  notificationsLostInput,
  RELEASE_EVENTS_TOPIC_ARN,
  STATE_MACHINE_ARN,
  TABLE,
  TOPIC_ARN,
  V2_DIGEST,
  V2_IMAGE,
  V2_RELEASE_ID,
} from '../unit/fixtures.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const cloudwatch = mockClient(CloudWatchClient);
const NOW = '2025-03-04T10:00:01.000Z';
const NOW_EPOCH = Date.parse(NOW) / 1000;
const LOCK_KEY = { pk: 'SERVICE#default#checkout', sk: 'LOCK' };
const QUEUE_KEY = { pk: 'WAIT#QUEUE#default/checkout', sk: 'SOLE' };
const HOLDER = 'checkout-0123456789ab';
const HOLDER_ARN = `arn:aws:states:us-east-1:123456789012:execution:shipline-release:${HOLDER}`;
/** The lease of a release pushed before v2 (09:00), still running. */
const heldLock = {
  Item: {
    ...LOCK_KEY,
    holder: HOLDER,
    requestedAt: '2025-03-04T09:00:00Z',
    acquiredAt: '2025-03-04T09:00:01.000Z',
    leaseExpiresAt: NOW_EPOCH + 1800,
  },
};
/** v1.5, pushed at 09:30 and queued as data (a pending push) behind the holder, as the table holds it. */
const OLDER_PENDING = {
  ...QUEUE_KEY,
  kind: 'lock-queue',
  key: 'default/checkout',
  releaseId: 'checkout-111111111111',
  service: 'checkout',
  environment: 'default',
  taskToken: 'pending-push:checkout-111111111111:x',
  data: {
    requestedAt: '2025-03-04T09:30:00Z',
    pendingInput: JSON.stringify({
      service: 'checkout',
      image: { repository: 'checkout', digest: `sha256:${'1'.repeat(64)}`, tag: 'v1.5' },
      requestedAt: '2025-03-04T09:30:00Z',
      source: 'ecr-push',
    }),
  },
};
const context = lambdaContext('shipline-trigger');
const EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:execution:shipline-release:${V2_RELEASE_ID}`;

let handler: typeof import('../../functions/trigger.ts')['handler'];
let logger: typeof import('../../functions/shared/stack.ts')['logger'];

type Key = { pk: string; sk: string };
type Item = Record<string, unknown>;

/**
 * The table's items as the trigger reads them, by GetItem or BatchGetItem alike: `itemAt` answers the
 * `nth` read (from 0) of each key (undefined: no such item), so a test can change an item between reads.
 */
const serveReads = (itemAt: (key: Key, nth: number) => Item | undefined) => {
  const reads = new Map<string, number>();
  const read = (key: Key): Item | undefined => {
    const id = `${key.pk}|${key.sk}`;
    const nth = reads.get(id) ?? 0;
    reads.set(id, nth + 1);
    return itemAt(key, nth);
  };
  ddb.on(GetCommand).callsFake((input: { Key: Key }) => {
    const item = read(input.Key);
    return item ? { Item: item } : {};
  });
  ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: Key[] }> }) => ({
    Responses: Object.fromEntries(
      Object.entries(input.RequestItems).map(([table, { Keys }]) => [
        table,
        Keys.map(read).filter((item): item is Item => item !== undefined),
      ]),
    ),
    UnprocessedKeys: {},
  }));
};
const sameKey = (a: Key, b: Key) => a.pk === b.pk && a.sk === b.sk;

describe('Handler: trigger', () => {
  let previousClock: Clock;

  beforeAll(async () => {
    setHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler } = await import('../../functions/trigger.ts'));
    ({ logger } = await import('../../functions/shared/stack.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
  });

  /** The holder's execution runs; no execution of the pushed digest exists yet. */
  const runningHolder = () => {
    sfn
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }));
    sfn.on(DescribeExecutionCommand, { executionArn: HOLDER_ARN }).resolves({ status: 'RUNNING' });
  };

  beforeEach(() => {
    sfn.reset();
    ddb.reset();
    sns.reset();
    cloudwatch.reset();
    // No release holds the service's lock: the push starts its execution at once.
    serveReads(() => undefined);
    // The service's newest records (a duplicate looks for the pushes it superseded that were never told).
    ddb.on(QueryCommand).resolves({ Items: [] });
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
  });

  it('queues a push as data behind a running release: no execution, a pending waiter with its input', async () => {
    serveReads((key) => (sameKey(key, LOCK_KEY) ? heldLock.Item : undefined));
    ddb.on(PutCommand).resolves({});
    runningHolder();

    const result = await handler(ecrPushEvent(), context);

    expect(result).toEqual({
      status: 'queued',
      service: 'checkout',
      executionName: V2_RELEASE_ID,
      executionArn: EXECUTION_ARN,
      behind: HOLDER,
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input).toEqual({
      executionArn: HOLDER_ARN,
    });
    // Whether this push was told superseded, the lease and the queue: one strongly consistent read.
    expect(ddb.commandCalls(BatchGetCommand)[0]?.args[0].input).toEqual({
      RequestItems: {
        [TABLE]: {
          Keys: [LOCK_KEY, QUEUE_KEY, { pk: `RELEASE#${V2_RELEASE_ID}`, sk: 'NOTIFIED#superseded' }],
          ConsistentRead: true,
        },
      },
    });
    // After the enqueue, the lease once more (nothing else to read: the queue held no push).
    expect(ddb.commandCalls(GetCommand).map((call) => call.args[0].input)).toEqual([
      { TableName: TABLE, Key: LOCK_KEY, ConsistentRead: true },
    ]);
    const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put).toEqual({
      TableName: TABLE,
      Item: {
        pk: 'WAIT#QUEUE#default/checkout',
        sk: 'SOLE',
        waitRelease: `RELEASE#${V2_RELEASE_ID}`,
        waitOn: 'lock-queue#default/checkout',
        kind: 'lock-queue',
        key: 'default/checkout',
        releaseId: V2_RELEASE_ID,
        service: 'checkout',
        environment: 'default',
        taskToken: expect.stringMatching(new RegExp(`^pending-push:${V2_RELEASE_ID}:`)),
        data: {
          requestedAt: '2025-03-04T10:00:00Z',
          receivedAt: NOW,
          receivedSeq: expect.any(Number),
          pendingInput: expect.any(String),
        },
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    // The input its execution will be started with, exactly as the trigger would have sent it.
    expect(JSON.parse(String(put?.Item?.data?.pendingInput))).toEqual({
      service: 'checkout',
      image: { repository: 'checkout', digest: V2_DIGEST, tag: 'v2', uri: V2_IMAGE },
      requestedAt: '2025-03-04T10:00:00Z',
      receivedAt: NOW,
      receivedSeq: expect.any(Number),
      receiptId: context.awsRequestId,
      source: 'ecr-push',
    });
    // Only the release-events topic hears that it waits (as a queued execution's wait says today).
    expect(sns.commandCalls(PublishCommand).map((call) => call.args[0].input.TopicArn)).toEqual([
      RELEASE_EVENTS_TOPIC_ARN,
    ]);
  });

  it('still queues when the release-events topic refuses PublishBatch, and logs each event it lost', async () => {
    serveReads((key) =>
      sameKey(key, LOCK_KEY) ? heldLock.Item : sameKey(key, QUEUE_KEY) ? OLDER_PENDING : undefined,
    );
    ddb.on(PutCommand).resolves({});
    runningHolder();
    sns.on(PublishBatchCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: SNS:Publish'), {
        name: 'AuthorizationErrorException',
      }),
    );
    const errors = vi.spyOn(logger, 'error');

    try {
      await expect(handler(ecrPushEvent(), context)).resolves.toMatchObject({ status: 'queued' });

      // Sent once, when the invocation ended; both events it held are logged as lost, by release.
      expect(sns.commandCalls(PublishBatchCommand)).toHaveLength(1);
      const lost = errors.mock.calls.filter(
        ([message]) => message === 'a release event could not be published',
      );
      expect(lost.map(([, detail]) => (detail as { releaseId?: string }).releaseId)).toEqual([
        'checkout-111111111111',
        V2_RELEASE_ID,
      ]);
    } finally {
      errors.mockRestore();
    }
  });

  it('supersedes the pending push it replaces: recorded and told, as its execution would have', async () => {
    const older = OLDER_PENDING;
    serveReads((key) =>
      sameKey(key, LOCK_KEY) ? heldLock.Item : sameKey(key, QUEUE_KEY) ? older : undefined,
    );
    ddb.on(PutCommand).resolves({});
    runningHolder();

    await expect(handler(ecrPushEvent(), context)).resolves.toMatchObject({ status: 'queued' });

    const puts = ddb.commandCalls(PutCommand).map((call) => call.args[0].input);
    // Replaced on condition that the queue still holds the pending push read.
    expect(puts[0]).toMatchObject({
      ConditionExpression: 'releaseId = :release AND taskToken = :token',
      ExpressionAttributeValues: {
        ':release': 'checkout-111111111111',
        ':token': 'pending-push:checkout-111111111111:x',
      },
    });
    expect(puts.map((put) => put.Item?.status).filter(Boolean)).toEqual(['superseded']);
    expect(puts.find((put) => put.Item?.status === 'superseded')?.Item).toMatchObject({
      releaseId: 'checkout-111111111111',
      toVersion: 'v1.5',
      reason: `superseded by newer release ${V2_RELEASE_ID}`,
    });
    const told = sns.commandCalls(PublishCommand).find((call) => call.args[0].input.TopicArn === TOPIC_ARN);
    expect(told?.args[0].input.Subject).toBe('[shipline] checkout: v1.5 skipped, superseded by a newer push');
    // The release-events topic hears both, in one request when the invocation ends: v1.5 superseded, v2 queued.
    expect(
      sns
        .commandCalls(PublishCommand)
        .filter((call) => call.args[0].input.TopicArn === RELEASE_EVENTS_TOPIC_ARN),
    ).toHaveLength(0);
    const [batch, ...more] = sns.commandCalls(PublishBatchCommand).map((call) => call.args[0].input);
    expect(more).toEqual([]);
    expect(batch?.TopicArn).toBe(RELEASE_EVENTS_TOPIC_ARN);
    expect(
      batch?.PublishBatchRequestEntries?.map((entry) => {
        const message = JSON.parse(entry.Message ?? '{}') as { kind: string; releaseId: string };
        return [entry.Id, entry.MessageAttributes?.event?.StringValue, message.kind, message.releaseId];
      }),
    ).toEqual([
      ['0', 'superseded', 'superseded', 'checkout-111111111111'],
      ['1', 'step', 'step', V2_RELEASE_ID],
    ]);
    // No execution was ever started for it, and none for this push yet.
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('reads the lease and whether the push the replaced one had replaced was told in one read, and tells it only if not', async () => {
    const earliest = 'checkout-000000000001';
    const older = {
      ...OLDER_PENDING,
      data: {
        ...OLDER_PENDING.data,
        // It replaced an earlier pending push, which its own trigger told.
        supersedes: {
          executionName: earliest,
          requestedAt: '2025-03-04T09:20:00Z',
          taskToken: `pending-push:${earliest}:x`,
          pendingInput: JSON.stringify({
            service: 'checkout',
            image: { repository: 'checkout', digest: `sha256:${'0'.repeat(63)}1`, tag: 'v1.4' },
            requestedAt: '2025-03-04T09:20:00Z',
            source: 'ecr-push',
          }),
        },
      },
    };
    const earliestTold = { pk: `RELEASE#${earliest}`, sk: 'NOTIFIED#superseded' };
    serveReads((key) =>
      sameKey(key, LOCK_KEY)
        ? heldLock.Item
        : sameKey(key, QUEUE_KEY)
          ? older
          : sameKey(key, earliestTold)
            ? { ...earliestTold, expiresAt: NOW_EPOCH + 1 }
            : undefined,
    );
    ddb.on(PutCommand).resolves({});
    runningHolder();

    await expect(handler(ecrPushEvent(), context)).resolves.toMatchObject({ status: 'queued' });

    // After the enqueue: the lease and the earliest push's mark, together.
    expect(ddb.commandCalls(BatchGetCommand)[1]?.args[0].input).toEqual({
      RequestItems: { [TABLE]: { Keys: [LOCK_KEY, earliestTold], ConsistentRead: true } },
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    // Only the push it replaced is recorded and told; the earliest, told before, is not again.
    const records = ddb
      .commandCalls(PutCommand)
      .map((call) => call.args[0].input.Item)
      .filter((item) => item?.status === 'superseded');
    expect(records.map((item) => item?.releaseId)).toEqual(['checkout-111111111111']);
    const told = sns.commandCalls(PublishCommand).filter((call) => call.args[0].input.TopicArn === TOPIC_ARN);
    expect(told.map((call) => call.args[0].input.Subject)).toEqual([
      '[shipline] checkout: v1.5 skipped, superseded by a newer push',
    ]);
  });

  it('reads the keys BatchGetItem left unprocessed one by one, strongly consistent, and decides on them alike', async () => {
    const queuedKey = QUEUE_KEY;
    const ownMark = { pk: `RELEASE#${V2_RELEASE_ID}`, sk: 'NOTIFIED#superseded' };
    const older = OLDER_PENDING;
    serveReads((key) =>
      sameKey(key, LOCK_KEY) ? heldLock.Item : sameKey(key, queuedKey) ? older : undefined,
    );
    // A partial result (throughput exceeded on a partition): only the lease was read, the queue and the mark
    // come back in UnprocessedKeys, as DynamoDB returns them.
    ddb.on(BatchGetCommand).resolvesOnce({
      Responses: { [TABLE]: [heldLock.Item] },
      UnprocessedKeys: { [TABLE]: { Keys: [queuedKey, ownMark], ConsistentRead: true } },
    });
    ddb.on(PutCommand).resolves({});
    runningHolder();

    await expect(handler(ecrPushEvent(), context)).resolves.toMatchObject({ status: 'queued' });

    expect(ddb.commandCalls(GetCommand).map((call) => call.args[0].input)).toEqual([
      { TableName: TABLE, Key: queuedKey, ConsistentRead: true },
      { TableName: TABLE, Key: ownMark, ConsistentRead: true },
      // The lease after the enqueue.
      { TableName: TABLE, Key: LOCK_KEY, ConsistentRead: true },
    ]);
    // The queued push read by GetItem is the one the conditional replace expects.
    const replace = ddb
      .commandCalls(PutCommand)
      .map((call) => call.args[0].input)
      .find((input) => input.Item?.kind === 'lock-queue');
    expect(replace).toMatchObject({
      Item: { releaseId: V2_RELEASE_ID, data: { supersedes: { executionName: 'checkout-111111111111' } } },
      ConditionExpression: 'releaseId = :release AND taskToken = :token',
      ExpressionAttributeValues: {
        ':release': 'checkout-111111111111',
        ':token': 'pending-push:checkout-111111111111:x',
      },
    });
  });

  it('answers a duplicate when its own superseded mark was among the unprocessed keys', async () => {
    const ownMark = { pk: `RELEASE#${V2_RELEASE_ID}`, sk: 'NOTIFIED#superseded' };
    serveReads((key) =>
      sameKey(key, LOCK_KEY) ? heldLock.Item : sameKey(key, ownMark) ? { ...ownMark } : undefined,
    );
    ddb.on(BatchGetCommand).resolvesOnce({
      Responses: { [TABLE]: [heldLock.Item] },
      UnprocessedKeys: { [TABLE]: { Keys: [ownMark], ConsistentRead: true } },
    });
    runningHolder();

    await expect(handler(ecrPushEvent(), context)).resolves.toMatchObject({ status: 'duplicate' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('starts the pending push at once when the holder handed off between the read and the enqueue', async () => {
    // The lease is there at the first read and gone at the read after the enqueue.
    serveReads((key, nth) => (sameKey(key, LOCK_KEY) && nth === 0 ? heldLock.Item : undefined));
    ddb.on(PutCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    runningHolder();
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(0) });

    await expect(handler(ecrPushEvent(), context)).resolves.toMatchObject({ status: 'started' });

    const pending = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item;
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: STATE_MACHINE_ARN,
      name: V2_RELEASE_ID,
      input: pending?.data?.pendingInput,
    });
    // Marked as being started first, on condition that the queue still holds that very pending push (a
    // person's withdrawal that came first would make it fail and start nothing).
    expect(ddb.commandCalls(PutCommand)[1]?.args[0].input).toMatchObject({
      Item: { releaseId: V2_RELEASE_ID, taskToken: `${pending?.taskToken}:starting` },
      ConditionExpression: 'releaseId = :release AND taskToken = :token',
      ExpressionAttributeValues: { ':release': V2_RELEASE_ID, ':token': pending?.taskToken },
    });
    // Out of the queue only if it is still that very pending push, as marked.
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: QUEUE_KEY,
      ConditionExpression: 'taskToken = :token AND releaseId = :release',
      ExpressionAttributeValues: { ':token': `${pending?.taskToken}:starting`, ':release': V2_RELEASE_ID },
    });
  });

  it('starts an execution as before when the lock holder no longer runs (no hand-off will come from it)', async () => {
    serveReads((key) => (sameKey(key, LOCK_KEY) ? heldLock.Item : undefined));
    sfn
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }));
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(0) });

    await expect(handler(ecrPushEvent(), context)).resolves.toMatchObject({ status: 'started' });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('starts one execution for an ECR push, named after the service and digest', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(0) });

    const result = await handler(ecrPushEvent(), context);

    expect(result).toEqual({
      status: 'started',
      service: 'checkout',
      executionName: V2_RELEASE_ID,
      executionArn: EXECUTION_ARN,
    });
    const calls = sfn.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toEqual({
      stateMachineArn: STATE_MACHINE_ARN,
      name: V2_RELEASE_ID,
      input: expect.any(String),
    });
    expect(JSON.parse(input?.input ?? '')).toEqual({
      service: 'checkout',
      image: { repository: 'checkout', digest: V2_DIGEST, tag: 'v2', uri: V2_IMAGE },
      requestedAt: '2025-03-04T10:00:00Z',
      receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      receivedSeq: expect.any(Number),
      receiptId: context.awsRequestId,
      source: 'ecr-push',
    });
  });

  it('reports a start that Step Functions answers idempotently for another invocation as a duplicate', async () => {
    // First delivery starts the execution; the second delivery of the same event carries another receipt,
    // so Step Functions refuses it as ExecutionAlreadyExists instead of answering with the open execution.
    sfn
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: EXECUTION_ARN, startDate: new Date(0) })
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    await expect(handler(ecrPushEvent(), context)).resolves.toMatchObject({ status: 'started' });
    await expect(
      handler(ecrPushEvent(), { ...context, awsRequestId: 'second-delivery' }),
    ).resolves.toMatchObject({ status: 'duplicate' });
    const [first, second] = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.input);
    expect(second).not.toBe(first);
  });

  it('ignores a malformed event of a repository no service releases, with a log line', async () => {
    const event = ecrPushEvent({ repository: 'payments', digest: 'sha256:abc' });
    const { 'image-tag': _tag, ...detail } = event.detail;

    await expect(handler({ ...event, detail, time: 'not a time' }, context)).resolves.toEqual({
      status: 'ignored',
      reason: 'repository payments releases no service in shipline.yml',
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it("ignores a push from another account's registry than the pipeline's", async () => {
    const result = await handler({ ...ecrPushEvent(), account: '210987654321' }, context);

    expect(result).toEqual({
      status: 'ignored',
      reason: expect.stringContaining(
        'in account 210987654321 region us-east-1, but checkout releases from account 123456789012 region us-east-1',
      ),
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it("ignores a malformed event of another account's same-named repository instead of rejecting it", async () => {
    const event = ecrPushEvent({ digest: 'sha256:abc' });

    await expect(handler({ ...event, account: '210987654321' }, context)).resolves.toMatchObject({
      status: 'ignored',
      reason: expect.stringContaining('in account 210987654321'),
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it('refuses an oversized request field, naming it, before anything starts', async () => {
    const error = await rejection(
      handler(
        { service: 'checkout', image: { digest: V2_DIGEST }, requestedBy: 'x'.repeat(262_144) },
        context,
      ),
    );

    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('requestedBy');
    expect(error.message).toContain('at most 256 characters');
    expect(sfn.calls()).toHaveLength(0);
  });

  it("ignores a push from another region's registry than the pipeline's", async () => {
    const result = await handler({ ...ecrPushEvent(), region: 'eu-west-1' }, context);

    expect(result).toEqual({
      status: 'ignored',
      reason: expect.stringContaining(
        'region eu-west-1, but checkout releases from account 123456789012 region us-east-1',
      ),
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it('rejects a tag longer than ECR allows, naming detail.image-tag', async () => {
    const error = await rejection(handler(ecrPushEvent({ tag: 'v'.repeat(301) }), context));

    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('detail.image-tag');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('reports a duplicate push as a duplicate of the running execution', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    await expect(handler(ecrPushEvent({ tag: 'latest' }), context)).resolves.toEqual({
      status: 'duplicate',
      service: 'checkout',
      executionName: V2_RELEASE_ID,
      executionArn: EXECUTION_ARN,
    });
    // One page of the service's newest records, looked through for a push it superseded and never told.
    expect(ddb.commandCalls(QueryCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': LOCK_KEY.pk, ':prefix': 'RELEASE#' },
        ScanIndexForward: false,
        Limit: 25,
      },
    ]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it("counts the notification lost when the trigger's last retry cannot tell the push its push superseded", async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    sns.on(PublishCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    const record = (endedAt: string) => ({
      pk: LOCK_KEY.pk,
      sk: 'RELEASE#2025-03-04T09:30:00Z#checkout-111111111111',
      service: 'checkout',
      releaseId: 'checkout-111111111111',
      requestedAt: '2025-03-04T09:30:00Z',
      status: 'superseded',
      toVersion: 'v1.5',
      endedAt,
      supersededBy: V2_RELEASE_ID,
    });
    // The first retry (a minute after v1.5 was recorded superseded): more retries come, nothing is counted.
    ddb.on(QueryCommand).resolves({ Items: [record('2025-03-04T09:59:00.000Z')] });
    await expect(handler(ecrPushEvent(), context)).rejects.toThrow('Rate exceeded');
    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toHaveLength(0);

    // The last retry (three minutes after): the event goes to the dead-letter queue, the loss is counted.
    ddb.on(QueryCommand).resolves({ Items: [record('2025-03-04T09:57:00.000Z')] });
    await expect(handler(ecrPushEvent(), context)).rejects.toThrow('Rate exceeded');
    expect(cloudwatch.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input)).toEqual([
      notificationsLostInput(),
    ]);
  });

  it('tells, on a retry that finds its push started, the push it superseded that was recorded and never told', async () => {
    // The first attempt replaced v1.5 and recorded it superseded; its notification failed (SNS) while a
    // hand-off read its mark as told and started v2: the retry's StartExecution answers v2 exists.
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const supersededRecord = {
      pk: LOCK_KEY.pk,
      sk: 'RELEASE#2025-03-04T09:30:00Z#checkout-111111111111',
      service: 'checkout',
      releaseId: 'checkout-111111111111',
      requestedAt: '2025-03-04T09:30:00Z',
      status: 'superseded',
      toVersion: 'v1.5',
      endedAt: '2025-03-04T09:59:00.000Z',
      reason: `superseded by newer release ${V2_RELEASE_ID}`,
      supersededBy: V2_RELEASE_ID,
    };
    const otherRecord = {
      ...supersededRecord,
      releaseId: 'checkout-000000000000',
      supersededBy: 'checkout-9',
    };
    ddb.on(QueryCommand).resolves({ Items: [supersededRecord, otherRecord] });

    await expect(handler(ecrPushEvent(), context)).resolves.toMatchObject({ status: 'duplicate' });

    const published = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]?.TopicArn).toBe(TOPIC_ARN);
    expect(JSON.parse(published[0]?.Message ?? '')).toMatchObject({
      event: 'superseded',
      service: 'checkout',
      release: 'checkout-111111111111',
      toVersion: 'v1.5',
      supersededBy: V2_RELEASE_ID,
      at: '2025-03-04T09:59:00.000Z',
    });
  });

  it('ignores a push to an unmapped repository and starts nothing', async () => {
    await expect(handler(ecrPushEvent({ repository: 'payments' }), context)).resolves.toEqual({
      status: 'ignored',
      reason: 'repository payments releases no service in shipline.yml',
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it('rejects an event without a digest, naming the field, and sends no command', async () => {
    const event = ecrPushEvent();
    const { 'image-digest': _digest, ...detail } = event.detail;

    const error = await rejection(handler({ ...event, detail }, context));

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('detail.image-digest');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('starts a manual request', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN });

    await handler(
      { service: 'checkout', image: { digest: V2_DIGEST, tag: 'v2' }, requestedBy: 'alice' },
      context,
    );

    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input?.name).toBe(V2_RELEASE_ID);
    expect(JSON.parse(input?.input ?? '')).toMatchObject({
      service: 'checkout',
      image: { repository: 'checkout', digest: V2_DIGEST, tag: 'v2' },
      source: 'manual',
      requestedBy: 'alice',
    });
  });

  it('propagates an AWS fault so the invocation is retried', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(handler(ecrPushEvent(), context)).rejects.toThrow('Rate exceeded');
  });
  describe('a withdrawal (shipline abort of a queued push)', () => {
    const PENDING_TOKEN = `pending-push:${V2_RELEASE_ID}:2025-03-04T09:30:00.100Z:1:r-1`;
    const pendingInput = JSON.stringify({
      service: 'checkout',
      image: { repository: 'checkout', digest: V2_DIGEST, tag: 'v2', uri: V2_IMAGE },
      requestedAt: '2025-03-04T09:30:00Z',
      receivedAt: '2025-03-04T09:30:00.100Z',
      receivedSeq: 1,
      receiptId: 'r-1',
      source: 'ecr-push',
    });
    const queuedV2 = {
      Item: {
        ...QUEUE_KEY,
        kind: 'lock-queue',
        key: 'default/checkout',
        releaseId: V2_RELEASE_ID,
        service: 'checkout',
        environment: 'default',
        taskToken: PENDING_TOKEN,
        data: { requestedAt: '2025-03-04T09:30:00Z', pendingInput },
      },
    };
    const ALICE = { via: 'cli', id: 'arn:aws:iam::123456789012:user/alice' };
    const withdrawal = (fields: Record<string, unknown> = {}) => ({
      withdraw: {
        service: 'checkout',
        releaseId: V2_RELEASE_ID,
        reason: 'bad build',
        actor: ALICE,
        ...fields,
      },
    });

    it('takes that very push out of the queue, records it failed naming who withdrew it, and tells it', async () => {
      ddb.on(GetCommand, { Key: LOCK_KEY }).resolves(heldLock);
      // Queued until the withdrawal's removal; its look after its mark finds the queue empty.
      ddb.on(GetCommand, { Key: QUEUE_KEY }).resolvesOnce(queuedV2).resolves({});
      ddb.on(PutCommand).resolves({});
      ddb.on(DeleteCommand).resolves({});

      await expect(handler(withdrawal(), context)).resolves.toEqual({
        status: 'withdrawn',
        releaseId: V2_RELEASE_ID,
        toVersion: 'v2',
        behind: HOLDER,
        reason: 'aborted while queued by alice via the CLI: bad build',
        told: true,
      });

      // Out of the queue only if it is still that very pending push (not one the hand-off marked).
      expect(ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input)).toEqual([
        {
          TableName: TABLE,
          Key: QUEUE_KEY,
          ConditionExpression: 'taskToken = :token AND releaseId = :release',
          ExpressionAttributeValues: { ':token': PENDING_TOKEN, ':release': V2_RELEASE_ID },
        },
      ]);
      const record = ddb
        .commandCalls(PutCommand)
        .map((call) => call.args[0].input.Item)
        .find((item) => item?.status === 'failed');
      expect(record).toMatchObject({
        releaseId: V2_RELEASE_ID,
        toVersion: 'v2',
        requestedAt: '2025-03-04T09:30:00Z',
        reason: 'aborted while queued by alice via the CLI: bad build',
      });
      const published = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
      expect(published.find((input) => input.TopicArn === TOPIC_ARN)?.Subject).toBe(
        '[shipline] checkout: release of v2 failed: aborted while queued by alice via the CLI: bad build',
      );
      const event = published.find((input) => input.TopicArn === RELEASE_EVENTS_TOPIC_ARN);
      expect(JSON.parse(event?.Message ?? '{}')).toMatchObject({ kind: 'failed', actor: ALICE });
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    });

    it('counts Shipline/NotificationsLost when the failed notification of the withdrawn push is denied', async () => {
      ddb.on(GetCommand, { Key: LOCK_KEY }).resolves(heldLock);
      ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves(queuedV2);
      ddb.on(PutCommand).resolves({});
      ddb.on(DeleteCommand).resolves({});
      sns
        .on(PublishCommand, { TopicArn: TOPIC_ARN })
        .rejects(
          Object.assign(new Error('not authorized to perform: SNS:Publish'), { name: 'AuthorizationError' }),
        );
      cloudwatch.on(PutMetricDataCommand).resolves({});

      await expect(handler(withdrawal(), context)).resolves.toMatchObject({
        status: 'withdrawn',
        told: false,
        toldError: 'AuthorizationError: not authorized to perform: SNS:Publish',
      });

      expect(cloudwatch.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input)).toEqual([
        notificationsLostInput(),
      ]);
    });

    it('refuses a withdrawal with no reason, naming the field', async () => {
      const error = await rejection(handler(withdrawal({ reason: ' ' }), context));
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error.message).toMatch(/^withdrawal request is malformed: withdraw\.reason: expected why/);
      expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
    });

    it('refuses a withdrawal for a service shipline.yml does not declare', async () => {
      const error = await rejection(handler(withdrawal({ service: 'payments' }), context));
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error.message).toBe(
        'withdrawal request names service payments, which shipline.yml does not declare',
      );
    });
  });
});
