import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalDynamoDb, stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';

const clientFor = (endpoint: string): DynamoDBClient =>
  new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  });

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe('Local DynamoDB server lifecycle', () => {
  it('listens again where clients built before a restart point, so functions loaded earlier still reach it', async () => {
    const endpoint = await startLocalDynamoDb();
    const client = clientFor(endpoint);
    await expect(client.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
    await stopLocalDynamoDb();

    expect(await startLocalDynamoDb()).toBe(endpoint);
    await expect(client.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
    client.destroy();
  });

  it('takes another port when its earlier one was taken meanwhile', async () => {
    const endpoint = await startLocalDynamoDb();
    await stopLocalDynamoDb();
    const squatter = createServer();
    await new Promise<void>((resolve) =>
      squatter.listen(Number(new URL(endpoint).port), '127.0.0.1', resolve),
    );
    try {
      const other = await startLocalDynamoDb();
      expect(other).not.toBe(endpoint);
      const client = clientFor(other);
      await expect(client.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
      client.destroy();
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});
