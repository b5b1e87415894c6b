import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ReleaseRef } from '../ports/release-history.ts';
import type { ServiceRef } from '../ports/service-ref.ts';
import { SOLE_WAIT_KINDS, WAIT_SUBJECT, type WaitKind, type WaitRef } from '../ports/wait-registry.ts';
import { sortableTime } from '../store/history-order.ts';

/**
 * The single pipeline table: `pk`/`sk` keys, TTL on `expiresAt`, and two sparse global secondary indexes.
 * Only items that carry both key attributes of an index appear in it (DynamoDB writes an index entry only
 * when the item has the index key attributes: "Take advantage of sparse indexes",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-indexes-general-sparse-indexes.html),
 * so each index holds only waits, or only ended releases. Index key attributes are top-level, non-empty
 * strings: a GSI's key attributes may only be top-level String, Number or Binary attributes of the base
 * table, no other scalar, document or set type (Using Global Secondary Indexes in DynamoDB,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html); composed values such as
 * `<kind>#<key>` carry what a nested attribute would.
 */
export const INDEXES = {
  /** Every wait of a release: partition `waitRelease` = `RELEASE#<id>`, sort `waitOn` = `<kind>#<key>`. */
  waitsByRelease: 'WaitsByRelease',
  /**
   * An environment's ended releases by end time: partition `endedIn` = `ENDED#<environment>`, sort
   * `endedOrder` = `<end time, ISO 8601 UTC with milliseconds>#<release id>`. One partition per environment
   * is ample: releases end a few times an hour, far under a partition's write throughput.
   */
  historyByEndTime: 'HistoryByEndTime',
} as const;

/** Retention of release records and notification markers (DynamoDB TTL on `expiresAt`). */
export const RECORD_RETENTION_SECONDS = 400 * 24 * 3600;

/** The index key attributes, never part of what the store returns. */
const INDEX_ATTRIBUTES = ['waitRelease', 'waitOn', 'endedIn', 'endedOrder'] as const;

/**
 * A service within its environment. Service names are lowercase letters, digits and dashes (config schema),
 * so `#` separates the parts unambiguously; environment names must keep to the same alphabet.
 */
const servicePk = (ref: ServiceRef): string => `SERVICE#${ref.environment}#${ref.service}`;

const requireRelease = (ref: WaitRef): string => {
  if (ref.releaseId === undefined) {
    throw new Error(`a ${ref.kind} wait on ${ref.key} is one per release: name the release`);
  }
  return ref.releaseId;
};

/** The partition of every wait on what `key` names (an alarm, an ECS deployment, a queue, a release). */
const waitsOn = (kind: WaitKind, key: string): string => `WAIT#${WAIT_SUBJECT[kind]}#${key}`;

/** Key layout of the pipeline table. */
export const keys = {
  lock: (ref: ServiceRef) => ({ pk: servicePk(ref), sk: 'LOCK' }),
  state: (ref: ServiceRef) => ({ pk: servicePk(ref), sk: 'STATE' }),
  record: (ref: ReleaseRef) => ({
    pk: servicePk(ref),
    sk: `RELEASE#${ref.requestedAt}#${ref.releaseId}`,
  }),
  waitsOn,
  /** One item per wait, under what it waits on (the event's look-up is a consistent Query). */
  wait: (ref: WaitRef) => ({
    pk: waitsOn(ref.kind, ref.key),
    sk: SOLE_WAIT_KINDS.has(ref.kind) ? 'SOLE' : `RELEASE#${requireRelease(ref)}`,
  }),
  /** The wait's entry in the by-release index. */
  waitIndex: (wait: { kind: WaitKind; key: string; releaseId: string }) => ({
    waitRelease: `RELEASE#${wait.releaseId}`,
    waitOn: `${wait.kind}#${wait.key}`,
  }),
  /** The record's entry in the by-end-time index, once it ended. */
  ended: (environment: string, endedAt: string, releaseId: string) => ({
    endedIn: `ENDED#${environment}`,
    endedOrder: `${sortableTime(endedAt, 'endedAt')}#${releaseId}`,
  }),
  notified: (releaseId: string, kind: string) => ({ pk: `RELEASE#${releaseId}`, sk: `NOTIFIED#${kind}` }),
} as const;

export const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** An item without its table and index keys (and without its TTL unless `keepTtl`). */
export const stripKeys = <T>(item: Record<string, unknown>, keepTtl = false): T => {
  const { pk: _pk, sk: _sk, expiresAt, ...rest } = item;
  for (const attribute of INDEX_ATTRIBUTES) delete rest[attribute];
  return (keepTtl && expiresAt !== undefined ? { ...rest, expiresAt } : rest) as T;
};

/** The client and table name every part shares; the name is read at call time (set after cold start). */
export abstract class DynamoDbTablePart {
  public constructor(
    protected readonly client: DynamoDBDocumentClient,
    private readonly tableName: () => string,
  ) {}

  protected get table(): string {
    return this.tableName();
  }

  protected async get(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
    );
    return Item;
  }
}
