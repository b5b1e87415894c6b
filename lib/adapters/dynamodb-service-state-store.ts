import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { nowEpochSeconds } from '../clock.ts';
import { ServiceBusyError } from '../errors.ts';
import type { ServiceRef } from '../ports/service-ref.ts';
import type { ServiceState, ServiceStateStore } from '../ports/service-state-store.ts';
import { DynamoDbTablePart, isConditionFailure, keys, stripKeys } from './dynamodb-table.ts';

/** What serves each service: one item per service, every write conditional on the latest release. */
export class DynamoDbServiceStateStore extends DynamoDbTablePart implements ServiceStateStore {
  public async read(ref: ServiceRef): Promise<ServiceState | undefined> {
    const item = await this.get(keys.state(ref));
    // Only a promotion writes the stable revision (a claim writes the latest release alone).
    if (!item?.stableTaskDefinitionArn) return undefined;
    // The fence is the store's own guard, not part of what serves the service.
    const { rollbackFenceUntil: _fence, ...state } = stripKeys<
      ServiceState & { rollbackFenceUntil?: number }
    >(item);
    return state;
  }

  public async claimIdleSlot(ref: ServiceRef, releaseId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.state(ref),
          UpdateExpression: 'SET latestRelease = :release, service = :service',
          // Never while another release's rollback is putting the slots back (see fenceForRollback).
          ConditionExpression:
            'attribute_not_exists(rollbackFenceUntil) OR rollbackFenceUntil < :now OR latestRelease = :release',
          ExpressionAttributeValues: {
            ':release': releaseId,
            ':service': ref.service,
            ':now': nowEpochSeconds(),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new ServiceBusyError(
        `a rollback of the previous release of ${ref.service} is still putting its slots back; the idle slot is claimed once it is done`,
        { cause: error },
      );
    }
  }

  public async fenceForRollback(ref: ServiceRef, releaseId: string, seconds: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.state(ref),
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

  public async recordPromotion(ref: ServiceRef, state: ServiceState): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          // The whole item: a promotion clears the rollback fence.
          Item: { ...keys.state(ref), ...state },
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

  public async isLatestRelease(ref: ServiceRef, releaseId: string): Promise<boolean> {
    const item = await this.get(keys.state(ref));
    return item?.latestRelease === releaseId;
  }

  public async isRollingBack(ref: ServiceRef, releaseId: string): Promise<boolean> {
    const item = await this.get(keys.state(ref));
    const until = item?.rollbackFenceUntil;
    // The fence is kept while it has not lapsed, as claimIdleSlot reads it (`rollbackFenceUntil < :now` lapsed).
    return item?.latestRelease === releaseId && typeof until === 'number' && until >= nowEpochSeconds();
  }
}
