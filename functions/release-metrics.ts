import { DynamoDbNotificationMarks } from '../lib/adapters/dynamodb-notification-marks.ts';
import { DynamoDbReleaseHistory } from '../lib/adapters/dynamodb-release-history.ts';
import { createDynamoDbDocumentClient } from '../lib/adapters/dynamodb-release-store.ts';
import { createEcrImageLabels } from '../lib/adapters/ecr-image-labels.ts';
import { EmfDeliveryMetrics } from '../lib/adapters/emf-delivery-metrics.ts';
import { environment } from '../lib/env.ts';
import { parseInput } from '../lib/events/parse.ts';
import { releaseEventFactsSchema, snsEventSchema } from '../lib/events/release-event.ts';
import type { ImageLabels, NotificationMarks, ReleaseHistory } from '../lib/ports/index.ts';
import { publishReleaseMetrics, type ReleaseMetricsResult } from '../lib/use-cases/release-metrics.ts';
import { config, lazyPort } from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = {
  history: lazyPort<ReleaseHistory>(
    () => new DynamoDbReleaseHistory(createDynamoDbDocumentClient(), environment.tableName),
    { put: true, update: true, appendAction: true, read: true, listByService: true, listEnded: true },
  ),
  marks: lazyPort<NotificationMarks>(
    () => new DynamoDbNotificationMarks(createDynamoDbDocumentClient(), environment.tableName),
    { mark: true, unmark: true, isMarked: true },
  ),
  labels: lazyPort<ImageLabels>(createEcrImageLabels, { createdAt: true }),
  metrics: new EmfDeliveryMetrics(),
};

/**
 * Subscribed to the release-events topic: each message that ends a release publishes the service's DORA
 * metrics (embedded metric format, namespace Shipline/DORA). Other kinds are skipped.
 */
export const handler = shiplineHandler('releaseMetrics', snsEventSchema, async (event) => {
  const results: ReleaseMetricsResult[] = [];
  for (const record of event.Records) {
    let body: unknown;
    try {
      body = JSON.parse(record.Sns.Message);
    } catch {
      body = record.Sns.Message;
    }
    const facts = parseInput(releaseEventFactsSchema, body, 'release event');
    const result = await publishReleaseMetrics(ports, config(), facts);
    if (result.status === 'published' && result.changeTime?.labelMissing)
      logger.warn('lead time does not start at the OCI label', {
        releaseId: result.releaseId,
        source: result.changeTime.source,
        why: result.changeTime.labelMissing,
      });
    results.push(result);
  }
  return { results };
});
