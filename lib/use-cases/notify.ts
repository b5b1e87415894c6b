import { now } from '../clock.ts';
import { buildNotification, type NotificationFacts } from '../domain/notifications.ts';
import { asError } from '../errors.ts';
import type { Notifier } from '../ports/notifier.ts';
import type { ReleaseStore } from '../ports/release-store.ts';

/** Only the marks of the store: a function that notifies without the rest of the store (a pause) passes just these. */
export type NotificationMarkStore = Pick<ReleaseStore, 'markNotified' | 'unmarkNotified'>;

/**
 * Publishes a release notification once per release and kind: a retried state, or a replayed event,
 * does not notify twice. If publishing fails the marker is removed so the retry publishes.
 */
export const notifyOnce = async (
  ports: { store: NotificationMarkStore; notifier: Notifier },
  topicArn: string,
  facts: Omit<NotificationFacts, 'at'> & { at?: string },
  /** What "once" counts by: the kind, or more (a release may pause at several steps). */
  markKind: string = facts.kind,
): Promise<boolean> => {
  const first = await ports.store.markNotified(facts.releaseId, markKind);
  if (!first) return false;
  try {
    await ports.notifier.publish(
      topicArn,
      buildNotification({ ...facts, at: facts.at ?? now().toISOString() }),
    );
    return true;
  } catch (error) {
    await ports.store.unmarkNotified(facts.releaseId, markKind);
    throw error;
  }
};

/**
 * Publishes a notification without letting a failure change the release: an SNS outage must not stop a
 * release, nor send a promoted one into rollback. The failure is collected in `warnings`, which the
 * handler logs as an error.
 */
export const notifyBestEffort = async (
  ports: { store: NotificationMarkStore; notifier: Notifier },
  topicArn: string,
  facts: Parameters<typeof notifyOnce>[2],
  warnings: string[],
  markKind: string = facts.kind,
): Promise<void> => {
  try {
    await notifyOnce(ports, topicArn, facts, markKind);
  } catch (error) {
    const failure = asError(error);
    warnings.push(`the ${facts.kind} notification could not be sent: ${failure.name}: ${failure.message}`);
  }
};
