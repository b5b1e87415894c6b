import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { parse as parseYaml } from 'yaml';
import { currentFunction } from './iam/enforce.ts';

/** A function as serverless.yml declares it: handler module and EventBridge patterns. */
export interface DeclaredFunction {
  key: string;
  modulePath: string;
  exportName: string;
  eventPatterns: Record<string, unknown>[];
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Reads the functions (and their EventBridge rules) from serverless.yml: the sandbox wires what is deployed. */
export const readDeclaredFunctions = (root: string): DeclaredFunction[] => {
  const document = parseYaml(readFileSync(path.join(root, 'serverless.yml'), 'utf8')) as {
    functions?: Record<string, { handler: string; events?: Array<Record<string, unknown>> }>;
  };
  return Object.entries(document.functions ?? {}).map(([key, fn]) => {
    const dot = fn.handler.lastIndexOf('.');
    return {
      key,
      modulePath: path.join(root, `${fn.handler.slice(0, dot)}.ts`),
      exportName: fn.handler.slice(dot + 1),
      eventPatterns: (fn.events ?? [])
        .map((event) => (event.eventBridge as { pattern?: Record<string, unknown> } | undefined)?.pattern)
        .filter((pattern): pattern is Record<string, unknown> => pattern !== undefined),
    };
  });
};

/** An error as Step Functions sees a failed Lambda invocation: Error = errorType, Cause = the JSON payload. */
export class LambdaInvocationError extends Error {
  /** The handler's own message, for people (the `message` is the JSON payload Step Functions sees). */
  public readonly errorMessage: string;
  public constructor(errorType: string, errorMessage: string) {
    super(JSON.stringify({ errorType, errorMessage, trace: [] }));
    this.name = errorType;
    this.errorMessage = errorMessage;
  }
}

/** Runs the real handler modules (their middy stacks included) as Lambda would, one module per function. */
export class LambdaRuntime {
  private readonly handlers = new Map<string, Handler>();
  public readonly functions: Map<string, DeclaredFunction>;
  public invocations = 0;

  public constructor(functions: DeclaredFunction[]) {
    this.functions = new Map(functions.map((fn) => [fn.key, fn]));
  }

  /** Imports every handler module (cold start); the sandbox's client customizer must be installed first. */
  public async load(): Promise<void> {
    for (const fn of this.functions.values()) {
      const module = (await import(pathToFileURL(fn.modulePath).href)) as Record<string, unknown>;
      const handler = module[fn.exportName];
      if (typeof handler !== 'function') throw new Error(`${fn.modulePath} exports no ${fn.exportName}`);
      this.handlers.set(fn.key, handler as Handler);
    }
  }

  public async invoke(key: string, event: unknown): Promise<unknown> {
    const handler = this.handlers.get(key);
    if (!handler) throw new Error(`the sandbox has no function "${key}" (is it declared in serverless.yml?)`);
    this.invocations += 1;
    const context = {
      functionName: `shipline-sandbox-${key}`,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:shipline-sandbox-${key}`,
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/shipline-sandbox-${key}`,
      logStreamName: 'sandbox',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 30_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    } as Context;
    try {
      const result = await currentFunction.run(key, () =>
        handler(JSON.parse(JSON.stringify(event)), context),
      );
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      throw new LambdaInvocationError(failure.name || 'Error', failure.message);
    }
  }
}
