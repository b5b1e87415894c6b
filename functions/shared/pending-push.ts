import { findService } from '../../lib/config/lookup.ts';
import type { Metrics, Notifier, ReleaseEvents, ReleaseStore } from '../../lib/ports/index.ts';
import { pendingPushReporter } from '../../lib/use-cases/finish-release.ts';
import type { SupersedePendingPush } from '../../lib/use-cases/release-lock.ts';
import { config, settings } from './adapters.ts';

/**
 * The in-process report of a superseded pending push, for a function that touches the lock queue (the
 * trigger, the lock wait, the hand-off): to the service's topic (`notify.topicArn`, else the pipeline's),
 * as the report function sends it.
 */
export const createPendingPushReporter = (ports: {
  store: ReleaseStore;
  notifier: Notifier;
  events: ReleaseEvents;
  /** Where a notification the trigger's last retry could not send is counted (the trigger has it). */
  metrics?: Metrics;
}): SupersedePendingPush =>
  pendingPushReporter(
    ports,
    settings,
    (service) => findService(config(), service)?.notify.topicArn ?? settings().defaultTopicArn,
  );
