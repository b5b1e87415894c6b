import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbReleaseStore, keys } from '../../../lib/adapters/dynamodb-release-store.ts';
import type { AlarmWatch, ServiceState, Waiter } from '../../../lib/ports/release-store.ts';
import { serviceRef } from '../../../lib/ports/service-ref.ts';
import { TABLE, V2_RELEASE_ID, withFixedClock } from '../fixtures.ts';

const ddb = mockClient(DynamoDBDocumentClient);

const NOW = '2025-03-04T10:00:00.000Z';
const NOW_EPOCH = Date.parse(NOW) / 1000;
const RETENTION = 400 * 24 * 3600;
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const throttled = () =>
  Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
    name: 'ProvisionedThroughputExceededException',
  });

const OLDER = {
  executionName: 'checkout-older',
  requestedAt: '2025-03-04T09:00:00Z',
  taskToken: 'token-older',
};
const NEWER = {
  executionName: 'checkout-newer',
  requestedAt: '2025-03-04T11:00:00Z',
  taskToken: 'token-newer',
};
const ME = { executionName: 'checkout-me', requestedAt: '2025-03-04T10:00:00Z', taskToken: 'token-me' };
const CHECKOUT = serviceRef('checkout');
const QUEUE_KEY = { pk: 'WAIT#QUEUE#default/checkout', sk: 'SOLE' };

/** The lock-queue wait item of a queued waiter, as the registry stores it. */
const queueItem = ({ executionName, taskToken, ...order }: Waiter) => ({
  ...QUEUE_KEY,
  waitRelease: `RELEASE#${executionName}`,
  waitOn: 'lock-queue#default/checkout',
  kind: 'lock-queue',
  key: 'default/checkout',
  releaseId: executionName,
  service: 'checkout',
  environment: 'default',
  taskToken,
  data: order,
});

describe('Class: DynamoDbReleaseStore', () => {
  let store: DynamoDbReleaseStore;

  withFixedClock(NOW);

  beforeEach(() => {
    ddb.reset();
    store = new DynamoDbReleaseStore(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
      () => TABLE,
    );
  });

  describe('Object: keys', () => {
    it('lays items out by service in its environment, by what a wait waits on, and by release', () => {
      expect(keys.lock(CHECKOUT)).toEqual({ pk: 'SERVICE#default#checkout', sk: 'LOCK' });
      expect(keys.lock(serviceRef('checkout', 'staging'))).toEqual({
        pk: 'SERVICE#staging#checkout',
        sk: 'LOCK',
      });
      expect(keys.state(CHECKOUT)).toEqual({ pk: 'SERVICE#default#checkout', sk: 'STATE' });
      expect(keys.record({ ...CHECKOUT, requestedAt: '2025-03-04T10:00:00Z', releaseId: 'r1' })).toEqual({
        pk: 'SERVICE#default#checkout',
        sk: 'RELEASE#2025-03-04T10:00:00Z#r1',
      });
      expect(keys.wait({ kind: 'bake', key: 'checkout-5xx', releaseId: 'r1' })).toEqual({
        pk: 'WAIT#ALARM#checkout-5xx',
        sk: 'RELEASE#r1',
      });
      expect(keys.wait({ kind: 'rollback-window', key: 'checkout-5xx', releaseId: 'r1' })).toEqual({
        pk: 'WAIT#ALARM#checkout-5xx',
        sk: 'RELEASE#r1',
      });
      expect(keys.wait({ kind: 'ready', key: 'ecs-svc/1002' })).toEqual({
        pk: 'WAIT#DEPLOYMENT#ecs-svc/1002',
        sk: 'SOLE',
      });
      expect(keys.wait({ kind: 'lock-queue', key: 'default/checkout' })).toEqual(QUEUE_KEY);
      expect(keys.wait({ kind: 'pause', key: 'r1', releaseId: 'r1' })).toEqual({
        pk: 'WAIT#RELEASE#r1',
        sk: 'RELEASE#r1',
      });
      expect(keys.waitIndex({ kind: 'bake', key: 'checkout-5xx', releaseId: 'r1' })).toEqual({
        waitRelease: 'RELEASE#r1',
        waitOn: 'bake#checkout-5xx',
      });
      expect(keys.ended('default', '2025-03-04T10:00:00Z', 'r1')).toEqual({
        endedIn: 'ENDED#default',
        endedOrder: '2025-03-04T10:00:00.000Z#r1',
      });
      expect(keys.notified('r1', 'started')).toEqual({ pk: 'RELEASE#r1', sk: 'NOTIFIED#started' });
    });

    it('refuses a per-release wait key without its release', () => {
      expect(() => keys.wait({ kind: 'bake', key: 'checkout-5xx' })).toThrow(
        'a bake wait on checkout-5xx is one per release: name the release',
      );
    });
  });

  describe('Method: acquireLock', () => {
    it('puts the lock if absent, held by the same holder, or expired', async () => {
      ddb.on(PutCommand).resolves({});

      const result = await store.acquireLock('checkout', 'checkout-me', '2025-03-04T09:59:00Z', 7200);

      expect(result).toEqual({ acquired: true });
      const calls = ddb.commandCalls(PutCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Item: {
          pk: 'SERVICE#default#checkout',
          sk: 'LOCK',
          holder: 'checkout-me',
          requestedAt: '2025-03-04T09:59:00Z',
          acquiredAt: NOW,
          leaseExpiresAt: NOW_EPOCH + 7200,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR holder = :holder OR leaseExpiresAt < :now',
        ExpressionAttributeValues: { ':holder': 'checkout-me', ':now': NOW_EPOCH },
      });
    });

    it('returns the current holder when the condition fails', async () => {
      ddb.on(PutCommand).rejects(conditionFailed());
      ddb.on(GetCommand).resolves({
        Item: {
          ...keys.lock(CHECKOUT),
          holder: 'checkout-other',
          requestedAt: '2025-03-04T09:00:00Z',
          acquiredAt: '2025-03-04T09:00:01.000Z',
          leaseExpiresAt: NOW_EPOCH + 100,
        },
      });

      const result = await store.acquireLock('checkout', 'checkout-me', '2025-03-04T09:59:00Z', 7200);

      expect(result).toEqual({
        acquired: false,
        holder: {
          holder: 'checkout-other',
          requestedAt: '2025-03-04T09:00:00Z',
          acquiredAt: '2025-03-04T09:00:01.000Z',
          leaseExpiresAt: NOW_EPOCH + 100,
        },
      });
      expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'SERVICE#default#checkout', sk: 'LOCK' },
        ConsistentRead: true,
      });
    });

    it('tries again when the lock vanished between the failed put and the read', async () => {
      ddb.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});
      ddb.on(GetCommand).resolves({});

      await expect(store.acquireLock('checkout', 'checkout-me', NOW, 60)).resolves.toEqual({
        acquired: true,
      });
      expect(ddb.commandCalls(PutCommand)).toHaveLength(2);
    });

    it('rethrows any other error', async () => {
      ddb.on(PutCommand).rejects(throttled());

      await expect(store.acquireLock('checkout', 'checkout-me', NOW, 60)).rejects.toThrow(
        'Rate of requests exceeds the allowed throughput',
      );
      expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    });
  });

  describe('Method: releaseLock', () => {
    it('deletes the lock only if this holder holds it, and returns the queued waiter', async () => {
      ddb.on(DeleteCommand).resolves({});
      ddb.on(GetCommand).resolves({ Item: queueItem(NEWER) });

      const result = await store.releaseLock('checkout', 'checkout-me');

      expect(result).toEqual({ released: true, next: NEWER });
      expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'SERVICE#default#checkout', sk: 'LOCK' },
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':holder': 'checkout-me' },
      });
      expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: QUEUE_KEY,
        ConsistentRead: true,
      });
    });

    it('reports released: false when another holder holds the lock', async () => {
      ddb.on(DeleteCommand).rejects(conditionFailed());
      ddb.on(GetCommand).resolves({});

      await expect(store.releaseLock('checkout', 'checkout-me')).resolves.toEqual({
        released: false,
        next: undefined,
      });
    });

    it('rethrows any other error', async () => {
      ddb.on(DeleteCommand).rejects(throttled());

      await expect(store.releaseLock('checkout', 'checkout-me')).rejects.toThrow(/allowed throughput/);
    });
  });

  describe('Method: enqueueWaiter', () => {
    it('queues a waiter where none is, on condition that none appeared meanwhile', async () => {
      ddb.on(GetCommand).resolves({});
      ddb.on(PutCommand).resolves({});

      await expect(store.enqueueWaiter('checkout', ME)).resolves.toEqual({ queued: true });
      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Item: queueItem(ME),
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });

    it('replaces an older waiter on condition that it is still the one read, keeps it until told, and returns it', async () => {
      ddb.on(GetCommand).resolves({ Item: queueItem(OLDER) });
      ddb.on(PutCommand).resolves({});

      await expect(store.enqueueWaiter('checkout', ME)).resolves.toEqual({ queued: true, replaced: OLDER });
      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Item: queueItem({ ...ME, supersedes: OLDER }),
        ConditionExpression: 'releaseId = :release AND taskToken = :token',
        ExpressionAttributeValues: { ':release': 'checkout-older', ':token': 'token-older' },
      });
    });

    it('does not queue behind a newer waiter, and names it', async () => {
      ddb.on(GetCommand).resolves({ Item: queueItem(NEWER) });

      await expect(store.enqueueWaiter('checkout', ME)).resolves.toEqual({ queued: false, newer: NEWER });
      expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    });

    it('breaks a tie on push time by when the trigger received the requests, never by name', async () => {
      const me = { ...ME, receivedAt: '2025-03-04T10:00:01.250Z', receivedSeq: 7 };
      // Same push second, a lexicographically greater name, but received earlier: the older one.
      const receivedFirst = {
        ...ME,
        executionName: 'checkout-zz',
        taskToken: 'token-zz',
        receivedAt: '2025-03-04T10:00:01.100Z',
        receivedSeq: 9,
      };
      ddb.on(GetCommand).resolves({ Item: queueItem(receivedFirst) });
      ddb.on(PutCommand).resolves({});

      await expect(store.enqueueWaiter('checkout', me)).resolves.toEqual({
        queued: true,
        replaced: receivedFirst,
      });
      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({
        data: { receivedAt: '2025-03-04T10:00:01.250Z', receivedSeq: 7 },
      });
    });

    it('keeps the queued request received later in the same second', async () => {
      const me = { ...ME, executionName: 'checkout-zz', receivedAt: '2025-03-04T10:00:01.100Z' };
      const receivedLater = { ...ME, receivedAt: '2025-03-04T10:00:01.250Z' };
      ddb.on(GetCommand).resolves({ Item: queueItem(receivedLater) });

      await expect(store.enqueueWaiter('checkout', me)).resolves.toEqual({
        queued: false,
        newer: receivedLater,
      });
    });

    it('refreshes its own entry (a retry) without reporting a replacement', async () => {
      ddb.on(GetCommand).resolves({ Item: queueItem({ ...ME, taskToken: 'token-old' }) });
      ddb.on(PutCommand).resolves({});

      await expect(store.enqueueWaiter('checkout', ME)).resolves.toEqual({ queued: true });
      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.ExpressionAttributeValues).toEqual({
        ':release': 'checkout-me',
        ':token': 'token-old',
      });
    });

    it('reads again and retries when the queue changed under it', async () => {
      ddb
        .on(GetCommand)
        .resolvesOnce({})
        .resolves({ Item: queueItem(OLDER) });
      ddb.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});

      await expect(store.enqueueWaiter('checkout', ME)).resolves.toEqual({ queued: true, replaced: OLDER });
      expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
      expect(ddb.commandCalls(PutCommand)).toHaveLength(2);
    });

    it('gives up after five conflicting attempts', async () => {
      ddb.on(GetCommand).resolves({});
      ddb.on(PutCommand).rejects(conditionFailed());

      await expect(store.enqueueWaiter('checkout', ME)).rejects.toThrow(
        'could not queue checkout-me for checkout: the queue kept changing',
      );
      expect(ddb.commandCalls(PutCommand)).toHaveLength(5);
    });
  });

  describe('Method: dequeueWaiter', () => {
    it('deletes the waiter only if it is this execution, ignoring a failed condition', async () => {
      ddb.on(DeleteCommand).rejects(conditionFailed());

      await expect(store.dequeueWaiter('checkout', 'checkout-me')).resolves.toBeUndefined();
      expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: QUEUE_KEY,
        ReturnValues: 'ALL_OLD',
        ConditionExpression: 'releaseId = :release',
        ExpressionAttributeValues: { ':release': 'checkout-me' },
      });
    });
  });

  describe('Method: readServiceState', () => {
    const state: ServiceState = {
      service: 'checkout',
      stableSlot: 'blue',
      stableVersion: 'v1',
      stableTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7',
      latestRelease: 'checkout-r1',
      updatedAt: NOW,
    };

    it('returns the recorded state without its keys', async () => {
      ddb.on(GetCommand).resolves({ Item: { ...keys.state(CHECKOUT), ...state } });

      await expect(store.readServiceState('checkout')).resolves.toEqual(state);
    });

    it('returns undefined while only an idle-slot claim is recorded', async () => {
      ddb
        .on(GetCommand)
        .resolves({ Item: { ...keys.state(CHECKOUT), latestRelease: 'r1', service: 'checkout' } });

      await expect(store.readServiceState('checkout')).resolves.toBeUndefined();
    });

    it('writes a promotion as the whole state item, only while this release is the latest', async () => {
      ddb.on(PutCommand).resolves({});

      await expect(store.recordPromotion(state)).resolves.toBe(true);

      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Item: { pk: 'SERVICE#default#checkout', sk: 'STATE', ...state },
        ConditionExpression: 'attribute_not_exists(latestRelease) OR latestRelease = :release',
        ExpressionAttributeValues: { ':release': state.latestRelease },
      });
    });

    it('writes nothing and says so when a newer release has taken the service', async () => {
      ddb
        .on(PutCommand)
        .rejects(
          new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
        );

      await expect(store.recordPromotion(state)).resolves.toBe(false);
    });
  });

  describe('Method: claimIdleSlot', () => {
    it('sets the latest release on the state item', async () => {
      ddb.on(UpdateCommand).resolves({});

      await store.claimIdleSlot('checkout', V2_RELEASE_ID);

      expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'SERVICE#default#checkout', sk: 'STATE' },
        UpdateExpression: 'SET latestRelease = :release, service = :service',
        ConditionExpression:
          'attribute_not_exists(rollbackFenceUntil) OR rollbackFenceUntil < :now OR latestRelease = :release',
        ExpressionAttributeValues: { ':release': V2_RELEASE_ID, ':service': 'checkout', ':now': NOW_EPOCH },
      });
    });

    it('is refused, as a ServiceBusyError the state retries for minutes, while another release rolls back', async () => {
      ddb.on(UpdateCommand).rejects(conditionFailed());

      await expect(store.claimIdleSlot('checkout', V2_RELEASE_ID)).rejects.toMatchObject({
        name: 'ServiceBusyError',
        message: expect.stringContaining('still putting its slots back'),
      });
    });
  });

  describe('Method: fenceForRollback', () => {
    it('fences the service only while the release is still the latest', async () => {
      ddb.on(UpdateCommand).resolvesOnce({}).rejectsOnce(conditionFailed());

      await expect(store.fenceForRollback('checkout', V2_RELEASE_ID, 1200)).resolves.toBe(true);
      await expect(store.fenceForRollback('checkout', V2_RELEASE_ID, 1200)).resolves.toBe(false);
      expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'SERVICE#default#checkout', sk: 'STATE' },
        UpdateExpression: 'SET rollbackFenceUntil = :until',
        ConditionExpression: 'latestRelease = :release',
        ExpressionAttributeValues: { ':release': V2_RELEASE_ID, ':until': NOW_EPOCH + 1200 },
      });
    });
  });

  describe('Method: isLatestRelease', () => {
    it('compares the recorded latest release', async () => {
      ddb.on(GetCommand).resolves({ Item: { ...keys.state(CHECKOUT), latestRelease: 'r2' } });

      await expect(store.isLatestRelease('checkout', 'r2')).resolves.toBe(true);
      await expect(store.isLatestRelease('checkout', 'r1')).resolves.toBe(false);
    });

    it('is false when nothing is recorded', async () => {
      ddb.on(GetCommand).resolves({});

      await expect(store.isLatestRelease('checkout', 'r1')).resolves.toBe(false);
    });
  });

  describe('Method: putRecord', () => {
    it('writes the record under its service with a retention TTL', async () => {
      ddb.on(PutCommand).resolves({});
      const record = {
        service: 'checkout',
        releaseId: V2_RELEASE_ID,
        requestedAt: '2025-03-04T09:59:00Z',
        status: 'in_progress' as const,
        currentPercent: 0,
      };

      await store.putRecord(record);

      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Item: {
          pk: 'SERVICE#default#checkout',
          sk: `RELEASE#2025-03-04T09:59:00Z#${V2_RELEASE_ID}`,
          ...record,
          expiresAt: NOW_EPOCH + RETENTION,
        },
      });
    });
  });

  describe('Method: updateRecord', () => {
    it('sets each defined field through name and value placeholders', async () => {
      ddb.on(UpdateCommand).resolves({});

      await store.updateRecord('checkout', '2025-03-04T09:59:00Z', 'r1', {
        status: 'rolled_back',
        reason: undefined,
        currentPercent: 0,
      });

      expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'SERVICE#default#checkout', sk: 'RELEASE#2025-03-04T09:59:00Z#r1' },
        UpdateExpression: 'SET #f0 = :v0, #f1 = :v1',
        ExpressionAttributeNames: { '#f0': 'status', '#f1': 'currentPercent' },
        ExpressionAttributeValues: { ':v0': 'rolled_back', ':v1': 0 },
      });
    });

    it('indexes the record by its end time when the release ends', async () => {
      ddb.on(UpdateCommand).resolves({});

      await store.updateRecord('checkout', '2025-03-04T09:59:00Z', 'r1', {
        status: 'promoted',
        endedAt: '2025-03-04T10:30:00Z',
      });

      expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'SERVICE#default#checkout', sk: 'RELEASE#2025-03-04T09:59:00Z#r1' },
        UpdateExpression: 'SET #f0 = :v0, #f1 = :v1, #f2 = :v2, #f3 = :v3',
        ExpressionAttributeNames: {
          '#f0': 'status',
          '#f1': 'endedAt',
          '#f2': 'endedIn',
          '#f3': 'endedOrder',
        },
        ExpressionAttributeValues: {
          ':v0': 'promoted',
          ':v1': '2025-03-04T10:30:00Z',
          ':v2': 'ENDED#default',
          ':v3': '2025-03-04T10:30:00.000Z#r1',
        },
      });
    });

    it('sends nothing when there is nothing to change', async () => {
      await store.updateRecord('checkout', NOW, 'r1', { reason: undefined });

      expect(ddb.calls()).toHaveLength(0);
    });
  });

  describe('Method: history.listEnded', () => {
    it('queries the end-time index of the environment newest first, a page at a time', async () => {
      const last = {
        pk: 'SERVICE#default#checkout',
        sk: 'RELEASE#t#r2',
        endedIn: 'ENDED#default',
        endedOrder: 'x',
      };
      ddb
        .on(QueryCommand)
        .resolvesOnce({
          Items: [{ ...last, service: 'checkout', releaseId: 'r2', expiresAt: 1 }],
          LastEvaluatedKey: last,
        })
        .resolves({ Items: [] });

      const page = await store.history.listEnded('default', {
        from: '2025-03-01T00:00:00Z',
        to: '2025-03-04T23:59:59Z',
        limit: 1,
      });
      await store.history.listEnded('default', {
        from: '2025-03-01T00:00:00Z',
        to: '2025-03-04T23:59:59Z',
        limit: 1,
        ...(page.cursor ? { cursor: page.cursor } : {}),
      });

      expect(page.records).toEqual([{ service: 'checkout', releaseId: 'r2' }]);
      expect(ddb.commandCalls(QueryCommand).map((call) => call.args[0].input)).toEqual([
        {
          TableName: TABLE,
          IndexName: 'HistoryByEndTime',
          KeyConditionExpression: 'endedIn = :environment AND endedOrder BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':environment': 'ENDED#default',
            ':from': '2025-03-01T00:00:00.000Z#',
            ':to': '2025-03-04T23:59:59.000Z#\uffff',
          },
          ScanIndexForward: false,
          Limit: 1,
        },
        expect.objectContaining({ ExclusiveStartKey: last }),
      ]);
    });

    it('refuses a malformed range, limit or cursor, naming it, and sends nothing', async () => {
      const range = { from: '2025-03-01T00:00:00Z', to: '2025-03-02T00:00:00Z', limit: 10 };
      await expect(store.history.listEnded('default', { ...range, from: 'yesterday' })).rejects.toThrow(
        'from "yesterday" is not an ISO 8601 date-time',
      );
      await expect(
        store.history.listEnded('default', { ...range, from: '2025-03-03T00:00:00Z' }),
      ).rejects.toThrow('from (2025-03-03T00:00:00Z) is after to (2025-03-02T00:00:00Z)');
      await expect(store.history.listEnded('default', { ...range, limit: 0 })).rejects.toThrow(
        'limit must be a whole number of at least 1, got 0',
      );
      await expect(store.history.listEnded('default', { ...range, cursor: 'nonsense' })).rejects.toThrow(
        'cursor "nonsense" is not one this history returned',
      );
      expect(ddb.calls()).toHaveLength(0);
    });
  });

  describe('Method: listRecords', () => {
    it('queries the newest records of a service first', async () => {
      ddb.on(QueryCommand).resolves({
        Items: [
          {
            pk: 'SERVICE#default#checkout',
            sk: 'RELEASE#t#r1',
            service: 'checkout',
            releaseId: 'r1',
            expiresAt: 1,
          },
        ],
      });

      await expect(store.listRecords('checkout', 5)).resolves.toEqual([
        { service: 'checkout', releaseId: 'r1' },
      ]);
      expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': 'SERVICE#default#checkout', ':prefix': 'RELEASE#' },
        ScanIndexForward: false,
        Limit: 5,
      });
    });
  });

  const watch = (alarmName: string): AlarmWatch => ({
    alarmName,
    releaseId: 'r1',
    service: 'checkout',
    taskToken: 'token-bake',
    percent: 5,
    watchFrom: NOW,
  });
  /** The wait item of a bake watching `alarmName` for release r1. */
  const bakeItem = (alarmName: string) => ({
    pk: `WAIT#ALARM#${alarmName}`,
    sk: 'RELEASE#r1',
    waitRelease: 'RELEASE#r1',
    waitOn: `bake#${alarmName}`,
    kind: 'bake',
    key: alarmName,
    releaseId: 'r1',
    service: 'checkout',
    environment: 'default',
    taskToken: 'token-bake',
    data: { percent: 5, watchFrom: NOW },
  });

  describe('Method: putAlarmWatches', () => {
    it('registers one bake wait per alarm, under the alarm and indexed by release, with a TTL', async () => {
      ddb.on(PutCommand).resolves({});

      await store.putAlarmWatches([watch('checkout-latency-p99'), watch('checkout-green-5xx')], 4200);

      expect(ddb.commandCalls(PutCommand).map((call) => call.args[0].input)).toEqual([
        {
          TableName: TABLE,
          Item: { ...bakeItem('checkout-latency-p99'), expiresAt: NOW_EPOCH + 4200 },
        },
        {
          TableName: TABLE,
          Item: { ...bakeItem('checkout-green-5xx'), expiresAt: NOW_EPOCH + 4200 },
        },
      ]);
    });

    it('registers a rollback window as its own kind, on the same item of the alarm', async () => {
      ddb.on(PutCommand).resolves({});

      await store.putAlarmWatches([{ ...watch('a'), kind: 'rollback-window', percent: 100 }], 60);

      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({
        pk: 'WAIT#ALARM#a',
        sk: 'RELEASE#r1',
        kind: 'rollback-window',
        waitOn: 'rollback-window#a',
      });
    });
  });

  describe('Method: alarmWatches', () => {
    it('queries the waits on an alarm with a consistent read, as watches', async () => {
      ddb.on(QueryCommand).resolves({
        Items: [
          { ...bakeItem('a'), expiresAt: 9 },
          { ...bakeItem('a'), releaseId: 'r2', kind: 'rollback-window', expiresAt: 9 },
        ],
      });

      await expect(store.alarmWatches('a')).resolves.toEqual([
        watch('a'),
        { ...watch('a'), releaseId: 'r2', kind: 'rollback-window' },
      ]);
      expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'WAIT#ALARM#a' },
        ConsistentRead: true,
      });
    });
  });

  describe('Method: claimAlarmWatch', () => {
    it('deletes the watch whatever its token when none is given, true if it was there', async () => {
      ddb
        .on(DeleteCommand)
        .resolvesOnce({ Attributes: bakeItem('checkout-green-5xx') })
        .resolves({});

      await expect(store.claimAlarmWatch('checkout-green-5xx', 'r1')).resolves.toBe(true);
      await expect(store.claimAlarmWatch('checkout-green-5xx', 'r1')).resolves.toBe(false);
      expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'WAIT#ALARM#checkout-green-5xx', sk: 'RELEASE#r1' },
        ReturnValues: 'ALL_OLD',
      });
    });

    it('deletes the watch only while it holds the token', async () => {
      ddb.on(DeleteCommand).resolvesOnce({}).rejects(conditionFailed());

      await expect(store.claimAlarmWatch('checkout-green-5xx', 'r1', 'token-bake')).resolves.toBe(true);
      await expect(store.claimAlarmWatch('checkout-green-5xx', 'r1', 'token-bake')).resolves.toBe(false);
      expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'WAIT#ALARM#checkout-green-5xx', sk: 'RELEASE#r1' },
        ConditionExpression: 'taskToken = :token',
        ExpressionAttributeValues: { ':token': 'token-bake' },
      });
    });

    it('rethrows any other error', async () => {
      ddb.on(DeleteCommand).rejects(throttled());

      await expect(store.claimAlarmWatch('checkout-green-5xx', 'r1', 't')).rejects.toThrow(
        /allowed throughput/,
      );
    });
  });

  describe('Method: clearAlarmWatches', () => {
    it('deletes the watch of the release on every alarm, unconditionally', async () => {
      ddb.on(DeleteCommand).resolves({});

      await store.clearAlarmWatches(['a', 'b'], 'r1');

      expect(ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input)).toEqual([
        { TableName: TABLE, Key: { pk: 'WAIT#ALARM#a', sk: 'RELEASE#r1' }, ReturnValues: 'ALL_OLD' },
        { TableName: TABLE, Key: { pk: 'WAIT#ALARM#b', sk: 'RELEASE#r1' }, ReturnValues: 'ALL_OLD' },
      ]);
    });
  });

  const slotWait = { deploymentId: 'ecs-svc/1002', releaseId: 'r1', taskToken: 'token-steady' };
  const readyItem = {
    pk: 'WAIT#DEPLOYMENT#ecs-svc/1002',
    sk: 'SOLE',
    waitRelease: 'RELEASE#r1',
    waitOn: 'ready#ecs-svc/1002',
    kind: 'ready',
    key: 'ecs-svc/1002',
    releaseId: 'r1',
    service: 'checkout',
    environment: 'default',
    taskToken: 'token-steady',
  };

  describe('Method: putSlotWait', () => {
    it('registers a ready wait under the ECS deployment id, indexed by release, with a TTL', async () => {
      ddb.on(PutCommand).resolves({});

      await store.putSlotWait({ ...slotWait, service: 'checkout' }, 4800);

      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Item: { ...readyItem, expiresAt: NOW_EPOCH + 4800 },
      });
    });
  });

  describe('Method: readSlotWait', () => {
    it('reads the wait of the deployment with a consistent read', async () => {
      ddb.on(GetCommand).resolves({ Item: { ...readyItem, expiresAt: 1 } });

      await expect(store.readSlotWait('ecs-svc/1002')).resolves.toEqual({ ...slotWait, service: 'checkout' });
      expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'WAIT#DEPLOYMENT#ecs-svc/1002', sk: 'SOLE' },
        ConsistentRead: true,
      });
    });
  });

  describe('Method: claimSlotWait', () => {
    it('deletes the wait and returns what was there', async () => {
      ddb
        .on(DeleteCommand)
        .resolvesOnce({ Attributes: { ...readyItem, expiresAt: 1 } })
        .resolves({});

      await expect(store.claimSlotWait('ecs-svc/1002')).resolves.toEqual({
        ...slotWait,
        service: 'checkout',
      });
      await expect(store.claimSlotWait('ecs-svc/1002')).resolves.toBeUndefined();
      expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'WAIT#DEPLOYMENT#ecs-svc/1002', sk: 'SOLE' },
        ReturnValues: 'ALL_OLD',
      });
    });
  });

  describe('Method: markNotified', () => {
    it('puts a marker on condition that none exists', async () => {
      ddb.on(PutCommand).resolves({});

      await expect(store.markNotified('r1', 'started')).resolves.toBe(true);
      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Item: { pk: 'RELEASE#r1', sk: 'NOTIFIED#started', expiresAt: NOW_EPOCH + RETENTION },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });

    it('returns false when the marker already exists', async () => {
      ddb.on(PutCommand).rejects(conditionFailed());

      await expect(store.markNotified('r1', 'started')).resolves.toBe(false);
    });

    it('rethrows any other error', async () => {
      ddb.on(PutCommand).rejects(throttled());

      await expect(store.markNotified('r1', 'started')).rejects.toThrow(/allowed throughput/);
    });
  });

  describe('Method: unmarkNotified', () => {
    it('deletes the marker', async () => {
      ddb.on(DeleteCommand).resolves({});

      await store.unmarkNotified('r1', 'started');

      expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'RELEASE#r1', sk: 'NOTIFIED#started' },
      });
    });
  });

  describe('Constructor', () => {
    it('reads the table name at call time', async () => {
      let table = 'first';
      const lazy = new DynamoDbReleaseStore(
        DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
        () => table,
      );
      ddb.on(DeleteCommand).resolves({});
      table = 'second';

      await lazy.unmarkNotified('r1', 'started');

      expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input.TableName).toBe('second');
    });
  });
});
