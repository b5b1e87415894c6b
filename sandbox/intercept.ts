import { addClientCustomizer } from '../lib/adapters/aws-clients.ts';
import type { SimulatedWorld } from './aws/world.ts';
import type { IamEnforcer } from './iam/enforce.ts';

let current: SimulatedWorld | undefined;
let installed = false;
let enforcer: IamEnforcer | undefined;

/** Authorizes every command a function sends against its role (undefined: no enforcement). */
export const useIam = (iam: IamEnforcer | undefined): void => {
  enforcer = iam;
};

/** Points every sandbox-created SDK client at this world (one run at a time per process). */
export const useWorld = (world: SimulatedWorld | undefined): void => {
  current = world;
};

type Next = (args: { input: Record<string, unknown> }) => Promise<unknown>;
type Middleware = (
  next: Next,
  context: { commandName?: string },
) => (args: { input: Record<string, unknown> }) => Promise<unknown>;

/**
 * Adds one middleware to every client the pipeline's factory creates. It sits after the SDK's retry
 * middleware, so injected throttling is retried exactly as the SDK would, and answers the command from
 * the simulated account instead of sending it. DynamoDB commands go on to the local DynamoDB server.
 */
export const installSandboxClients = (): void => {
  if (installed) return;
  installed = true;
  addClientCustomizer((client, clientName) => {
    const middleware: Middleware = (next, context) => async (args) => {
      const world = current;
      const commandName = context.commandName ?? 'UnknownCommand';
      if (!world) throw new Error(`SDK command ${clientName}:${commandName} sent outside a sandbox run`);
      enforcer?.authorize(clientName, commandName, args.input);
      await world.callLatency();
      if (clientName === 'DynamoDB') {
        world.injectFault(commandName.replace(/Command$/, ''));
        return next(args);
      }
      const output = world.handle(clientName, commandName, args.input) as Record<string, unknown>;
      return {
        output: {
          ...structuredClone(output),
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
