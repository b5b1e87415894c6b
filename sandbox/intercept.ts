import { createHash } from 'node:crypto';
import { NoOpLogger } from '@smithy/core/client';
import { Uint8ArrayBlobAdapter } from '@smithy/core/serde';
import { addClientCustomizer } from '../lib/adapters/aws-clients.ts';
import { useEmfSink } from '../lib/adapters/emf-delivery-metrics.ts';
import { cloneData } from './aws/clone.ts';
import { currentWorld } from './context.ts';
import { inProcessTransport, type SdkRequestHandler } from './dynamodb-transport.ts';
import { currentFunction, currentOperator } from './iam/enforce.ts';
import { localDynamoDbServer } from './local-dynamodb.ts';
import { retryInVirtualTime } from './sdk-retry.ts';
import { installSandboxFetch } from './test-route-fetch.ts';
import { currentInvocationWork } from './virtual-clock.ts';
import { installVirtualTimers } from './virtual-timers.ts';

let installed = false;

type Next = (args: { input: Record<string, unknown> }) => Promise<unknown>;
type Middleware = (
  next: Next,
  context: { commandName?: string },
) => (args: { input: Record<string, unknown> }) => Promise<unknown>;

/** The sandbox's own credentials: requests carry them (DynamoDB's reach the local server) but never leave. */
const SANDBOX_CREDENTIALS = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };

/**
 * The SigV4 request signer of the simulated services' clients: it leaves the request as it is. A
 * simulated service answers from the command's input and never reads a signature; what a signature
 * stands for on AWS, the caller's identity and its permissions, the sandbox checks on every call with
 * the function's role (IamEnforcer), and the SDK still resolves the credentials and runs its signing
 * middleware. Only the hashing is skipped.
 */
const UNSIGNED = { sign: async <R>(request: R): Promise<R> => request };
const unsignedSigner = async () => UNSIGNED;

/** Headers SigV4 never signs (@smithy/signature-v4's ALWAYS_UNSIGNABLE_HEADERS). */
const UNSIGNABLE = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

interface SignableRequest {
  headers: Record<string, string>;
  body?: unknown;
  clone?: () => SignableRequest;
}

/**
 * The SigV4 request signer of the DynamoDB clients, whose requests reach a real (local) DynamoDB server:
 * it writes what SigV4 adds to a request, `X-Amz-Date` and an `Authorization` header naming the
 * credential scope (the sandbox's access key, date, region, service) and the signed headers, with a
 * signature of zeros instead of the HMAC chain's. The local server requires that header and its fields
 * (it answers MissingAuthenticationToken or IncompleteSignature without them) and, like every simulated
 * service, never verifies a signature: the sandbox's credentials are always valid, and the caller's
 * permissions are checked with the function's role (IamEnforcer). The SDK still resolves the credentials
 * and runs its signing middleware; the hashing (the body's, the canonical request's and the HMACs: a
 * third of a DynamoDB call's CPU in the sandbox) is skipped. As SignatureV4 does, it signs a copy.
 */
/** A request body's bytes as SigV4 hashes them (the SDK's JSON body is a Uint8Array; none is empty). */
const payloadOf = (body: unknown): Uint8Array | string => {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body === undefined || body === null) return '';
  throw new Error('the sandbox signs DynamoDB requests with a string or byte body only');
};

const headerFormSigner = (config: {
  region?: unknown;
  signingName?: unknown;
  defaultSigningName?: unknown;
}) => {
  const signer = {
    sign: async (
      request: SignableRequest,
      options: { signingDate?: Date; signingRegion?: string; signingService?: string } = {},
    ): Promise<SignableRequest> => {
      // As SignatureV4 does: the signing properties' region and service, else the client's.
      const region =
        options.signingRegion ??
        (typeof config.region === 'function'
          ? await (config.region as () => Promise<string>)()
          : config.region);
      const service = options.signingService ?? config.signingName ?? config.defaultSigningName;
      const signed = request.clone?.() ?? { ...request, headers: { ...request.headers } };
      const longDate = (options.signingDate ?? new Date())
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '');
      signed.headers['x-amz-date'] = longDate;
      // SignatureV4's `applyChecksum`: the payload's SHA-256, a header of its own (one hash, no HMAC).
      if (signed.headers['x-amz-content-sha256'] === undefined)
        signed.headers['x-amz-content-sha256'] = createHash('sha256')
          .update(payloadOf(signed.body))
          .digest('hex');
      const names = Object.keys(signed.headers)
        .map((name) => name.toLowerCase())
        .filter((name) => !UNSIGNABLE.has(name))
        .sort()
        .join(';');
      const scope = `${longDate.slice(0, 8)}/${String(region)}/${String(service)}/aws4_request`;
      signed.headers.authorization = `AWS4-HMAC-SHA256 Credential=${SANDBOX_CREDENTIALS.accessKeyId}/${scope}, SignedHeaders=${names}, Signature=${'0'.repeat(64)}`;
      return signed;
    },
  };
  return async () => signer;
};

/**
 * The SDK's default user agent sections (SDK, OS, runtime, service) are computed on every request, an
 * `os.release()` system call among them; they cannot change while the process runs, so they are read
 * once per client. The user agent middleware still builds the header from them on every request.
 */
const memoizeUserAgent = (config: { defaultUserAgentProvider?: unknown } | undefined): void => {
  const provider = config?.defaultUserAgentProvider;
  if (!config || typeof provider !== 'function') return;
  let sections: Promise<unknown[]> | undefined;
  config.defaultUserAgentProvider = async (...args: unknown[]) => {
    sections ??= (provider as (...args: unknown[]) => Promise<unknown[]>)(...args);
    return [...(await sections)];
  };
};

/** The SDK's build-step middlewares that only set headers of the HTTP request, with their priority. */
const HEADER_ONLY_MIDDLEWARE: Record<string, 'low' | 'normal'> = {
  contentLengthMiddleware: 'normal',
  getUserAgentMiddleware: 'low',
  hostHeaderMiddleware: 'low',
  recursionDetectionMiddleware: 'low',
};

/** A middleware that passes the request on as it is. */
const passOn =
  (next: (args: unknown) => Promise<unknown>) =>
  (args: unknown): Promise<unknown> =>
    next(args);

/**
 * Adds one middleware to every client the pipeline's factory creates. It sits after the SDK's retry
 * middleware, so injected throttling is retried exactly as the SDK would, and answers the command from
 * the simulated account of the world the call runs in (see context.ts) instead of sending it. DynamoDB
 * commands go on to the local DynamoDB server.
 */
export const installSandboxClients = (): void => {
  if (installed) return;
  installed = true;
  installSandboxFetch();
  // Middy's early timeout (a `node:timers` timer a handler sets) counts the invocation's virtual time.
  installVirtualTimers();
  // A function's EMF log lines go to the CloudWatch of its world, which extracts them as CloudWatch Logs does.
  useEmfSink((line) => {
    const run = currentWorld();
    if (!run) throw new Error('an EMF log line was written outside a sandbox run');
    run.world.cloudwatch.extractEmf(line, currentFunction.getStore() ?? 'a function');
  });
  addClientCustomizer((client, clientName) => {
    // The SDK would read credentials from process.env, which a run never writes: several worlds share
    // the process. The identity provider reads `config.credentials` on every request.
    const config = (
      client as unknown as {
        config?: {
          credentials?: unknown;
          signer?: unknown;
          defaultUserAgentProvider?: unknown;
          region?: unknown;
          signingName?: unknown;
          defaultSigningName?: unknown;
        };
      }
    ).config;
    if (config) config.credentials = async () => SANDBOX_CREDENTIALS;
    if (config?.signer) config.signer = clientName === 'DynamoDB' ? headerFormSigner(config) : unsignedSigner;
    memoizeUserAgent(config);
    // The SDK's own handler cache (`cacheMiddleware`): a client resolves each command's middleware stack
    // once instead of on every send (a sixth of a fleet's CPU went to rebuilding and sorting it). Every
    // middleware, the sandbox's included, is added when the client is made, before its first send. Not for
    // DynamoDB: lib-dynamodb's commands bind their resolved handler to the command instance they resolved on.
    const cache = config as { cacheMiddleware?: boolean } | undefined;
    if (cache && clientName !== 'DynamoDB') cache.cacheMiddleware = true;
    // The SDK's logger middleware redacts every command's input and output (walking their schemas) to hand
    // them to the client's logger, on every call; a client without a logger (none of Shipline's has one)
    // has the NoOpLogger, which drops them. Nothing is logged either way, so the sandbox skips the walk.
    const logged = config as { logger?: unknown } | undefined;
    if (logged?.logger instanceof NoOpLogger)
      (client.middlewareStack as unknown as { remove: (name: string) => boolean }).remove('loggerMiddleware');
    // The build step's middlewares only write headers of the HTTP request (Content-Length, User-Agent, Host,
    // X-Amzn-Trace-Id). A simulated service's request never leaves the process and nobody reads its headers:
    // the service answers from the command's input. Each is replaced by one that passes the request on, in
    // its place and under its name (other middlewares, Powertools' user agent among them, are added relative
    // to it). DynamoDB's requests reach the local server and keep them.
    if (clientName !== 'DynamoDB')
      for (const [name, priority] of Object.entries(HEADER_ONLY_MIDDLEWARE))
        (
          client.middlewareStack as unknown as {
            add: (middleware: unknown, options: Record<string, unknown>) => void;
          }
        ).add(passOn, { name, step: 'build', priority, override: true });
    const transport = config as { requestHandler?: SdkRequestHandler } | undefined;
    if (transport?.requestHandler && clientName === 'DynamoDB')
      transport.requestHandler = inProcessTransport(
        () => currentWorld()?.dynamoDb ?? localDynamoDbServer(),
        transport.requestHandler,
      );
    retryInVirtualTime(client, clientName, () => currentWorld()?.world);
    // Each call a function makes is one call of its invocation's work, from its first middleware to its
    // answer (its retries included): a handler may make several at once (a Promise.all of reads), each
    // holding the clock while it runs and waiting on its own (see InvocationWork).
    (client.middlewareStack.add as unknown as (mw: Middleware, options: Record<string, unknown>) => void)(
      (next) => (args) => {
        const work = currentInvocationWork();
        return work ? work.clock.track(() => next(args)) : next(args);
      },
      { step: 'initialize', priority: 'high', name: 'shiplineSandboxCall' },
    );
    const middleware: Middleware = (next, context) => async (args) => {
      const run = currentWorld();
      const commandName = context.commandName ?? 'UnknownCommand';
      if (!run) throw new Error(`SDK command ${clientName}:${commandName} sent outside a sandbox run`);
      const { world } = run;
      run.iam?.authorize(clientName, commandName, args.input);
      await world.callLatency();
      // The local DynamoDB server answers DynamoDB's commands. A function's or a person's count among the
      // run's AWS calls and meet the scenario's faults; the runner's own (seeding the table) do neither.
      // Their inputs are not kept: the table holds what they wrote, and a fleet's would weigh on its memory.
      if (clientName === 'DynamoDB') {
        if (currentFunction.getStore() === undefined && !currentOperator.getStore()) return next(args);
        return world.answer(world.sent(clientName, commandName), () => next(args));
      }
      // Some commands take modeled time of their own (Lambda Invoke waits for the function's run).
      const output = (await world.handle(clientName, commandName, args.input)) as Record<string, unknown>;
      const copy = cloneData(output);
      // A blob (Lambda's Payload) reaches the caller as the SDK's Uint8ArrayBlobAdapter (transformToString).
      if (output.Payload instanceof Uint8Array)
        copy.Payload = Uint8ArrayBlobAdapter.mutate(copy.Payload as Uint8Array);
      return {
        output: {
          ...copy,
          $metadata: { httpStatusCode: 200, requestId: 'sandbox', attempts: 1 },
        },
        response: { statusCode: 200, headers: {}, body: undefined },
      };
    };
    (client.middlewareStack.add as unknown as (mw: Middleware, options: Record<string, unknown>) => void)(
      middleware,
      {
        step: 'deserialize',
        priority: 'high',
        name: 'shiplineSandboxAccount',
      },
    );
  });
};
