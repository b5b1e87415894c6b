import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { nowEpochSeconds } from '../clock.ts';
import type { SlackBlock } from '../domain/slack.ts';
import type { ReplayGuard, SlackThread, SlackThreadStore } from '../ports/slack.ts';
import { DynamoDbTablePart, isConditionFailure, RECORD_RETENTION_SECONDS } from './dynamodb-table.ts';

/** The release's thread item, beside its notification marks (`RELEASE#<id>`). */
const threadKey = (releaseId: string) => ({ pk: `RELEASE#${releaseId}`, sk: 'SLACK#THREAD' });
/** One item per accepted click signature, kept (TTL) until Slack's window would refuse it anyway. */
const signatureKey = (signature: string) => ({ pk: `SLACK#SIGNATURE#${signature}`, sk: 'SEEN' });

const isRootMessage = (value: unknown): value is { text: string; blocks: SlackBlock[] } =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { text?: unknown }).text === 'string' &&
  Array.isArray((value as { blocks?: unknown }).blocks);

/** A conditional write: true when it applied, false when its condition failed. */
const applied = async (write: () => Promise<unknown>): Promise<boolean> => {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
};

/**
 * The Slack items of the release table. Every change that two deliveries of one event could race on is a
 * conditional write: one root per release, the root moving only forward, each reply posted once.
 */
export class DynamoDbSlackStore extends DynamoDbTablePart implements SlackThreadStore, ReplayGuard {
  public async read(releaseId: string): Promise<SlackThread | undefined> {
    const item = await this.get(threadKey(releaseId));
    if (!item) return undefined;
    return {
      channel: String(item.channel),
      ...(typeof item.ts === 'string' ? { ts: item.ts } : {}),
      rootSequence: typeof item.rootSequence === 'number' ? item.rootSequence : -1,
      ...(isRootMessage(item.rootMessage) ? { root: item.rootMessage } : {}),
    };
  }

  public claim(releaseId: string, channel: string, claimUntil: number): Promise<boolean> {
    return applied(() =>
      this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...threadKey(releaseId),
            channel,
            rootSequence: -1,
            claimedUntil: claimUntil,
            expiresAt: nowEpochSeconds() + RECORD_RETENTION_SECONDS,
          },
          // No thread yet, or a claim whose delivery died before posting the root.
          ConditionExpression:
            'attribute_not_exists(pk) OR (attribute_not_exists(ts) AND claimedUntil < :now)',
          ExpressionAttributeValues: { ':now': nowEpochSeconds() },
        }),
      ),
    );
  }

  public async unclaim(releaseId: string): Promise<void> {
    await applied(() =>
      this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: threadKey(releaseId),
          ConditionExpression: 'attribute_not_exists(ts)',
        }),
      ),
    );
  }

  public async recordRoot(releaseId: string, ts: string, sequence: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: threadKey(releaseId),
        UpdateExpression: 'SET ts = :ts, rootSequence = :sequence REMOVE claimedUntil',
        ExpressionAttributeValues: { ':ts': ts, ':sequence': sequence },
      }),
    );
  }

  public advanceRoot(
    releaseId: string,
    sequence: number,
    root: { text: string; blocks: SlackBlock[] },
  ): Promise<boolean> {
    return applied(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: threadKey(releaseId),
          UpdateExpression: 'SET rootSequence = :sequence, rootMessage = :root',
          ConditionExpression: 'attribute_exists(ts) AND rootSequence < :sequence',
          ExpressionAttributeValues: { ':sequence': sequence, ':root': root },
        }),
      ),
    );
  }

  public async rewindRoot(releaseId: string, sequence: number, previous: number): Promise<void> {
    await applied(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: threadKey(releaseId),
          UpdateExpression: 'SET rootSequence = :previous',
          ConditionExpression: 'rootSequence = :sequence',
          ExpressionAttributeValues: { ':sequence': sequence, ':previous': previous },
        }),
      ),
    );
  }

  public markReplied(releaseId: string, key: string): Promise<boolean> {
    return applied(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: threadKey(releaseId),
          UpdateExpression: 'ADD replied :keys',
          ConditionExpression: 'attribute_exists(pk) AND NOT contains(replied, :key)',
          ExpressionAttributeValues: { ':keys': new Set([key]), ':key': key },
        }),
      ),
    );
  }

  public async unmarkReplied(releaseId: string, key: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: threadKey(releaseId),
        UpdateExpression: 'DELETE replied :keys',
        ExpressionAttributeValues: { ':keys': new Set([key]) },
      }),
    );
  }

  public firstUse(signature: string, expiresAt: number): Promise<boolean> {
    return applied(() =>
      this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...signatureKey(signature), expiresAt },
          // DynamoDB's TTL deletes expired items within days, not at once: an item past its expiry may
          // still be there, and only a signature still inside Slack's window counts as a replay.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': nowEpochSeconds() },
        }),
      ),
    );
  }
}
