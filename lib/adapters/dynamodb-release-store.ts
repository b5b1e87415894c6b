import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { nowEpochSeconds } from '../clock.ts';
import { isNewerRequest } from '../domain/request-order.ts';
import { environment } from '../env.ts';
import { ServiceBusyError } from '../errors.ts';
import type {
  AlarmWatch,
  LockLease,
  Receipt,
  ReleaseRecord,
  ReleaseStore,
  ServiceState,
  SlotWait,
  Waiter,
} from '../ports/release-store.ts';
import { clientBase, customize } from './aws-clients.ts';

/**
 * The DynamoDB document client. Lives beside the store (not with the other client factories) because
 * lib-dynamodb is not marked free of side effects: functions that use no store then bundle none of it.
 */
export const createDynamoDbDocumentClient = (): DynamoDBDocumentClient => {
  const endpoint = environment.dynamoDbEndpoint();
  const client = customize(
    new DynamoDBClient({ ...clientBase(), ...(endpoint ? { endpoint } : {}) }),
    'DynamoDB',
  );
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
};

/** Key layout of the single pipeline table (`pk`, `sk`, TTL on `expiresAt`). */
export const keys = {
  lock: (service: string) => ({ pk: `SERVICE#${service}`, sk: 'LOCK' }),
  waiter: (service: string) => ({ pk: `SERVICE#${service}`, sk: 'WAITER' }),
  state: (service: string) => ({ pk: `SERVICE#${service}`, sk: 'STATE' }),
  record: (service: string, requestedAt: string, releaseId: string) => ({
    pk: `SERVICE#${service}`,
    sk: `RELEASE#${requestedAt}#${releaseId}`,
  }),
  alarmWatch: (alarmName: string, releaseId: string) => ({
    pk: `ALARM#${alarmName}`,
    sk: `WATCH#${releaseId}`,
  }),
  slotWait: (deploymentId: string) => ({ pk: `ECSDEPLOY#${deploymentId}`, sk: 'WAIT' }),
  notified: (releaseId: string, kind: string) => ({ pk: `RELEASE#${releaseId}`, sk: `NOTIFIED#${kind}` }),
} as const;

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

const stripKeys = <T>(item: Record<string, unknown>): T => {
  const { pk: _pk, sk: _sk, expiresAt: _expiresAt, ...rest } = item;
  return rest as T;
};

/** Retention of transient items (watches, waits, markers) and of release records. */
const RECORD_RETENTION_SECONDS = 400 * 24 * 3600;

export class DynamoDbReleaseStore implements ReleaseStore {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: () => string,
  ) {}

  private get table(): string {
    return this.tableName();
  }

  private async get(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  public async acquireLock(
    service: string,
    holder: string,
    requestedAt: string,
    leaseSeconds: number,
    received: Receipt = {},
  ): Promise<{ acquired: true } | { acquired: false; holder: LockLease }> {
    const now = nowEpochSeconds();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...keys.lock(service),
            holder,
            requestedAt,
            ...received,
            acquiredAt: new Date(now * 1000).toISOString(),
            leaseExpiresAt: now + leaseSeconds,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR holder = :holder OR leaseExpiresAt < :now',
          ExpressionAttributeValues: { ':holder': holder, ':now': now },
        }),
      );
      return { acquired: true as const };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.readLock(service);
      if (!current) return this.acquireLock(service, holder, requestedAt, leaseSeconds, received);
      return { acquired: false as const, holder: current };
    }
  }

  public async readLock(service: string): Promise<LockLease | undefined> {
    const item = await this.get(keys.lock(service));
    return item ? stripKeys<LockLease>(item) : undefined;
  }

  public async releaseLock(service: string, holder: string) {
    let released = true;
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.lock(service),
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      released = false;
    }
    const waiter = await this.get(keys.waiter(service));
    return { released, next: waiter ? stripKeys<Waiter>(waiter) : undefined };
  }

  public async enqueueWaiter(service: string, waiter: Waiter) {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const item = await this.get(keys.waiter(service));
      const existing = item ? stripKeys<Waiter>(item) : undefined;
      if (existing && existing.executionName !== waiter.executionName) {
        if (isNewerRequest(existing, waiter)) return { queued: false as const, newer: existing };
      }
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...keys.waiter(service), ...waiter },
            ...(existing
              ? {
                  ConditionExpression: 'executionName = :name AND taskToken = :token',
                  ExpressionAttributeValues: {
                    ':name': existing.executionName,
                    ':token': existing.taskToken,
                  },
                }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
        const replaced = existing && existing.executionName !== waiter.executionName ? existing : undefined;
        return { queued: true as const, ...(replaced ? { replaced } : {}) };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new Error(`could not queue ${waiter.executionName} for ${service}: the queue kept changing`);
  }

  public async readWaiter(service: string): Promise<Waiter | undefined> {
    const item = await this.get(keys.waiter(service));
    return item ? stripKeys<Waiter>(item) : undefined;
  }

  public async dequeueWaiter(service: string, executionName: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.waiter(service),
          ConditionExpression: 'executionName = :name',
          ExpressionAttributeValues: { ':name': executionName },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  public async readServiceState(service: string): Promise<ServiceState | undefined> {
    const item = await this.get(keys.state(service));
    return item?.stableSlot ? stripKeys<ServiceState>(item) : undefined;
  }

  public async claimIdleSlot(service: string, releaseId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.state(service),
          UpdateExpression: 'SET latestRelease = :release, service = :service',
          // Never while another release's rollback is putting the slots back (see fenceForRollback).
          ConditionExpression:
            'attribute_not_exists(rollbackFenceUntil) OR rollbackFenceUntil < :now OR latestRelease = :release',
          ExpressionAttributeValues: {
            ':release': releaseId,
            ':service': service,
            ':now': nowEpochSeconds(),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new ServiceBusyError(
        `a rollback of the previous release of ${service} is still putting its slots back; the idle slot is claimed once it is done`,
        { cause: error },
      );
    }
  }

  public async fenceForRollback(service: string, releaseId: string, seconds: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.state(service),
          UpdateExpression: 'SET rollbackFenceUntil = :until',
          ConditionExpression: 'latestRelease = :release',
          ExpressionAttributeValues: { ':release': releaseId, ':until': nowEpochSeconds() + seconds },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async recordPromotion(state: ServiceState): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.state(state.service), ...state },
          ConditionExpression: 'attribute_not_exists(latestRelease) OR latestRelease = :release',
          ExpressionAttributeValues: { ':release': state.latestRelease },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async isLatestRelease(service: string, releaseId: string): Promise<boolean> {
    const item = await this.get(keys.state(service));
    return item?.latestRelease === releaseId;
  }

  public async putRecord(record: ReleaseRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...keys.record(record.service, record.requestedAt, record.releaseId),
          ...record,
          expiresAt: nowEpochSeconds() + RECORD_RETENTION_SECONDS,
        },
      }),
    );
  }

  public async updateRecord(
    service: string,
    requestedAt: string,
    releaseId: string,
    changes: Partial<ReleaseRecord>,
  ): Promise<void> {
    const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = entries.map(([field, value], index) => {
      names[`#f${index}`] = field;
      values[`:v${index}`] = value;
      return `#f${index} = :v${index}`;
    });
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.record(service, requestedAt, releaseId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  public async listRecords(service: string, limit: number): Promise<ReleaseRecord[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': `SERVICE#${service}`, ':prefix': 'RELEASE#' },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => stripKeys<ReleaseRecord>(item));
  }

  public async putAlarmWatches(watches: readonly AlarmWatch[], ttlSeconds: number): Promise<void> {
    const expiresAt = nowEpochSeconds() + ttlSeconds;
    for (const watch of watches) {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.alarmWatch(watch.alarmName, watch.releaseId), ...watch, expiresAt },
        }),
      );
    }
  }

  public async alarmWatches(alarmName: string): Promise<AlarmWatch[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `ALARM#${alarmName}` },
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map((item) => stripKeys<AlarmWatch>(item));
  }

  public async claimAlarmWatch(alarmName: string, releaseId: string, taskToken?: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.alarmWatch(alarmName, releaseId),
          ...(taskToken
            ? {
                ConditionExpression: 'attribute_exists(pk) AND taskToken = :token',
                ExpressionAttributeValues: { ':token': taskToken },
              }
            : { ConditionExpression: 'attribute_exists(pk)' }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async clearAlarmWatches(alarmNames: readonly string[], releaseId: string): Promise<void> {
    for (const alarmName of alarmNames) {
      await this.client.send(
        new DeleteCommand({ TableName: this.table, Key: keys.alarmWatch(alarmName, releaseId) }),
      );
    }
  }

  public async putSlotWait(wait: SlotWait, ttlSeconds: number): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...keys.slotWait(wait.deploymentId), ...wait, expiresAt: nowEpochSeconds() + ttlSeconds },
      }),
    );
  }

  public async readSlotWait(deploymentId: string): Promise<SlotWait | undefined> {
    const item = await this.get(keys.slotWait(deploymentId));
    return item ? stripKeys<SlotWait>(item) : undefined;
  }

  public async claimSlotWait(deploymentId: string): Promise<SlotWait | undefined> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({ TableName: this.table, Key: keys.slotWait(deploymentId), ReturnValues: 'ALL_OLD' }),
    );
    return Attributes ? stripKeys<SlotWait>(Attributes) : undefined;
  }

  public async markNotified(releaseId: string, kind: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...keys.notified(releaseId, kind),
            expiresAt: nowEpochSeconds() + RECORD_RETENTION_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async unmarkNotified(releaseId: string, kind: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.table, Key: keys.notified(releaseId, kind) }));
  }
}
