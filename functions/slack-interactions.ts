import * as z from 'zod/mini';
import { createDynamoDbDocumentClient } from '../lib/adapters/dynamodb-release-store.ts';
import { DynamoDbSlackStore } from '../lib/adapters/dynamodb-slack-store.ts';
import { createSlackSecretReader } from '../lib/adapters/slack-secrets.ts';
import { createSlackWebApi } from '../lib/adapters/slack-web-api.ts';
import type { Operate, OperationResult } from '../lib/domain/operations.ts';
import { environment } from '../lib/env.ts';
import type { ReplayGuard } from '../lib/ports/slack.ts';
import { abortRelease, approveRelease } from '../lib/use-cases/resume.ts';
import { handleSlackInteraction } from '../lib/use-cases/slack-interaction.ts';
import { config, createTaskTokens, createWaitRegistry, lazyPort } from './shared/adapters.ts';
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

/**
 * Until the operate use case (lib/use-cases/operate.ts) lands: approve resumes the release's pause, reject
 * and roll back abort it (the rollback follows), promote is not available yet.
 */
const interimOperate: Operate = async (request) => {
  const ports = { waits: createWaitRegistry(), tokens: createTaskTokens() };
  const releaseId = request.releaseId ?? '';
  const base = { command: request.command, service: request.service, releaseId };
  if (request.command === 'promote' || request.command === 'promote-full')
    return { ...base, status: 'nothing-to-act-on', message: 'promote is not available from Slack yet' };
  const report =
    request.command === 'resume'
      ? await approveRelease(ports, { releaseId, service: request.service })
      : await abortRelease(ports, {
          releaseId,
          service: request.service,
          reason: request.reason ?? `${request.command} from Slack`,
        });
  const result: OperationResult = {
    ...base,
    status: report.status === 'done' ? 'done' : 'nothing-to-act-on',
    message:
      report.status === 'done'
        ? `${request.command === 'resume' ? 'Approved' : 'Rolling back'} ${request.service} (release ${releaseId}).`
        : `${request.service} has nothing to ${request.command === 'resume' ? 'approve' : 'roll back'} (release ${releaseId}).`,
  };
  return result;
};

const replays = lazyPort<ReplayGuard>(
  () => new DynamoDbSlackStore(createDynamoDbDocumentClient(), environment.tableName),
  { firstUse: true },
);

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

/**
 * Slack's interactivity Request URL (a Function URL, auth NONE: Slack signs each request and the function
 * verifies it). Answers within Slack's 3 seconds with the command done (see the use case).
 */
export const handler = createSlackInteractionsHandler(interimOperate);
