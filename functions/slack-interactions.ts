import * as z from 'zod/mini';
import { DynamoDbReleaseHistory } from '../lib/adapters/dynamodb-release-history.ts';
import { createDynamoDbDocumentClient } from '../lib/adapters/dynamodb-release-store.ts';
import { DynamoDbServiceStateStore } from '../lib/adapters/dynamodb-service-state-store.ts';
import { DynamoDbSlackStore } from '../lib/adapters/dynamodb-slack-store.ts';
import { createSlackSecretReader } from '../lib/adapters/slack-secrets.ts';
import { createSlackWebApi } from '../lib/adapters/slack-web-api.ts';
import type { Operate } from '../lib/domain/operations.ts';
import { environment } from '../lib/env.ts';
import type { ReplayGuard } from '../lib/ports/slack.ts';
import { type OperatePorts, operate } from '../lib/use-cases/operate.ts';
import { handleSlackInteraction } from '../lib/use-cases/slack-interaction.ts';
import { inProcessReleaseStarter } from '../lib/use-cases/start-release.ts';
import { config, createStarter, createTaskTokens, createWaitRegistry, lazyPort } from './shared/adapters.ts';
import { slackLog } from './shared/slack-log.ts';
import { shiplineHandler } from './shared/stack.ts';

/**
 * A Lambda Function URL request (payload format 2.0), the fields read here. Header names arrive in lowercase;
 * the body is base64-encoded when `isBase64Encoded` (Lambda encodes any body it does not take for text)
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads).
 */
const functionUrlEventSchema = z.object({
  headers: z._default(z.record(z.string(), z.string()), {}),
  body: z.optional(z.string()),
  isBase64Encoded: z._default(z.boolean(), false),
  requestContext: z.object({ http: z.object({ method: z.string() }) }),
});

/** One DynamoDB document client for every part of the table the function uses, built on first use. */
let documentClient: ReturnType<typeof createDynamoDbDocumentClient> | undefined;
const documents = () => {
  documentClient ??= createDynamoDbDocumentClient();
  return documentClient;
};

/**
 * The ports `operate` acts through, as the CLI's (cli/aws.ts) but with the function's role: the release
 * table, Step Functions' task tokens, and the trigger's use case (a rollback once the previous version's
 * slot is no longer warm starts a release of the previous digest, as a push would).
 */
const operatePorts = (): OperatePorts => {
  return {
    waits: createWaitRegistry(),
    tokens: createTaskTokens(),
    history: lazyPort<OperatePorts['history']>(
      () => new DynamoDbReleaseHistory(documents(), environment.tableName),
      { listByService: true, appendAction: true },
    ),
    services: lazyPort<OperatePorts['services']>(
      () => new DynamoDbServiceStateStore(documents(), environment.tableName),
      { read: true },
    ),
    // The trigger's own use case, in-process: the same request and execution name a push makes.
    releases: inProcessReleaseStarter({ starter: createStarter() }, config, () => ({
      pipeline: { account: environment.stateMachineArn().split(':')[4] ?? '', region: environment.region() },
    })),
  };
};

const replays = lazyPort<ReplayGuard>(() => new DynamoDbSlackStore(documents(), environment.tableName), {
  firstUse: true,
});

/** The interactions function with its ports; `operate` is the one use case the CLI uses too. */
export const createSlackInteractionsHandler = (operate: Operate) => {
  const ports = {
    secrets: createSlackSecretReader(),
    replays,
    chat: createSlackWebApi(),
    operate,
    config,
    log: slackLog,
  };
  return shiplineHandler('slack-interactions', functionUrlEventSchema, async (event) => {
    const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    const headers = Object.fromEntries(Object.entries(event.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const answer = await handleSlackInteraction(ports, {
      method: event.requestContext.http.method,
      headers,
      body,
    });
    return {
      statusCode: answer.statusCode,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: answer.body,
    };
  });
};

let operateWith: OperatePorts | undefined;

/**
 * Slack's interactivity Request URL (a Function URL, auth NONE: Slack signs each request and the function
 * verifies it). Answers within Slack's 3 seconds with the command done (see the use case).
 */
export const handler = createSlackInteractionsHandler((request) => {
  operateWith ??= operatePorts();
  return operate(operateWith, request);
});
