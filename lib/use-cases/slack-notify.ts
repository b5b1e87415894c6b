/**
 * One release event into its Slack thread. The first event of a release to arrive posts the root message and
 * records it in the release table (a conditional create: a duplicate or concurrent delivery never makes a
 * second root); every event is a reply in the thread, an outcome also shown in the channel (reply_broadcast);
 * the root is updated in place to the newest progress (SNS delivers at least once and not in order, so the
 * root only moves to a larger `progress.sequence`).
 *
 * A Slack failure never steers a release: this runs after the fact, on the release-events topic, and its
 * errors reach no state machine. What is worth retrying (a rate limit, Slack or AWS unavailable, a root still
 * being posted by another delivery) is thrown, and Lambda's asynchronous invocation retries the event after
 * one and then two minutes, longer than any Retry-After Slack gives chat methods; what would fail the same
 * way again (invalid_auth, channel_not_found, a missing secret) is logged and the event ends there.
 */
import { nowEpochSeconds } from '../clock.ts';
import type { ShiplineConfig } from '../config/schema.ts';
import { type SlackSettings, slackSettingsFor } from '../config/slack.ts';
import type { ReleaseEventMessage } from '../domain/progress.ts';
import { isOutcome, replyKey, rootMessage, transitionReply } from '../domain/slack.ts';
import { ShiplineError } from '../errors.ts';
import {
  type SecretReader,
  SlackApiError,
  type SlackChat,
  SlackSecretError,
  type SlackThreadStore,
} from '../ports/slack.ts';

/** How long a delivery may take to post a root before another delivery may claim the thread again. */
export const ROOT_CLAIM_SECONDS = 60;

/** Another delivery of the release is posting its root message: retry once it recorded it. */
export class SlackThreadPendingError extends ShiplineError {
  public constructor(releaseId: string) {
    super(`the Slack thread of release ${releaseId} is being started by another delivery; retrying later`);
    this.name = 'SlackThreadPending';
  }
}

/** Where the function logs. */
export interface SlackLog {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

/** What the Slack thread use case talks to: Slack, the secrets, the release table, the config, the log. */
export interface SlackNotifyPorts {
  chat: SlackChat;
  secrets: SecretReader;
  threads: SlackThreadStore;
  config: () => ShiplineConfig;
  log: SlackLog;
}

/** What one event did to its thread. */
export interface SlackNotifyResult {
  status: 'posted' | 'no-slack' | 'already-posted' | 'slack-failed';
  releaseId: string;
  /** Posted the root message (the event started the thread). */
  root?: boolean;
  /** Updated the root message in place. */
  updated?: boolean;
  /** Why Slack refused, for a failure not worth retrying. */
  error?: string;
}

/** Throws what is worth retrying (and every fault that is not Slack's or its secrets'); returns the logged failure otherwise. */
const settle = (error: unknown, event: ReleaseEventMessage, log: SlackLog): SlackNotifyResult => {
  if (!(error instanceof SlackApiError || error instanceof SlackSecretError) || error.retryable) throw error;
  log.error('Slack refused the release event; not retried (the release goes on)', {
    releaseId: event.releaseId,
    kind: event.kind,
    error: error.message,
  });
  return { status: 'slack-failed', releaseId: event.releaseId, error: error.message };
};

/** Posts the root message if no delivery did; the thread as recorded after. */
const ensureRoot = async (
  ports: SlackNotifyPorts,
  event: ReleaseEventMessage,
  settings: SlackSettings,
  token: string,
): Promise<{ channel: string; ts: string; created: boolean; rootSequence: number }> => {
  const existing = await ports.threads.read(event.releaseId);
  if (existing?.ts)
    return {
      channel: existing.channel,
      ts: existing.ts,
      created: false,
      rootSequence: existing.rootSequence,
    };
  const claimed = await ports.threads.claim(
    event.releaseId,
    settings.channel,
    nowEpochSeconds() + ROOT_CLAIM_SECONDS,
  );
  if (!claimed) {
    // The other delivery may have finished between the read and the claim.
    const now = await ports.threads.read(event.releaseId);
    if (now?.ts) return { channel: now.channel, ts: now.ts, created: false, rootSequence: now.rootSequence };
    throw new SlackThreadPendingError(event.releaseId);
  }
  let posted: { channel: string; ts: string };
  try {
    posted = await ports.chat.post(token, {
      channel: settings.channel,
      ...rootMessage(event, { buttons: settings.allowlist.length > 0 }),
    });
  } catch (error) {
    await ports.threads.unclaim(event.releaseId);
    throw error;
  }
  await ports.threads.recordRoot(event.releaseId, posted.ts, event.progress.sequence);
  return { ...posted, created: true, rootSequence: event.progress.sequence };
};

/** How many times a delivery looks again for a newer root after its own update. */
const ROOT_RECHECKS = 3;

/**
 * Two deliveries can update the root at once, and Slack applies the updates in the order they arrive: an
 * older event's update may land after a newer one's and leave the root showing the past. So a delivery
 * looks again after its update, and sends the newest root recorded (its delivery rendered and kept it)
 * until what it sent last is the newest: the last update to land is then always the newest root. A
 * failure here is only logged: the delivery that advanced the root updated it too.
 */
const showNewestRoot = async (
  ports: SlackNotifyPorts,
  event: ReleaseEventMessage,
  token: string,
  thread: { channel: string; ts: string },
  sent: number,
): Promise<void> => {
  let shown = sent;
  try {
    for (let check = 0; check < ROOT_RECHECKS; check += 1) {
      const now = await ports.threads.read(event.releaseId);
      if (!now?.root || now.rootSequence <= shown) return;
      shown = now.rootSequence;
      await ports.chat.update(token, { channel: thread.channel, ts: thread.ts, ...now.root });
    }
  } catch (error) {
    ports.log.warn('could not check that the root shows the newest progress', {
      releaseId: event.releaseId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
};

/** Puts one release event into its Slack thread (see the module comment for what is retried). */
export const postReleaseEvent = async (
  ports: SlackNotifyPorts,
  event: ReleaseEventMessage,
): Promise<SlackNotifyResult> => {
  const settings = slackSettingsFor(ports.config(), event.service);
  if (!settings) return { status: 'no-slack', releaseId: event.releaseId };
  const buttons = settings.allowlist.length > 0;
  try {
    const token = await ports.secrets.read(settings.botToken);
    const thread = await ensureRoot(ports, event, settings, token);
    let updated = false;
    if (!thread.created && event.progress.sequence > thread.rootSequence) {
      const root = rootMessage(event, { buttons });
      if (await ports.threads.advanceRoot(event.releaseId, event.progress.sequence, root)) {
        try {
          await ports.chat.update(token, { channel: thread.channel, ts: thread.ts, ...root });
        } catch (error) {
          // The retry must update the root again (else an outcome could leave it showing "baking").
          if (error instanceof SlackApiError && error.retryable)
            await ports.threads.rewindRoot(event.releaseId, event.progress.sequence, thread.rootSequence);
          throw error;
        }
        updated = true;
        await showNewestRoot(ports, event, token, thread, event.progress.sequence);
      }
    }
    const key = replyKey(event);
    if (!(await ports.threads.markReplied(event.releaseId, key)))
      return { status: 'already-posted', releaseId: event.releaseId, root: thread.created, updated };
    try {
      await ports.chat.post(token, {
        channel: thread.channel,
        threadTs: thread.ts,
        broadcast: isOutcome(event),
        ...transitionReply(event, { buttons }),
      });
    } catch (error) {
      // Only a retry needs the mark gone; a refusal for good stays marked (it would be refused again).
      if (error instanceof SlackApiError && error.retryable)
        await ports.threads.unmarkReplied(event.releaseId, key);
      throw error;
    }
    ports.log.info('release event posted to Slack', {
      releaseId: event.releaseId,
      kind: event.kind,
      sequence: event.progress.sequence,
      root: thread.created,
      updated,
    });
    return { status: 'posted', releaseId: event.releaseId, root: thread.created, updated };
  } catch (error) {
    return settle(error, event, ports.log);
  }
};
