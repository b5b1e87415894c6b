import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll } from 'vitest';
import { DynamoDbReleaseStore, keys } from '../../lib/adapters/dynamodb-release-store.ts';
import {
  createTable,
  startLocalDynamoDb,
  stopLocalDynamoDb,
  tableDefinition,
} from '../../sandbox/local-dynamodb.ts';
import { InMemoryReleaseStore } from '../unit/fakes.ts';
import { lockStoreContract } from './lock-store.contract.ts';
import { notificationMarksContract } from './notification-marks.contract.ts';
import { releaseHistoryContract } from './release-history.contract.ts';
import { releaseStoreContract } from './release-store.contract.ts';
import { serviceStateStoreContract } from './service-state-store.contract.ts';
import type { StoreFactory } from './subject.ts';
import { waitRegistryContract } from './wait-registry.contract.ts';

const REPOSITORY_ROOT = new URL('../..', import.meta.url).pathname;

/** The in-memory fake the use-case tests run on. */
const inMemory: StoreFactory = async () => {
  const store = new InMemoryReleaseStore();
  return {
    store,
    recordExpiresAt: async (ref) => {
      const key = [...store.records.entries()].find(([, record]) => record.releaseId === ref.releaseId)?.[0];
      return key
        ? (store.history as unknown as { expiresAt: Map<string, number> }).expiresAt.get(key)
        : undefined;
    },
  };
};

let client: DynamoDBDocumentClient | undefined;
let tables = 0;

/** The DynamoDB adapter on dynalite, one fresh table (created from serverless.yml) per test. */
const onDynalite: StoreFactory = async () => {
  const endpoint = await startLocalDynamoDb();
  client ??= DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'contract', secretAccessKey: 'contract' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  tables += 1;
  const tableName = `contract-${tables}`;
  await createTable(endpoint, tableDefinition(REPOSITORY_ROOT, tableName));
  const documents = client;
  return {
    store: new DynamoDbReleaseStore(documents, () => tableName),
    recordExpiresAt: async (ref) => {
      const { Item } = await documents.send(new GetCommand({ TableName: tableName, Key: keys.record(ref) }));
      return Item?.expiresAt as number | undefined;
    },
  };
};

afterAll(async () => {
  client?.destroy();
  await stopLocalDynamoDb();
});

for (const [name, factory] of [
  ['in-memory fake', inMemory],
  ['DynamoDB adapter on dynalite', onDynalite],
] as const) {
  lockStoreContract(name, factory);
  waitRegistryContract(name, factory);
  releaseHistoryContract(name, factory);
  serviceStateStoreContract(name, factory);
  notificationMarksContract(name, factory);
  releaseStoreContract(name, factory);
}
