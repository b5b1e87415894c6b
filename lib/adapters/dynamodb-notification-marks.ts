import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { nowEpochSeconds } from '../clock.ts';
import type { NotificationMarks } from '../ports/notification-marks.ts';
import { DynamoDbTablePart, isConditionFailure, keys, RECORD_RETENTION_SECONDS } from './dynamodb-table.ts';

/** One marker item per release and notification kind, created on condition that none exists. */
export class DynamoDbNotificationMarks extends DynamoDbTablePart implements NotificationMarks {
  public async mark(releaseId: string, kind: string): Promise<boolean> {
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

  public async isMarked(releaseId: string, kind: string): Promise<boolean> {
    return (await this.get(keys.notified(releaseId, kind))) !== undefined;
  }

  public async unmark(releaseId: string, kind: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.table, Key: keys.notified(releaseId, kind) }));
  }
}
