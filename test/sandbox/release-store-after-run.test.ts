import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbReleaseStore } from '../../lib/adapters/dynamodb-release-store.ts';
import { loadScenario, RELEASE_TABLE, REPOSITORY_ROOT, runScenario } from '../../sandbox/run-scenario.ts';

const servers: Server[] = [];

/**
 * Runs an example with its table on a DynamoDB server of the test's own (listening on 127.0.0.1), then opens
 * the store of that table: a world's own server is gone with the run.
 */
const runAndOpenStore = async (file: string) => {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', file));
  const result = await runScenario(scenario, baseDir, { dynamoDb: server });
  const dynamo = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  });
  const documents = DynamoDBDocumentClient.from(dynamo);
  return {
    result,
    store: new DynamoDbReleaseStore(documents, () => RELEASE_TABLE),
    documents,
  };
};

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
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
