import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
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

  it('takes the lock with a conditional put covering the whole release', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(PutCommand).resolves({});

    const result = await handler({ request, releaseId: V2_RELEASE_ID }, context);

    expect(result).toEqual({ acquired: true, superseded: false });
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        pk: 'SERVICE#default#checkout',
        sk: 'LOCK',
        holder: V2_RELEASE_ID,
        requestedAt: request.requestedAt,
        acquiredAt: NOW,
        leaseExpiresAt: NOW_EPOCH + 7500,
      },
      ConditionExpression: 'attribute_not_exists(pk) OR holder = :holder OR leaseExpiresAt < :now',
      ExpressionAttributeValues: { ':holder': V2_RELEASE_ID, ':now': NOW_EPOCH },
    });
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: 'WAIT#QUEUE#default/checkout', sk: 'SOLE' },
      ReturnValues: 'ALL_OLD',
      ConditionExpression: 'releaseId = :release',
      ExpressionAttributeValues: { ':release': V2_RELEASE_ID },
    });
  });

  it('reports the holder when an older release holds the lock, from the lease it read (no write bound to fail)', async () => {
    ddb.on(GetCommand, { Key: { pk: 'WAIT#QUEUE#default/checkout', sk: 'SOLE' } }).resolves({});
    ddb.on(GetCommand, { Key: { pk: 'SERVICE#default#checkout', sk: 'LOCK' } }).resolves({
      Item: {
        pk: 'SERVICE#default#checkout',
        sk: 'LOCK',
        holder: 'checkout-v1',
        requestedAt: '2025-03-04T09:00:00Z',
        acquiredAt: '2025-03-04T09:00:01.000Z',
        leaseExpiresAt: NOW_EPOCH + 1800,
      },
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
