import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import { InvalidInputError, UnknownServiceError } from '../../lib/errors.ts';
import { fixedClock, releaseRequest, TABLE, V2_RELEASE_ID } from '../unit/fixtures.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const context = lambdaContext('shipline-acquire-lock');
const NOW = '2025-03-04T10:00:01.000Z';
const NOW_EPOCH = Date.parse(NOW) / 1000;
const request = releaseRequest();

let handler: typeof import('../../functions/acquire-lock.ts')['handler'];

type Key = { pk: string; sk: string };
type Item = Key & Record<string, unknown>;
const LOCK_KEY = { pk: 'SERVICE#default#checkout', sk: 'LOCK' };
const QUEUE_KEY = { pk: 'WAIT#QUEUE#default/checkout', sk: 'SOLE' };
const TOLD_KEY = { pk: `RELEASE#${V2_RELEASE_ID}`, sk: 'NOTIFIED#superseded' };

/** The table holds `items`: each BatchGetItem and GetItem answers with those of the keys it asks for. */
const tableHolds = (...items: Item[]) => {
  const find = (key: Key) => items.find((item) => item.pk === key.pk && item.sk === key.sk);
  ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: Key[] }> }) => ({
    Responses: Object.fromEntries(
      Object.entries(input.RequestItems).map(([table, { Keys }]) => [
        table,
        Keys.map(find).filter((item): item is Item => item !== undefined),
      ]),
    ),
    UnprocessedKeys: {},
  }));
  ddb.on(GetCommand).callsFake((input: { Key: Key }) => {
    const item = find(input.Key);
    return item ? { Item: item } : {};
  });
};

describe('Handler: acquire-lock', () => {
  let previousClock: Clock;

  beforeAll(async () => {
    setHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler } = await import('../../functions/acquire-lock.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
  });

  beforeEach(() => {
    ddb.reset();
    ddb.on(DeleteCommand).resolves({});
  });

  it('takes the lock with a conditional put covering the whole release, after one read of lease, queue and told mark', async () => {
    tableHolds();
    ddb.on(PutCommand).resolves({});

    const result = await handler({ request, releaseId: V2_RELEASE_ID }, context);

    expect(result).toEqual({ acquired: true, superseded: false });
    expect(ddb.commandCalls(BatchGetCommand).map((call) => call.args[0].input)).toEqual([
      { RequestItems: { [TABLE]: { Keys: [LOCK_KEY, QUEUE_KEY, TOLD_KEY], ConsistentRead: true } } },
    ]);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        ...LOCK_KEY,
        holder: V2_RELEASE_ID,
        requestedAt: request.requestedAt,
        acquiredAt: NOW,
        leaseExpiresAt: NOW_EPOCH + 7500,
      },
      ConditionExpression: 'attribute_not_exists(pk) OR holder = :holder OR leaseExpiresAt < :now',
      ExpressionAttributeValues: { ':holder': V2_RELEASE_ID, ':now': NOW_EPOCH },
    });
    // Nobody was queued: no removal from the queue is sent.
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('takes the lock and leaves the queue when it was itself the queued waiter (woken from its wait)', async () => {
    tableHolds({
      ...QUEUE_KEY,
      kind: 'lock-queue',
      key: 'default/checkout',
      releaseId: V2_RELEASE_ID,
      service: 'checkout',
      environment: 'default',
      taskToken: 'token-v2',
      data: { requestedAt: request.requestedAt },
    });
    ddb.on(PutCommand).resolves({});

    await expect(handler({ request, releaseId: V2_RELEASE_ID }, context)).resolves.toEqual({
      acquired: true,
      superseded: false,
    });
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: QUEUE_KEY,
      ReturnValues: 'ALL_OLD',
      ConditionExpression: 'releaseId = :release',
      ExpressionAttributeValues: { ':release': V2_RELEASE_ID },
    });
  });

  it('refuses, as superseded by the release its telling recorded, a push told superseded while it was queued', async () => {
    tableHolds(TOLD_KEY, {
      pk: 'SERVICE#default#checkout',
      sk: `RELEASE#${request.requestedAt}#${V2_RELEASE_ID}`,
      service: 'checkout',
      releaseId: V2_RELEASE_ID,
      requestedAt: request.requestedAt,
      status: 'superseded',
      reason: 'superseded by newer release checkout-v3',
      supersededBy: 'checkout-v3',
    });

    await expect(handler({ request, releaseId: V2_RELEASE_ID }, context)).resolves.toEqual({
      acquired: false,
      superseded: true,
      by: 'checkout-v3',
    });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('reads its told mark one by one when BatchGetItem left it unprocessed, strongly consistent, and refuses the push', async () => {
    tableHolds(TOLD_KEY);
    // A partial result (throughput exceeded): the lease and the queue are absent, the mark comes back unread.
    ddb.on(BatchGetCommand).resolvesOnce({
      Responses: { [TABLE]: [] },
      UnprocessedKeys: { [TABLE]: { Keys: [TOLD_KEY], ConsistentRead: true } },
    });

    await expect(handler({ request, releaseId: V2_RELEASE_ID }, context)).resolves.toMatchObject({
      acquired: false,
      superseded: true,
    });
    expect(ddb.commandCalls(GetCommand).map((call) => call.args[0].input)[0]).toEqual({
      TableName: TABLE,
      Key: TOLD_KEY,
      ConsistentRead: true,
    });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('reports the holder when an older release holds the lock, from the lease it read (no write bound to fail)', async () => {
    tableHolds({
      ...LOCK_KEY,
      holder: 'checkout-v1',
      requestedAt: '2025-03-04T09:00:00Z',
      acquiredAt: '2025-03-04T09:00:01.000Z',
      leaseExpiresAt: NOW_EPOCH + 1800,
    });
    ddb
      .on(PutCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    await expect(handler({ request, releaseId: V2_RELEASE_ID }, context)).resolves.toEqual({
      acquired: false,
      superseded: false,
      holder: 'checkout-v1',
      waitSeconds: 1801,
    });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('rejects a request whose digest is not pinned, naming the field, and sends no command', async () => {
    const error = await rejection(
      handler(
        { request: { ...request, image: { ...request.image, digest: 'latest' } }, releaseId: V2_RELEASE_ID },
        context,
      ),
    );

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(/^acquire-lock input is malformed: /);
    expect(error.message).toContain('request.image.digest');
    expect(ddb.calls()).toHaveLength(0);
  });

  it.each([
    'constructor',
    'toString',
    '__proto__',
  ])('refuses a release of service %s, which the config does not declare, with UnknownServiceError and no command', async (service) => {
    const error = await rejection(
      handler({ request: { ...request, service }, releaseId: V2_RELEASE_ID }, context),
    );

    expect(error).toBeInstanceOf(UnknownServiceError);
    expect(error.message).toContain(service);
    expect(ddb.calls()).toHaveLength(0);
  });
});
