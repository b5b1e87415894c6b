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
import type { AlarmWatch, ServiceState } from '../../../lib/ports/release-store.ts';
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
    it('lays items out by service, alarm, ECS deployment and release', () => {
      expect(keys.lock('checkout')).toEqual({ pk: 'SERVICE#checkout', sk: 'LOCK' });
      expect(keys.waiter('checkout')).toEqual({ pk: 'SERVICE#checkout', sk: 'WAITER' });
      expect(keys.state('checkout')).toEqual({ pk: 'SERVICE#checkout', sk: 'STATE' });
      expect(keys.record('checkout', '2025-03-04T10:00:00Z', 'r1')).toEqual({
        pk: 'SERVICE#checkout',
        sk: 'RELEASE#2025-03-04T10:00:00Z#r1',
      });
      expect(keys.alarmWatch('checkout-5xx', 'r1')).toEqual({ pk: 'ALARM#checkout-5xx', sk: 'WATCH#r1' });
      expect(keys.slotWait('ecs-svc/1002')).toEqual({ pk: 'ECSDEPLOY#ecs-svc/1002', sk: 'WAIT' });
      expect(keys.notified('r1', 'started')).toEqual({ pk: 'RELEASE#r1', sk: 'NOTIFIED#started' });
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
          pk: 'SERVICE#checkout',
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
          ...keys.lock('checkout'),
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
        Key: { pk: 'SERVICE#checkout', sk: 'LOCK' },
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
      ddb.on(GetCommand).resolves({ Item: { ...keys.waiter('checkout'), ...NEWER } });

      const result = await store.releaseLock('checkout', 'checkout-me');

      expect(result).toEqual({ released: true, next: NEWER });
      expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'SERVICE#checkout', sk: 'LOCK' },
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':holder': 'checkout-me' },
      });
      expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'SERVICE#checkout', sk: 'WAITER' },
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
        Item: { pk: 'SERVICE#checkout', sk: 'WAITER', ...ME },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });

    it('replaces an older waiter on condition that it is still the one read, and returns it', async () => {
      ddb.on(GetCommand).resolves({ Item: { ...keys.waiter('checkout'), ...OLDER } });
      ddb.on(PutCommand).resolves({});

      await expect(store.enqueueWaiter('checkout', ME)).resolves.toEqual({ queued: true, replaced: OLDER });
      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Item: { pk: 'SERVICE#checkout', sk: 'WAITER', ...ME },
        ConditionExpression: 'executionName = :name AND taskToken = :token',
        ExpressionAttributeValues: { ':name': 'checkout-older', ':token': 'token-older' },
      });
    });

    it('does not queue behind a newer waiter, and names it', async () => {
      ddb.on(GetCommand).resolves({ Item: { ...keys.waiter('checkout'), ...NEWER } });

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
      ddb.on(GetCommand).resolves({ Item: { ...keys.waiter('checkout'), ...receivedFirst } });
      ddb.on(PutCommand).resolves({});

      await expect(store.enqueueWaiter('checkout', me)).resolves.toEqual({
        queued: true,
        replaced: receivedFirst,
      });
      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({
        receivedAt: '2025-03-04T10:00:01.250Z',
        receivedSeq: 7,
      });
    });

    it('keeps the queued request received later in the same second', async () => {
      const me = { ...ME, executionName: 'checkout-zz', receivedAt: '2025-03-04T10:00:01.100Z' };
      const receivedLater = { ...ME, receivedAt: '2025-03-04T10:00:01.250Z' };
      ddb.on(GetCommand).resolves({ Item: { ...keys.waiter('checkout'), ...receivedLater } });

      await expect(store.enqueueWaiter('checkout', me)).resolves.toEqual({
        queued: false,
        newer: receivedLater,
      });
    });

    it('refreshes its own entry (a retry) without reporting a replacement', async () => {
      ddb.on(GetCommand).resolves({ Item: { ...keys.waiter('checkout'), ...ME, taskToken: 'token-old' } });
      ddb.on(PutCommand).resolves({});

      await expect(store.enqueueWaiter('checkout', ME)).resolves.toEqual({ queued: true });
      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.ExpressionAttributeValues).toEqual({
        ':name': 'checkout-me',
        ':token': 'token-old',
      });
    });

    it('reads again and retries when the queue changed under it', async () => {
      ddb
        .on(GetCommand)
        .resolvesOnce({})
        .resolves({ Item: { ...keys.waiter('checkout'), ...OLDER } });
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
        Key: { pk: 'SERVICE#checkout', sk: 'WAITER' },
        ConditionExpression: 'executionName = :name',
        ExpressionAttributeValues: { ':name': 'checkout-me' },
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
      ddb.on(GetCommand).resolves({ Item: { ...keys.state('checkout'), ...state } });

      await expect(store.readServiceState('checkout')).resolves.toEqual(state);
    });

    it('returns undefined while only an idle-slot claim is recorded', async () => {
      ddb
        .on(GetCommand)
        .resolves({ Item: { ...keys.state('checkout'), latestRelease: 'r1', service: 'checkout' } });

      await expect(store.readServiceState('checkout')).resolves.toBeUndefined();
    });

    it('writes a promotion as the whole state item, only while this release is the latest', async () => {
      ddb.on(PutCommand).resolves({});

      await expect(store.recordPromotion(state)).resolves.toBe(true);

      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Item: { pk: 'SERVICE#checkout', sk: 'STATE', ...state },
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
        Key: { pk: 'SERVICE#checkout', sk: 'STATE' },
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
        Key: { pk: 'SERVICE#checkout', sk: 'STATE' },
        UpdateExpression: 'SET rollbackFenceUntil = :until',
        ConditionExpression: 'latestRelease = :release',
        ExpressionAttributeValues: { ':release': V2_RELEASE_ID, ':until': NOW_EPOCH + 1200 },
      });
    });
  });

  describe('Method: isLatestRelease', () => {
    it('compares the recorded latest release', async () => {
      ddb.on(GetCommand).resolves({ Item: { ...keys.state('checkout'), latestRelease: 'r2' } });

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
          pk: 'SERVICE#checkout',
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
        Key: { pk: 'SERVICE#checkout', sk: 'RELEASE#2025-03-04T09:59:00Z#r1' },
        UpdateExpression: 'SET #f0 = :v0, #f1 = :v1',
        ExpressionAttributeNames: { '#f0': 'status', '#f1': 'currentPercent' },
        ExpressionAttributeValues: { ':v0': 'rolled_back', ':v1': 0 },
      });
    });

    it('sends nothing when there is nothing to change', async () => {
      await store.updateRecord('checkout', NOW, 'r1', { reason: undefined });

      expect(ddb.calls()).toHaveLength(0);
    });
  });

  describe('Method: listRecords', () => {
    it('queries the newest records of a service first', async () => {
      ddb.on(QueryCommand).resolves({
        Items: [
          { pk: 'SERVICE#checkout', sk: 'RELEASE#t#r1', service: 'checkout', releaseId: 'r1', expiresAt: 1 },
        ],
      });

      await expect(store.listRecords('checkout', 5)).resolves.toEqual([
        { service: 'checkout', releaseId: 'r1' },
      ]);
      expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': 'SERVICE#checkout', ':prefix': 'RELEASE#' },
        ScanIndexForward: false,
        Limit: 5,
      });
    });
  });

  describe('Method: putAlarmWatches', () => {
    it('puts one watch per alarm, under the alarm, with a TTL', async () => {
      ddb.on(PutCommand).resolves({});
      const watch = (alarmName: string): AlarmWatch => ({
        alarmName,
        releaseId: 'r1',
        service: 'checkout',
        taskToken: 'token-bake',
        percent: 5,
        watchFrom: NOW,
      });

      await store.putAlarmWatches([watch('checkout-latency-p99'), watch('checkout-green-5xx')], 4200);

      expect(ddb.commandCalls(PutCommand).map((call) => call.args[0].input)).toEqual([
        {
          TableName: TABLE,
          Item: {
            pk: 'ALARM#checkout-latency-p99',
            sk: 'WATCH#r1',
            ...watch('checkout-latency-p99'),
            expiresAt: NOW_EPOCH + 4200,
          },
        },
        {
          TableName: TABLE,
          Item: {
            pk: 'ALARM#checkout-green-5xx',
            sk: 'WATCH#r1',
            ...watch('checkout-green-5xx'),
            expiresAt: NOW_EPOCH + 4200,
          },
        },
      ]);
    });
  });

  describe('Method: alarmWatches', () => {
    it('queries the watches of an alarm with a consistent read', async () => {
      ddb.on(QueryCommand).resolves({
        Items: [{ pk: 'ALARM#a', sk: 'WATCH#r1', alarmName: 'a', releaseId: 'r1', expiresAt: 9 }],
      });

      await expect(store.alarmWatches('a')).resolves.toEqual([{ alarmName: 'a', releaseId: 'r1' }]);
      expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'ALARM#a' },
        ConsistentRead: true,
      });
    });
  });

  describe('Method: claimAlarmWatch', () => {
    it('deletes the watch on condition that it exists', async () => {
      ddb.on(DeleteCommand).resolves({});

      await expect(store.claimAlarmWatch('checkout-green-5xx', 'r1')).resolves.toBe(true);
      expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'ALARM#checkout-green-5xx', sk: 'WATCH#r1' },
        ConditionExpression: 'attribute_exists(pk)',
      });
    });

    it('returns false when another event already claimed it', async () => {
      ddb.on(DeleteCommand).rejects(conditionFailed());

      await expect(store.claimAlarmWatch('checkout-green-5xx', 'r1')).resolves.toBe(false);
    });

    it('rethrows any other error', async () => {
      ddb.on(DeleteCommand).rejects(throttled());

      await expect(store.claimAlarmWatch('checkout-green-5xx', 'r1')).rejects.toThrow(/allowed throughput/);
    });
  });

  describe('Method: clearAlarmWatches', () => {
    it('deletes the watch of the release on every alarm, unconditionally', async () => {
      ddb.on(DeleteCommand).resolves({});

      await store.clearAlarmWatches(['a', 'b'], 'r1');

      expect(ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input)).toEqual([
        { TableName: TABLE, Key: { pk: 'ALARM#a', sk: 'WATCH#r1' } },
        { TableName: TABLE, Key: { pk: 'ALARM#b', sk: 'WATCH#r1' } },
      ]);
    });
  });

  describe('Method: putSlotWait', () => {
    it('puts the wait under the ECS deployment id with a TTL', async () => {
      ddb.on(PutCommand).resolves({});
      const wait = { deploymentId: 'ecs-svc/1002', releaseId: 'r1', taskToken: 'token-steady' };

      await store.putSlotWait(wait, 4800);

      expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Item: { pk: 'ECSDEPLOY#ecs-svc/1002', sk: 'WAIT', ...wait, expiresAt: NOW_EPOCH + 4800 },
      });
    });
  });

  describe('Method: claimSlotWait', () => {
    it('deletes the wait and returns what was there', async () => {
      const wait = { deploymentId: 'ecs-svc/1002', releaseId: 'r1', taskToken: 'token-steady' };
      ddb
        .on(DeleteCommand)
        .resolvesOnce({ Attributes: { ...keys.slotWait('ecs-svc/1002'), ...wait, expiresAt: 1 } })
        .resolves({});

      await expect(store.claimSlotWait('ecs-svc/1002')).resolves.toEqual(wait);
      await expect(store.claimSlotWait('ecs-svc/1002')).resolves.toBeUndefined();
      expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: { pk: 'ECSDEPLOY#ecs-svc/1002', sk: 'WAIT' },
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
