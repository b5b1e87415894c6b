import { createDynamoDbDocumentClient } from '../lib/adapters/dynamodb-release-store.ts';
import { DynamoDbSlackStore } from '../lib/adapters/dynamodb-slack-store.ts';
import { createSlackSecretReader } from '../lib/adapters/slack-secrets.ts';
import { createSlackWebApi } from '../lib/adapters/slack-web-api.ts';
import { environment } from '../lib/env.ts';
import { releaseEventsFromSns, snsEventSchema } from '../lib/events/release-event.ts';
import type { SlackThreadStore } from '../lib/ports/slack.ts';
import { postReleaseEvent, type SlackNotifyResult } from '../lib/use-cases/slack-notify.ts';
import { config, lazyPort } from './shared/adapters.ts';
import { slackLog } from './shared/slack-log.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = {
  chat: createSlackWebApi(),
  secrets: createSlackSecretReader(),
  threads: lazyPort<SlackThreadStore>(
    () => new DynamoDbSlackStore(createDynamoDbDocumentClient(), environment.tableName),
    {
      read: true,
      claim: true,
      unclaim: true,
      recordRoot: true,
      advanceRoot: true,
      rewindRoot: true,
      markReplied: true,
      unmarkReplied: true,
    },
  ),
  config,
  log: slackLog,
};

/**
 * The release-events topic (SNS) -> the release's Slack thread. Slack's failures never reach the release:
 * the ones worth retrying are thrown (Lambda retries the event), the others logged (see the use case).
 */
export const handler = shiplineHandler('slack-notify', snsEventSchema, async (event) => {
  const results: SlackNotifyResult[] = [];
  for (const message of releaseEventsFromSns(event)) results.push(await postReleaseEvent(ports, message));
  logger.debug('release events handled', { results });
  return { results };
});
