import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { environment } from '../env.ts';
import { ComposedReleaseStore } from '../store/composed-release-store.ts';
import { clientBase, customize } from './aws-clients.ts';
import { DynamoDbLockStore } from './dynamodb-lock-store.ts';
import { DynamoDbNotificationMarks } from './dynamodb-notification-marks.ts';
import { DynamoDbReleaseHistory } from './dynamodb-release-history.ts';
import { DynamoDbServiceStateStore } from './dynamodb-service-state-store.ts';
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
  public constructor(client: DynamoDBDocumentClient, tableName: () => string) {
    const waits = new DynamoDbWaitRegistry(client, tableName);
    super(
      new DynamoDbLockStore(client, tableName, waits),
      waits,
      new DynamoDbReleaseHistory(client, tableName),
      new DynamoDbServiceStateStore(client, tableName),
      new DynamoDbNotificationMarks(client, tableName),
    );
  }
}
