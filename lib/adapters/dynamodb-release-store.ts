import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { environment } from '../env.ts';
import type { LockLease } from '../ports/lock-store.ts';
import type { QueueSnapshot, QueueSnapshotRequest } from '../ports/release-store.ts';
import type { ServiceRef } from '../ports/service-ref.ts';
import { lockQueueKey, type Wait } from '../ports/wait-registry.ts';
import { ComposedReleaseStore } from '../store/composed-release-store.ts';
import { waiterOf } from '../store/lock-queue.ts';
import { clientBase, customize } from './aws-clients.ts';
import { DynamoDbLockStore } from './dynamodb-lock-store.ts';
import { DynamoDbNotificationMarks } from './dynamodb-notification-marks.ts';
import { DynamoDbReleaseHistory } from './dynamodb-release-history.ts';
import { DynamoDbServiceStateStore } from './dynamodb-service-state-store.ts';
import { keys, stripKeys } from './dynamodb-table.ts';
import { DynamoDbWaitRegistry } from './dynamodb-wait-registry.ts';

export { INDEXES, keys } from './dynamodb-table.ts';

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

/** The release store on one DynamoDB table: its parts by concern, and the methods use cases call today. */
export class DynamoDbReleaseStore extends ComposedReleaseStore {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: () => string,
  ) {
    const waits = new DynamoDbWaitRegistry(client, tableName);
    super(
      new DynamoDbLockStore(client, tableName, waits),
      waits,
      new DynamoDbReleaseHistory(client, tableName),
      new DynamoDbServiceStateStore(client, tableName),
      new DynamoDbNotificationMarks(client, tableName),
    );
  }

  /**
   * The lease, the queued waiter and a notification mark are three items of the table: read in one
   * BatchGetItem, each strongly consistent (`ConsistentRead` on the table's keys; BatchGetItem reads
   * eventually consistent otherwise), instead of a GetItem each. Not one point in time: each item is read
   * on its own, as separate GetItems would be. The keys DynamoDB leaves unprocessed (BatchGetItem "returns
   * a partial result if ... the table's provisioned throughput is exceeded, or an internal processing
   * failure occurs", with the rest in `UnprocessedKeys`: BatchGetItem, Amazon DynamoDB API Reference) are
   * read one by one with GetItem, which the SDK retries as any call.
   */
  protected override async snapshot(ref: ServiceRef, request: QueueSnapshotRequest): Promise<QueueSnapshot> {
    const TableName = this.tableName();
    const lockKey = keys.lock(ref);
    const queueKey = keys.wait({ kind: 'lock-queue', key: lockQueueKey(ref) });
    const markKey = request.told ? keys.notified(request.told.releaseId, request.told.kind) : undefined;
    const wanted = [lockKey, ...(request.queued ? [queueKey] : []), ...(markKey ? [markKey] : [])];
    const found = new Map<string, Record<string, unknown>>();
    const id = (key: { pk: unknown; sk: unknown }) => `${String(key.pk)}\n${String(key.sk)}`;
    let unread: Record<string, unknown>[] = wanted;
    if (wanted.length > 1) {
      const { Responses, UnprocessedKeys } = await this.client.send(
        new BatchGetCommand({ RequestItems: { [TableName]: { Keys: wanted, ConsistentRead: true } } }),
      );
      for (const item of Responses?.[TableName] ?? [])
        found.set(id(item as { pk: unknown; sk: unknown }), item);
      unread = UnprocessedKeys?.[TableName]?.Keys ?? [];
    }
    for (const Key of unread) {
      const { Item } = await this.client.send(new GetCommand({ TableName, Key, ConsistentRead: true }));
      if (Item) found.set(id(Key as { pk: unknown; sk: unknown }), Item);
    }
    const lease = found.get(id(lockKey));
    const queued = found.get(id(queueKey));
    return {
      ...(lease ? { lease: stripKeys<LockLease>(lease) } : {}),
      ...(request.queued && queued ? { queued: waiterOf(stripKeys<Wait>(queued, true)) } : {}),
      told: markKey !== undefined && found.has(id(markKey)),
    };
  }
}
