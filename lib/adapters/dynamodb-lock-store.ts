import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { nowEpochSeconds } from '../clock.ts';
import type { LockLease, LockStore, Receipt, Waiter } from '../ports/lock-store.ts';
import type { ServiceRef } from '../ports/service-ref.ts';
import type { WaitRegistry } from '../ports/wait-registry.ts';
import { dequeue, enqueueNewest, readQueued } from '../store/lock-queue.ts';
import { DynamoDbTablePart, isConditionFailure, keys, stripKeys } from './dynamodb-table.ts';

/** The service lock as one conditional item per service; its queue lives in the wait registry. */
export class DynamoDbLockStore extends DynamoDbTablePart implements LockStore {
  public constructor(
    client: DynamoDBDocumentClient,
    tableName: () => string,
    private readonly waits: WaitRegistry,
  ) {
    super(client, tableName);
  }

  public async acquire(
    ref: ServiceRef,
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
            ...keys.lock(ref),
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
      const current = await this.read(ref);
      if (!current) return this.acquire(ref, holder, requestedAt, leaseSeconds, received);
      return { acquired: false as const, holder: current };
    }
  }

  public async read(ref: ServiceRef): Promise<LockLease | undefined> {
    const item = await this.get(keys.lock(ref));
    return item ? stripKeys<LockLease>(item) : undefined;
  }

  public async release(ref: ServiceRef, holder: string): Promise<{ released: boolean; next?: Waiter }> {
    let released = true;
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.lock(ref),
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      released = false;
    }
    const next = await readQueued(this.waits, ref);
    return { released, ...(next ? { next } : {}) };
  }

  public enqueue(ref: ServiceRef, waiter: Waiter, known?: { queued: Waiter | undefined }) {
    return enqueueNewest(this.waits, ref, waiter, known);
  }

  public queued(ref: ServiceRef): Promise<Waiter | undefined> {
    return readQueued(this.waits, ref);
  }

  public dequeue(ref: ServiceRef, executionName: string, taskToken?: string): Promise<void> {
    return dequeue(this.waits, ref, executionName, taskToken);
  }
}
