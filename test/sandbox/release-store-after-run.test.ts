import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbReleaseStore } from '../../lib/adapters/dynamodb-release-store.ts';
import { startLocalDynamoDb, stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { loadScenario, RELEASE_TABLE, REPOSITORY_ROOT, runScenario } from '../../sandbox/run-scenario.ts';

const client = async () =>
  new DynamoDBClient({
    endpoint: await startLocalDynamoDb(),
    region: 'us-east-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  });

/** Runs an example, then opens the store of the table the run created (no other run is in progress). */
const runAndOpenStore = async (file: string) => {
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', file));
  const result = await runScenario(scenario, baseDir);
  const dynamo = await client();
  const { TableNames = [] } = await dynamo.send(new ListTablesCommand({}));
  const tableName = TableNames.find((name) => name === RELEASE_TABLE);
  if (!tableName) throw new Error(`the run created no table (tables: ${TableNames.join(', ')})`);
  const documents = DynamoDBDocumentClient.from(dynamo);
  return { result, store: new DynamoDbReleaseStore(documents, () => tableName), documents };
};

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe('Sandbox: the release store after a release', () => {
  it('indexes a promoted release by its end time and leaves none of its waits behind', async () => {
    const { result, store, documents } = await runAndOpenStore('healthy-canary.yml');
    expect(result.outcome).toBe('promoted');
    const [release] = await store.listRecords('checkout', 1);
    const releaseId = release?.releaseId ?? 'none';

    const page = await store.history.listEnded('default', {
      from: '2000-01-01T00:00:00Z',
      to: '2100-01-01T00:00:00Z',
      limit: 10,
    });

    expect(page.records).toEqual([
      expect.objectContaining({ releaseId, service: 'checkout', status: 'promoted', toVersion: 'v2' }),
    ]);
    await expect(store.waits.findByRelease(releaseId)).resolves.toEqual([]);
    documents.destroy();
  });

  it('indexes a rolled-back release by its end time too', async () => {
    const { result, store, documents } = await runAndOpenStore('bad-version-rolled-back.yml');
    expect(result.outcome).toBe('rolled_back');

    const page = await store.history.listEnded('default', {
      from: '2000-01-01T00:00:00Z',
      to: '2100-01-01T00:00:00Z',
      limit: 10,
    });

    expect(page.records).toEqual([expect.objectContaining({ service: 'checkout', status: 'rolled_back' })]);
    documents.destroy();
  });

  it('leaves none of the waits of a rolling release an alarm rolled back during its rollout', async () => {
    const { result, store, documents } = await runAndOpenStore('rolling-alarm-during-rollout.yml');
    expect(result.outcome).toBe('rolled_back');
    const [release] = await store.listRecords('api', 1);

    await expect(store.waits.findByRelease(release?.releaseId ?? 'none')).resolves.toEqual([]);
    documents.destroy();
  });
});
