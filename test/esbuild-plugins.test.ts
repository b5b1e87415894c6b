import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const plugins = require(path.join(root, 'serverless/esbuild-plugins.cjs')) as Plugin[] & {
  LRU_CACHE_ON_MAP: string;
};

/** One SDK client bundled as the functions are (minified ESM, SDK bundled), with or without the plugins. */
const bundle = async (withPlugins: boolean): Promise<string> => {
  const result = await build({
    stdin: {
      contents: "import { SNSClient } from '@aws-sdk/client-sns'; export const client = new SNSClient({});",
      resolveDir: root,
    },
    bundle: true,
    minify: true,
    write: false,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
    plugins: withPlugins ? plugins : [],
  });
  return result.outputFiles[0]?.text ?? '';
};

describe('esbuild plugins the functions are bundled with (serverless.yml custom.esbuild.plugins)', () => {
  it('bundle only the package.json fields an SDK client reads and no event-stream codec', async () => {
    const [plain, shipped] = await Promise.all([bundle(false), bundle(true)]);
    // The client still reports its version in the user agent.
    // (Booleans, not toContain: a failure would print the whole bundle.)
    expect(shipped.includes('version:"3.')).toBe(true);
    expect([plain.includes('devDependencies'), shipped.includes('devDependencies')]).toEqual([true, false]);
    // Event-stream support is replaced by a module that names why it is missing.
    const codec = 'header name exceeds 255 bytes';
    expect([plain.includes(codec), shipped.includes(codec)]).toEqual([true, false]);
    expect(shipped.includes('bundled without SDK event-stream support')).toBe(true);
    expect(shipped.length).toBeLessThan(plain.length - 15_000);
  });

  /** The SDK clients Shipline's functions use. */
  const CLIENTS = [
    'client-cloudwatch',
    'client-dynamodb',
    'client-ecs',
    'client-elastic-load-balancing-v2',
    'client-lambda',
    'client-sfn',
    'client-sns',
  ];

  /** Every error class a client exports, from a bundle built with or without the plugins. */
  const errorClasses = async (
    client: string,
    withPlugins: boolean,
    dir: string,
  ): Promise<{ classes: [string, ErrorClass][]; size: number }> => {
    const result = await build({
      stdin: {
        contents: `export * from '@aws-sdk/${client}/dist-es/models/errors.js';`,
        resolveDir: root,
      },
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      mainFields: ['module', 'main'],
      logLevel: 'silent',
      plugins: withPlugins ? plugins : [],
    });
    const file = path.join(dir, `${client}-${withPlugins}.mjs`);
    writeFileSync(file, result.outputFiles[0]?.text ?? '');
    const module = (await import(pathToFileURL(file).href)) as Record<string, ErrorClass>;
    const minified = await build({
      stdin: { contents: `export * from '@aws-sdk/${client}/dist-es/models/errors.js';`, resolveDir: root },
      bundle: true,
      minify: true,
      write: false,
      platform: 'node',
      format: 'esm',
      mainFields: ['module', 'main'],
      logLevel: 'silent',
      plugins: withPlugins ? plugins : [],
    });
    return { classes: Object.entries(module).sort(), size: minified.outputFiles[0]?.text.length ?? 0 };
  };
  type ErrorClass = (new (opts: Record<string, unknown>) => Error) & { shapeId?: string };

  /** What a caller can observe of an error: its own properties in order, name, message, prototype chain. */
  const observe = (Class: ErrorClass, opts: Record<string, unknown>) => {
    const error = new Class(opts);
    return {
      shapeId: Object.hasOwn(Class, 'shapeId') ? Class.shapeId : undefined,
      own: Object.entries(error),
      name: error.name,
      message: error.message,
      isOwnClass: error instanceof Class && Object.getPrototypeOf(error) === Class.prototype,
      parent: Object.getPrototypeOf(Class).name,
    };
  };

  it.each(
    CLIENTS,
  )('bundle the error classes of %s compactly, each behaving as the generated class', async (client) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-sdk-errors-'));
    try {
      const [plain, shipped] = await Promise.all([
        errorClasses(client, false, dir),
        errorClasses(client, true, dir),
      ]);
      expect(shipped.classes.map(([name]) => name)).toEqual(plain.classes.map(([name]) => name));
      expect(plain.classes.length).toBeGreaterThan(10);
      const shippedByName = new Map(shipped.classes);
      for (const [name, Original] of plain.classes) {
        const Compact = shippedByName.get(name);
        if (!Compact) throw new Error(`${name} missing`);
        const base = { message: 'boom', $metadata: { httpStatusCode: 400 } };
        const original = observe(Original, base);
        expect(observe(Compact, base), name).toEqual(original);
        // The class keeps its name, even minified (the original's depends on esbuild's renaming).
        expect(Compact.name).toBe(name);
        // Every member the class declares, given a value: each is copied as the generated class copies it.
        const members = Object.fromEntries(
          original.own.filter(([, value]) => value === undefined).map(([key]) => [key, `value of ${key}`]),
        );
        expect(observe(Compact, { ...base, ...members }), name).toEqual(
          observe(Original, { ...base, ...members }),
        );
        // Each error its own $retryable object (where the error has one), as a class field gives.
        const [first, second] = [new Compact(base), new Compact(base)] as { $retryable?: object }[];
        expect(first?.$retryable === undefined || first.$retryable !== second?.$retryable).toBe(true);
      }
      expect(shipped.size).toBeLessThan(plain.size * 0.6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bundled client still throws the modeled error a service answers (JSON and query protocols)', async () => {
    // AWS answers errors as the service's protocol says: DynamoDB a JSON `__type`, ELBv2 an XML error code
    // without the `Exception` suffix, which the client maps to its modeled error.
    const server = createServer((request, response) => {
      request.resume().on('end', () => {
        if (request.headers['x-amz-target']) {
          response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
          response.end(
            JSON.stringify({
              __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
              message: 'The conditional request failed',
            }),
          );
        } else {
          response.writeHead(400, { 'content-type': 'text/xml' });
          response.end(
            '<ErrorResponse><Error><Type>Sender</Type><Code>RuleNotFound</Code><Message>One or more rules not found</Message></Error><RequestId>r-1</RequestId></ErrorResponse>',
          );
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-sdk-errors-'));
    try {
      const result = await build({
        stdin: {
          contents: `import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeRulesCommand, ElasticLoadBalancingV2Client, RuleNotFoundException } from '@aws-sdk/client-elastic-load-balancing-v2';
const observe = async (client, command, Class) => {
  try { await client.send(command); return 'no error'; }
  catch (error) { return { name: error.name, message: error.message, fault: error.$fault, isModeled: error instanceof Class }; }
};
export const errors = async (endpoint) => {
  const config = { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 };
  return [
    await observe(new DynamoDBClient(config), new GetItemCommand({ TableName: 't', Key: { k: { S: 'v' } } }), ConditionalCheckFailedException),
    await observe(new ElasticLoadBalancingV2Client(config), new DescribeRulesCommand({ RuleArns: ['arn'] }), RuleNotFoundException),
  ];
};`,
          resolveDir: root,
        },
        bundle: true,
        minify: true,
        write: false,
        platform: 'node',
        format: 'esm',
        mainFields: ['module', 'main'],
        logLevel: 'silent',
        plugins,
      });
      const file = path.join(dir, 'errors.mjs');
      writeFileSync(file, result.outputFiles[0]?.text ?? '');
      const { errors } = (await import(pathToFileURL(file).href)) as {
        errors: (endpoint: string) => Promise<unknown[]>;
      };
      const { port } = server.address() as AddressInfo;
      expect(await errors(`http://127.0.0.1:${port}`)).toEqual([
        {
          name: 'ConditionalCheckFailedException',
          message: 'The conditional request failed',
          fault: 'client',
          isModeled: true,
        },
        {
          name: 'RuleNotFoundException',
          message: 'One or more rules not found',
          fault: 'client',
          isModeled: true,
        },
      ]);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("give the DynamoDB endpoint cache an LRU cache on a Map that behaves as mnemonist's, without mnemonist", async () => {
    interface Lru {
      size: number;
      has(key: string): boolean;
      peek(key: string): unknown;
      get(key: string): unknown;
      set(key: string, value: unknown): unknown;
      clear(): void;
    }
    type LruClass = new (capacity: number) => Lru;
    const Mnemonist = require('mnemonist/lru-cache') as LruClass;
    const OnMap = (
      (await import(`data:text/javascript,${encodeURIComponent(plugins.LRU_CACHE_ON_MAP)}`)) as {
        default: LruClass;
      }
    ).default;
    // The same sequence of operations on both: a seeded pseudo-random mix over few keys, so keys get
    // refreshed, evicted and set again.
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const [expected, actual] = [new Mnemonist(3), new OnMap(3)];
    const trace = (cache: Lru, op: number, key: string, i: number): unknown => {
      if (op === 0) return cache.get(key);
      if (op === 1) return cache.peek(key);
      if (op === 2) return cache.has(key);
      if (op === 3 && i % 97 === 0) return cache.clear();
      cache.set(key, `value ${i}`);
      return cache.size;
    };
    for (let i = 0; i < 2_000; i += 1) {
      const [op, key] = [next(5), `key ${next(6)}`];
      expect(trace(actual, op, key, i), `operation ${i}`).toEqual(trace(expected, op, key, i));
    }
    const withoutMnemonist = await build({
      stdin: {
        contents:
          "import { DynamoDBClient } from '@aws-sdk/client-dynamodb'; export const client = new DynamoDBClient({});",
        resolveDir: root,
      },
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      mainFields: ['module', 'main'],
      metafile: true,
      logLevel: 'silent',
      plugins,
    });
    expect(
      Object.keys(withoutMnemonist.metafile.inputs).filter((input) => input.includes('mnemonist')),
    ).toEqual([]);
  });

  it('bundle middy without loading node:stream/web at import; it reads the same class from the global', async () => {
    const stack = async (withPlugins: boolean): Promise<string> => {
      const result = await build({
        entryPoints: [path.join(root, 'functions/shared/stack.ts')],
        bundle: true,
        minify: true,
        write: false,
        platform: 'node',
        format: 'esm',
        mainFields: ['module', 'main'],
        logLevel: 'silent',
        plugins: withPlugins ? plugins : [],
      });
      return result.outputFiles[0]?.text ?? '';
    };
    const [plain, shipped] = await Promise.all([stack(false), stack(true)]);
    const importsWebStreams = (code: string): boolean => /from\s*"node:stream\/web"/.test(code);
    expect([importsWebStreams(plain), importsWebStreams(shipped)]).toEqual([true, false]);
    // middy's streamed-response check still names the class, now the global one.
    expect(shipped.includes('instanceof ReadableStream')).toBe(true);
    const { ReadableStream } = await import('node:stream/web');
    expect(globalThis.ReadableStream).toBe(ReadableStream);
  });
});
