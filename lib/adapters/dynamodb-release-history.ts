import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { nowEpochSeconds } from '../clock.ts';
import type { OperatorAction } from '../domain/progress.ts';
import type {
  EndedPage,
  EndedQuery,
  ReleaseHistory,
  ReleaseRecord,
  ReleaseRef,
} from '../ports/release-history.ts';
import { DEFAULT_ENVIRONMENT, type ServiceRef } from '../ports/service-ref.ts';
import { endedBounds } from '../store/history-order.ts';
import { DynamoDbTablePart, INDEXES, keys, RECORD_RETENTION_SECONDS, stripKeys } from './dynamodb-table.ts';

const encodeCursor = (key: Record<string, unknown>): string =>
  Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

const decodeCursor = (cursor: string): Record<string, unknown> => {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (key && typeof key === 'object' && !Array.isArray(key)) return key as Record<string, unknown>;
  } catch {
    // Reported below, naming the cursor.
  }
  throw new Error(`cursor "${cursor}" is not one this history returned`);
};

/**
 * Release records under their service (`SERVICE#<environment>#<service>`, sorted by request time), kept
 * 400 days. A record that ended also carries the `HistoryByEndTime` index keys, written with `endedAt`.
 */
export class DynamoDbReleaseHistory extends DynamoDbTablePart implements ReleaseHistory {
  public async put(record: ReleaseRecord): Promise<void> {
    const environment = record.environment ?? DEFAULT_ENVIRONMENT;
    const ref = {
      environment,
      service: record.service,
      requestedAt: record.requestedAt,
      releaseId: record.releaseId,
    };
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...keys.record(ref),
          ...record,
          ...(record.endedAt ? keys.ended(environment, record.endedAt, record.releaseId) : {}),
          expiresAt: nowEpochSeconds() + RECORD_RETENTION_SECONDS,
        },
      }),
    );
  }

  public async update(
    ref: ReleaseRef,
    changes: Partial<Omit<ReleaseRecord, 'service' | 'environment'>>,
  ): Promise<void> {
    const entries: Array<[string, unknown]> = Object.entries(changes).filter(
      ([, value]) => value !== undefined,
    );
    if (entries.length === 0) return;
    if (changes.endedAt !== undefined) {
      entries.push(...Object.entries(keys.ended(ref.environment, changes.endedAt, ref.releaseId)));
    }
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
        Key: keys.record(ref),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  public async appendAction(ref: ReleaseRef, action: OperatorAction): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.record(ref),
        UpdateExpression: 'SET #actions = list_append(if_not_exists(#actions, :none), :action)',
        // Only on a record that exists: an action on a release nobody recorded is a mistake, not a new record.
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#actions': 'actions' },
        ExpressionAttributeValues: { ':none': [], ':action': [action] },
      }),
    );
  }

  public async read(ref: ReleaseRef): Promise<ReleaseRecord | undefined> {
    const item = await this.get(keys.record(ref));
    return item ? stripKeys<ReleaseRecord>(item) : undefined;
  }

  public async listByService(ref: ServiceRef, limit: number): Promise<ReleaseRecord[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.lock(ref).pk, ':prefix': 'RELEASE#' },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => stripKeys<ReleaseRecord>(item));
  }

  public async listEnded(environment: string, query: EndedQuery): Promise<EndedPage> {
    const { from, to } = endedBounds(query);
    const { Items, LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: INDEXES.historyByEndTime,
        KeyConditionExpression: 'endedIn = :environment AND endedOrder BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':environment': `ENDED#${environment}`, ':from': from, ':to': to },
        ScanIndexForward: false,
        Limit: query.limit,
        ...(query.cursor ? { ExclusiveStartKey: decodeCursor(query.cursor) } : {}),
      }),
    );
    return {
      records: (Items ?? []).map((item) => stripKeys<ReleaseRecord>(item)),
      ...(LastEvaluatedKey ? { cursor: encodeCursor(LastEvaluatedKey) } : {}),
    };
  }
}
