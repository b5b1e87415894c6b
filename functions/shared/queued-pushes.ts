import { findService } from '../../lib/config/lookup.ts';
import type { Metrics, Notifier, QueuedPushes, ReleaseEvents, ReleaseStore } from '../../lib/ports/index.ts';
import type { ExecutionStarter } from '../../lib/ports/workflow.ts';
import { inProcessQueuedPushes } from '../../lib/use-cases/withdraw-push.ts';
import { config, settings } from './adapters.ts';

/**
 * A person's withdrawal of a queued push, in-process, for a function that has the config and may publish
 * to the topics (the trigger, which the CLI invokes with it): told on the service's topic
 * (`notify.topicArn`, else the pipeline's), as the report function tells a release that failed.
 */
export const createQueuedPushes = (ports: {
  store: ReleaseStore;
  notifier: Notifier;
  events: ReleaseEvents;
  starter?: Pick<ExecutionStarter, 'executionState'>;
  metrics?: Metrics;
}): QueuedPushes =>
  inProcessQueuedPushes(
    ports,
    settings,
    (service) => findService(config(), service)?.notify.topicArn ?? settings().defaultTopicArn,
  );
