import '../../sandbox/polyfills.ts';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { customize } from '../../lib/adapters/aws-clients.ts';
import { runInWorld } from '../../sandbox/context.ts';
import { installSandboxClients } from '../../sandbox/intercept.ts';
import {
  createTable,
  localDynamoDbServer,
  startLocalDynamoDb,
  stopLocalDynamoDb,
} from '../../sandbox/local-dynamodb.ts';
import { makeWorld } from './support.ts';

describe('sandbox DynamoDB transport', () => {
  const saved = { ...process.env };
  let endpoint = '';
  beforeAll(async () => {
    Object.assign(process.env, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    installSandboxClients();
    endpoint = await startLocalDynamoDb();
    await createTable(endpoint, {
      TableName: 'transport',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
  });
  afterAll(async () => {
    await stopLocalDynamoDb();
    process.env = saved;
  });

  it('hands the requests to the local server in-process: the same answers, errors included, and no socket', async () => {
    const { clock, world } = makeWorld();
    let connections = 0;
    localDynamoDbServer()?.on('connection', () => {
      connections += 1;
    });
    await runInWorld({ world, clock, env: { AWS_REGION: 'us-east-1' } }, async () => {
      const client = customize(new DynamoDBClient({ region: 'us-east-1', endpoint }), 'DynamoDB');
      await client.send(
        new PutItemCommand({ TableName: 'transport', Item: { pk: { S: 'a' }, n: { N: '1' } } }),
      );
      const read = await client.send(new GetItemCommand({ TableName: 'transport', Key: { pk: { S: 'a' } } }));
      expect(read.Item).toEqual({ pk: { S: 'a' }, n: { N: '1' } });
      // A conditional write that fails comes back as the service's error, as over HTTP.
      await expect(
        client.send(
          new PutItemCommand({
            TableName: 'transport',
            Item: { pk: { S: 'a' } },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
      await expect(
        client.send(new GetItemCommand({ TableName: 'missing', Key: { pk: { S: 'a' } } })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    });
    expect(connections).toBe(0);
  });

  it('asks the server its address once, not on every request (a system call each)', async () => {
    const { clock, world } = makeWorld();
    const server = localDynamoDbServer();
    if (!server) throw new Error('the local DynamoDB server is not running');
    const address = vi.spyOn(server, 'address');
    await runInWorld({ world, clock, env: { AWS_REGION: 'us-east-1' } }, async () => {
      const client = customize(new DynamoDBClient({ region: 'us-east-1', endpoint }), 'DynamoDB');
      for (const n of ['1', '2', '3'])
        await client.send(
          new PutItemCommand({ TableName: 'transport', Item: { pk: { S: 'b' }, n: { N: n } } }),
        );
      const read = await client.send(new GetItemCommand({ TableName: 'transport', Key: { pk: { S: 'b' } } }));
      expect(read.Item?.n).toEqual({ N: '3' });
    });
    expect(address.mock.calls.length).toBeLessThanOrEqual(1);
    address.mockRestore();
  });
});
