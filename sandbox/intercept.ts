import { NoOpLogger } from '@smithy/core/client';
import { Uint8ArrayBlobAdapter } from '@smithy/core/serde';
import { addClientCustomizer } from '../lib/adapters/aws-clients.ts';
import { useEmfSink } from '../lib/adapters/emf-delivery-metrics.ts';
import { currentWorld } from './context.ts';
import { inProcessTransport, type SdkRequestHandler } from './dynamodb-transport.ts';
import { currentFunction } from './iam/enforce.ts';
import { localDynamoDbServer } from './local-dynamodb.ts';
import { retryInVirtualTime } from './sdk-retry.ts';
import { installSandboxFetch } from './test-route-fetch.ts';

let installed = false;

type Next = (args: { input: Record<string, unknown> }) => Promise<unknown>;
type Middleware = (
  next: Next,
  context: { commandName?: string },
) => (args: { input: Record<string, unknown> }) => Promise<unknown>;

/** The sandbox's own credentials: requests are signed (DynamoDB's reach the local server) but never leave. */
const SANDBOX_CREDENTIALS = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };

/**
 * The SigV4 request signer of the simulated services' clients: it leaves the request as it is. A
 * simulated service answers from the command's input and never reads a signature; what a signature
 * stands for on AWS, the caller's identity and its permissions, the sandbox checks on every call with
 * the function's role (IamEnforcer), and the SDK still resolves the credentials and runs its signing
 * middleware. Only the hashing is skipped. DynamoDB's requests reach a real server and stay signed.
 */
const UNSIGNED = { sign: async <R>(request: R): Promise<R> => request };
const unsignedSigner = async () => UNSIGNED;

type Signer = (authScheme?: {
  name?: string;
  signingRegion?: string;
  signingName?: string;
}) => Promise<unknown>;

/**
 * The SDK's signer provider of a client without a `signer` of its own builds a new SigV4 signer on every
 * request (spreading the whole client config into it), so the signer's cache of derived signing keys
 * never serves: every request derives its key again (four HMACs) before signing. This one builds the
 * signer once per auth scheme (name, region, service), as the requests of one client share them; the
 * requests are signed exactly as before.
 */
const oneSignerPerScope = (signer: Signer): Signer => {
  const signers = new Map<string, Promise<unknown>>();
  return (authScheme) => {
    const scope = `${authScheme?.name}\u0000${authScheme?.signingRegion}\u0000${authScheme?.signingName}`;
    let made = signers.get(scope);
    if (!made) {
      made = signer(authScheme);
      signers.set(scope, made);
      // A failed build (no region) fails this request, as before, and is tried again on the next.
      made.catch(() => signers.delete(scope));
    }
    return made;
  };
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
        config?: { credentials?: unknown; signer?: unknown; defaultUserAgentProvider?: unknown };
      }
    ).config;
    if (config) config.credentials = async () => SANDBOX_CREDENTIALS;
    if (config?.signer && clientName !== 'DynamoDB') config.signer = unsignedSigner;
    else if (typeof config?.signer === 'function') config.signer = oneSignerPerScope(config.signer as Signer);
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
    const transport = config as { requestHandler?: SdkRequestHandler } | undefined;
    if (transport?.requestHandler && clientName === 'DynamoDB')
      transport.requestHandler = inProcessTransport(localDynamoDbServer, transport.requestHandler);
    retryInVirtualTime(client, clientName, () => currentWorld()?.world);
    const middleware: Middleware = (next, context) => async (args) => {
      const run = currentWorld();
      const commandName = context.commandName ?? 'UnknownCommand';
      if (!run) throw new Error(`SDK command ${clientName}:${commandName} sent outside a sandbox run`);
      const { world } = run;
      run.iam?.authorize(clientName, commandName, args.input);
      await world.callLatency();
      if (clientName === 'DynamoDB') {
        world.injectFault(commandName.replace(/Command$/, ''));
        return next(args);
      }
      // Some commands take modeled time of their own (Lambda Invoke waits for the function's run).
      const output = (await world.handle(clientName, commandName, args.input)) as Record<string, unknown>;
      const copy = structuredClone(output);
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
