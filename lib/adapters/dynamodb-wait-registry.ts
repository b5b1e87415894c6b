import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { nowEpochSeconds } from '../clock.ts';
import {
  SOLE_WAIT_KINDS,
  subjectOf,
  type Wait,
  type WaitKind,
  type WaitRef,
  type WaitRegistry,
} from '../ports/wait-registry.ts';
import { DynamoDbTablePart, INDEXES, isConditionFailure, keys, stripKeys } from './dynamodb-table.ts';

/**
 * The wait registry in the pipeline table: one item per wait, keyed by what it waits on
 * (`WAIT#<subject>#<key>`; sort key the release, or `SOLE` for kinds with one wait per key), carrying its
 * release in the sparse `WaitsByRelease` index. One item serves both look-ups, so registering, claiming and
 * clearing a wait are single-item writes, atomic by themselves: no second item by release has to agree
 * with it (which would need TransactWriteItems, which the sandbox's dynalite does not implement). The price:
 * the look-up by release reads a global secondary index, which is only eventually consistent
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html), so
 * events, which must see a wait registered a moment earlier, use the consistent look-up by key.
 */
export class DynamoDbWaitRegistry extends DynamoDbTablePart implements WaitRegistry {
  private item(wait: Wait, ttlSeconds: number | undefined): Record<string, unknown> {
    const { expiresAt: _ignored, ...fields } = wait;
    return {
      ...keys.wait(wait),
      ...keys.waitIndex(wait),
      ...fields,
      ...(ttlSeconds !== undefined ? { expiresAt: nowEpochSeconds() + ttlSeconds } : {}),
    };
  }

  public async register(waits: readonly Wait[], ttlSeconds: number): Promise<void> {
    for (const wait of waits) {
      await this.client.send(new PutCommand({ TableName: this.table, Item: this.item(wait, ttlSeconds) }));
    }
  }

  public async replaceSole(
    wait: Wait,
    expected: { releaseId: string; taskToken: string } | undefined,
    ttlSeconds?: number,
  ): Promise<boolean> {
    if (!SOLE_WAIT_KINDS.has(wait.kind)) {
      throw new Error(
        `${wait.kind} waits are one per release on ${wait.key}, not one per key: register them`,
      );
    }
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: this.item(wait, ttlSeconds),
          ...(expected
            ? {
                ConditionExpression: 'releaseId = :release AND taskToken = :token',
                ExpressionAttributeValues: { ':release': expected.releaseId, ':token': expected.taskToken },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async query(input: {
    IndexName?: string;
    KeyConditionExpression: string;
    ExpressionAttributeValues: Record<string, unknown>;
    ConsistentRead?: boolean;
  }): Promise<Wait[]> {
    const waits: Wait[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ TableName: this.table, ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      for (const item of page.Items ?? []) waits.push(stripKeys<Wait>(item, true));
      start = page.LastEvaluatedKey;
    } while (start);
    return waits;
  }

  public async read(ref: WaitRef): Promise<Wait | undefined> {
    const item = await this.get(keys.wait(ref));
    if (!item || (ref.releaseId !== undefined && item.releaseId !== ref.releaseId)) return undefined;
    return stripKeys<Wait>(item, true);
  }

  public async findByKey(kinds: WaitKind | readonly WaitKind[], key: string): Promise<Wait[]> {
    const wanted: readonly WaitKind[] = typeof kinds === 'string' ? [kinds] : kinds;
    subjectOf(wanted);
    const [first] = wanted;
    if (first === undefined) return [];
    const found = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.waitsOn(first, key) },
      ConsistentRead: true,
    });
    return found.filter((wait) => wanted.includes(wait.kind));
  }

  public findByRelease(releaseId: string): Promise<Wait[]> {
    return this.query({
      IndexName: INDEXES.waitsByRelease,
      KeyConditionExpression: 'waitRelease = :release',
      ExpressionAttributeValues: { ':release': `RELEASE#${releaseId}` },
    });
  }

  public async claim(ref: WaitRef, taskToken: string): Promise<boolean> {
    const release = ref.releaseId !== undefined && SOLE_WAIT_KINDS.has(ref.kind);
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.wait(ref),
          ConditionExpression: release ? 'taskToken = :token AND releaseId = :release' : 'taskToken = :token',
          ExpressionAttributeValues: {
            ':token': taskToken,
            ...(release ? { ':release': ref.releaseId } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async remove(ref: WaitRef): Promise<Wait | undefined> {
    const release = ref.releaseId !== undefined && SOLE_WAIT_KINDS.has(ref.kind);
    try {
      const { Attributes } = await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.wait(ref),
          ReturnValues: 'ALL_OLD',
          ...(release
            ? {
                ConditionExpression: 'releaseId = :release',
                ExpressionAttributeValues: { ':release': ref.releaseId },
              }
            : {}),
        }),
      );
      return Attributes ? stripKeys<Wait>(Attributes, true) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  public async clearRelease(releaseId: string): Promise<Wait[]> {
    const cleared: Wait[] = [];
    for (const wait of await this.findByRelease(releaseId)) {
      const removed = await this.remove({ kind: wait.kind, key: wait.key, releaseId });
      if (removed) cleared.push(removed);
    }
    return cleared;
  }
}
