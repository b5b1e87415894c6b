import '../../sandbox/polyfills.ts';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientBase, customize } from '../../lib/adapters/aws-clients.ts';
import { runInWorld } from '../../sandbox/context.ts';
import { installSandboxClients } from '../../sandbox/intercept.ts';
import { makeWorld } from './support.ts';

type Captured = { headers: Record<string, string> };

/** Records the request as it leaves the SDK's signing middleware, then stops it there (nothing is sent). */
const captureSigned = (client: { middlewareStack: unknown }, seen: Captured[]) => {
  (
    client.middlewareStack as {
      addRelativeTo: (mw: unknown, options: Record<string, unknown>) => void;
    }
  ).addRelativeTo(
    () => async (args: { request: Captured }) => {
      seen.push({ headers: { ...args.request.headers } });
      throw Object.assign(new Error('captured'), { name: 'Captured' });
    },
    { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'captureSigned' },
  );
};

describe('sandbox SDK clients', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    installSandboxClients();
  });
  afterAll(() => {
    process.env = saved;
  });

  it('sends a simulated service its commands unsigned, and DynamoDB (a real server) signed requests', async () => {
    const { clock, world } = makeWorld();
    const sfn: Captured[] = [];
    const dynamodb: Captured[] = [];
    await runInWorld({ world, clock, env: { AWS_REGION: 'us-east-1' } }, async () => {
      const sfnClient = customize(new SFNClient(clientBase()), 'SFN');
      captureSigned(sfnClient, sfn);
      const dynamoClient = customize(
        new DynamoDBClient({ ...clientBase(), endpoint: 'http://127.0.0.1:9' }),
        'DynamoDB',
      );
      captureSigned(dynamoClient, dynamodb);
      await expect(
        sfnClient.send(
          new ListExecutionsCommand({ stateMachineArn: 'arn:aws:states:us-east-1:1:stateMachine:m' }),
        ),
      ).rejects.toThrow('captured');
      await expect(
        dynamoClient.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })),
      ).rejects.toThrow('captured');
    });
    expect(sfn[0]?.headers).not.toHaveProperty('authorization');
    expect(sfn[0]?.headers).not.toHaveProperty('x-amz-date');
    expect(dynamodb[0]?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=sandbox\//);
  });

  it("writes SigV4's headers on DynamoDB requests as the SDK's signer does, but for the signature it never verifies", async () => {
    const { clock, world } = makeWorld();
    const client = new DynamoDBClient({ ...clientBase(), endpoint: 'http://127.0.0.1:9' });
    interface SdkHttpRequest extends Captured {
      clone(): SdkHttpRequest;
    }
    type SignerProvider = (scheme?: unknown) => Promise<{
      sign: (request: SdkHttpRequest, options: { signingDate: Date }) => Promise<Captured>;
    }>;
    const config = client.config as unknown as { signer: SignerProvider };
    const sdkSigner = config.signer;
    let built = 0;
    config.signer = (scheme) => {
      built += 1;
      return sdkSigner(scheme);
    };
    customize(client, 'DynamoDB');
    const unsigned: SdkHttpRequest[] = [];
    (
      client.middlewareStack as unknown as {
        addRelativeTo: (mw: unknown, options: Record<string, unknown>) => void;
      }
    ).addRelativeTo(
      (next: (args: unknown) => Promise<unknown>) => async (args: { request: SdkHttpRequest }) => {
        unsigned.push(args.request.clone());
        return next(args);
      },
      { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'captureUnsigned' },
    );
    const signed: Captured[] = [];
    captureSigned(client, signed);
    await runInWorld({ world, clock, env: { AWS_REGION: 'us-east-1' } }, async () => {
      for (const pk of ['a', 'b'])
        await expect(
          client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: pk } } })),
        ).rejects.toThrow('captured');
    });
    // The SDK's signer (and its HMAC chain) is never built or run.
    expect(built).toBe(0);
    expect(signed).toHaveLength(2);
    // The headers are SigV4's, as the SDK's own signer writes them at the same time, but for the signature.
    const sdk = await sdkSigner();
    for (const [index, { headers }] of signed.entries()) {
      const date = headers['x-amz-date'] ?? '';
      expect(date).toMatch(/^\d{8}T\d{6}Z$/);
      const request = unsigned[index];
      if (!request) throw new Error(`request ${index} was not captured before signing`);
      const signingDate = new Date(
        date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
      );
      const bySdk = await sdk.sign(request.clone(), { signingDate });
      expect(headers['x-amz-date']).toBe(bySdk.headers['x-amz-date']);
      expect(headers['x-amz-content-sha256']).toBe(bySdk.headers['x-amz-content-sha256']);
      expect(headers.authorization).toBe(
        bySdk.headers.authorization?.replace(/Signature=[0-9a-f]{64}$/, `Signature=${'0'.repeat(64)}`),
      );
      expect(headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=sandbox\/\d{8}\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=\S*host;x-amz-content-sha256;x-amz-date;x-amz-target\S*, Signature=0{64}$/,
      );
    }
  });

  it("reads the SDK's default user agent once per client, and sends the same header on every request", async () => {
    const { clock, world } = makeWorld();
    const client = new DynamoDBClient({ ...clientBase(), endpoint: 'http://127.0.0.1:9' });
    type Provider = (...args: unknown[]) => Promise<unknown[]>;
    const config = client.config as unknown as { defaultUserAgentProvider: Provider };
    const sdkProvider = config.defaultUserAgentProvider;
    let read = 0;
    config.defaultUserAgentProvider = (...args) => {
      read += 1;
      return sdkProvider(...args);
    };
    customize(client, 'DynamoDB');
    const seen: Captured[] = [];
    captureSigned(client, seen);
    await runInWorld({ world, clock, env: { AWS_REGION: 'us-east-1' } }, async () => {
      for (let attempt = 0; attempt < 3; attempt += 1)
        await expect(
          client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: String(attempt) } } })),
        ).rejects.toThrow('captured');
    });
    expect(read).toBe(1);
    const agents = seen.map((request) => request.headers['user-agent']);
    expect(agents).toHaveLength(3);
    expect(new Set(agents).size).toBe(1);
    expect(agents[0]).toMatch(/^aws-sdk-js\/\S+ ua\/2\.1 os\/\S+ lang\/js md\/nodejs#\S+ api\/dynamodb#\S+/);
  });

  it("passes a simulated service's request on without its headers, through the same middleware names", async () => {
    const names = (client: { middlewareStack: unknown }) =>
      (client.middlewareStack as { identify: () => string[] }).identify().join(' ');
    const sfn = customize(new SFNClient(clientBase()), 'SFN');
    const dynamo = customize(
      new DynamoDBClient({ ...clientBase(), endpoint: 'http://127.0.0.1:9' }),
      'DynamoDB',
    );
    // The names stay (other middlewares are added relative to them, Powertools' after the user agent's).
    for (const name of [
      'contentLengthMiddleware',
      'getUserAgentMiddleware',
      'hostHeaderMiddleware',
      'recursionDetectionMiddleware',
    ]) {
      expect(names(sfn)).toContain(`${name} - build`);
      expect(names(dynamo)).toContain(`${name} - build`);
    }
    expect(names(sfn)).toMatch(/retryMiddleware.*httpSigningMiddleware.*shiplineSandboxAccount/);
    (
      sfn.middlewareStack as unknown as {
        addRelativeTo: (mw: unknown, options: Record<string, unknown>) => void;
      }
    ).addRelativeTo((next: (args: unknown) => Promise<unknown>) => next, {
      relation: 'after',
      toMiddleware: 'getUserAgentMiddleware',
      name: 'afterUserAgent',
    });
    const { clock, world } = makeWorld();
    const seen: Captured[] = [];
    captureSigned(sfn, seen);
    const dynamoSeen: Captured[] = [];
    captureSigned(dynamo, dynamoSeen);
    await runInWorld({ world, clock, env: { AWS_REGION: 'us-east-1' } }, async () => {
      await expect(
        sfn.send(new ListExecutionsCommand({ stateMachineArn: 'arn:aws:states:us-east-1:1:stateMachine:m' })),
      ).rejects.toThrow('captured');
      await expect(
        dynamo.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })),
      ).rejects.toThrow('captured');
    });
    for (const header of ['user-agent', 'host', 'content-length'])
      expect(seen[0]?.headers).not.toHaveProperty(header);
    // DynamoDB's request reaches a server: it keeps every header.
    for (const header of ['user-agent', 'host', 'content-length'])
      expect(dynamoSeen[0]?.headers).toHaveProperty(header);
  });

  it('drops the SDK logger middleware of a client without a logger, and keeps it where a logger reads it', () => {
    const names = (client: { middlewareStack: unknown }) =>
      (client.middlewareStack as { identify: () => string[] }).identify().join(' ');
    const silent = customize(new SFNClient(clientBase()), 'SFN');
    expect(names(silent)).not.toMatch(/loggerMiddleware/);
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    const logging = customize(new SFNClient({ ...clientBase(), logger }), 'SFN');
    expect(names(logging)).toMatch(/loggerMiddleware/);
  });
});
