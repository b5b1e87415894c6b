import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { readYamlFile } from './yaml-file.ts';

let server: Server | undefined;
let endpoint: string | undefined;
/** The port the last server of this process listened on: a restarted server listens there again. */
let lastPort: number | undefined;

const listen = (started: Server, port: number): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    started.once('error', failed);
    started.listen(port, '127.0.0.1', () => {
      started.off('error', failed);
      resolve();
    });
  });

/**
 * Starts (once per process) a DynamoDB-protocol server in memory on 127.0.0.1 and returns its endpoint.
 * Started again after `stopLocalDynamoDb`, it listens on the same port as before when that port is free:
 * function modules already loaded in the process keep the DynamoDB clients they built with the endpoint of
 * their first run, and several runs share one process (test files without isolation, a bench).
 */
export const startLocalDynamoDb = async (): Promise<string> => {
  if (endpoint) return endpoint;
  let started = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  try {
    await listen(started, lastPort ?? 0);
  } catch (error) {
    if (lastPort === undefined || (error as { code?: string }).code !== 'EADDRINUSE') throw error;
    // Someone else took the port meanwhile: any free port (clients built earlier point at the old one).
    started = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await listen(started, 0);
  }
  server = started;
  lastPort = (started.address() as AddressInfo).port;
  endpoint = `http://127.0.0.1:${lastPort}`;
  return endpoint;
};

/** The running local DynamoDB server, if any (the sandbox's DynamoDB clients reach it in-process). */
export const localDynamoDbServer = (): Server | undefined => server;

export const stopLocalDynamoDb = async (): Promise<void> => {
  const running = server;
  server = undefined;
  endpoint = undefined;
  if (running) await new Promise<void>((resolve) => running.close(() => resolve()));
};

/** The pipeline table exactly as serverless.yml declares it (keys, attribute types, global secondary indexes). */
export const tableDefinition = (root: string, tableName: string): CreateTableCommandInput => {
  const document = readYamlFile(path.join(root, 'serverless.yml')) as {
    resources?: { Resources?: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  };
  const table = Object.values(document.resources?.Resources ?? {}).find(
    (r) => r.Type === 'AWS::DynamoDB::Table',
  );
  if (!table) throw new Error('serverless.yml declares no AWS::DynamoDB::Table');
  const indexes = table.Properties
    .GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'];
  return {
    TableName: tableName,
    KeySchema: table.Properties.KeySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: table.Properties
      .AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    ...(indexes ? { GlobalSecondaryIndexes: indexes } : {}),
    BillingMode: 'PAY_PER_REQUEST',
  };
};

/**
 * Creates a table on the local server and waits until it is ACTIVE. `replace`: a table of that name left by
 * an earlier run is deleted first, so the new one starts empty.
 */
export const createTable = async (
  dynamoEndpoint: string,
  definition: CreateTableCommandInput,
  options: { replace?: boolean } = {},
): Promise<void> => {
  const client = new DynamoDBClient({
    endpoint: dynamoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  });
  if (options.replace) {
    try {
      await client.send(new DeleteTableCommand({ TableName: definition.TableName }));
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
    }
    // As on AWS, a deleted table is DELETING until it is gone (dynalite removes it on its next timer).
    for (;;) {
      try {
        await client.send(new DescribeTableCommand({ TableName: definition.TableName }));
      } catch (error) {
        if ((error as { name?: string }).name === 'ResourceNotFoundException') break;
        throw error;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  await client.send(new CreateTableCommand(definition));
  // As on AWS, a table is CREATING first and refuses items until ACTIVE (dynalite turns it ACTIVE on its next
  // timer): a run starts writing at once, so it waits for ACTIVE instead of counting on a socket's delay.
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: definition.TableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  client.destroy();
};
