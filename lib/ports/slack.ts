import type { SecretRef } from '../config/slack.ts';
import type { SlackBlock } from '../domain/slack.ts';

/** A message to post: to a channel, or as a reply in a thread (`threadTs`), also shown in the channel (`broadcast`). */
export interface SlackPost {
  channel: string;
  text: string;
  blocks: SlackBlock[];
  threadTs?: string;
  broadcast?: boolean;
}

/** Where a posted message is: its channel and its `ts` (Slack's id of a message in a channel). */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** Slack's chat methods, in the words the thread needs. One adapter: lib/adapters/slack-web-api.ts. */
export interface SlackChat {
  /** chat.postMessage. */
  post(token: string, message: SlackPost): Promise<SlackMessageRef>;
  /** chat.update: replaces a message's text and blocks. */
  update(token: string, message: SlackMessageRef & { text: string; blocks: SlackBlock[] }): Promise<void>;
  /** Answers a click through its `response_url`: a message only the clicking user sees. */
  respond(responseUrl: string, text: string): Promise<void>;
  /** Replaces the message whose button was clicked, through the click's `response_url`. */
  replaceClicked(responseUrl: string, message: { text: string; blocks: SlackBlock[] }): Promise<void>;
}

/**
 * A Slack call that did not succeed: an HTTP error, `ok: false`, or no answer. `retryable` says whether the
 * same call may succeed later (rate limited, Slack unavailable, the network) or never will as configured
 * (invalid_auth, channel_not_found, ...).
 */
export class SlackApiError extends Error {
  public readonly method: string;
  /** Slack's `error` code, or `http_<status>`, or `network`. */
  public readonly code: string;
  public readonly retryable: boolean;
  /** The `Retry-After` of a 429, in seconds. */
  public readonly retryAfterSeconds?: number;

  public constructor(
    method: string,
    code: string,
    options: { retryable: boolean; retryAfterSeconds?: number; detail?: string; cause?: unknown },
  ) {
    super(`Slack ${method} failed: ${code}${options.detail ? ` (${options.detail})` : ''}`, {
      cause: options.cause,
    });
    this.name = 'SlackApiError';
    this.method = method;
    this.code = code;
    this.retryable = options.retryable;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** A secret could not be read; `retryable` when AWS may answer later (throttling, a server error). */
export class SlackSecretError extends Error {
  public readonly retryable: boolean;
  public constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'SlackSecretError';
    this.retryable = options.retryable;
  }
}

/** Reads a secret the config references (the bot token, a signing secret), cached by the adapter. */
export interface SecretReader {
  read(ref: SecretRef): Promise<string>;
}

/** A release's Slack thread, as the release table keeps it. */
export interface SlackThread {
  channel: string;
  /** The root message's ts; absent while a delivery is still posting it (its claim). */
  ts?: string;
  /** The progress sequence the root message shows. */
  rootSequence: number;
  /** The root message of `rootSequence`, as the delivery that advanced it rendered it. */
  root?: { text: string; blocks: SlackBlock[] };
}

/**
 * The release table's Slack items: one thread per release (created on condition, so two deliveries never
 * post two roots), the replies already posted, and the click signatures already accepted (replays).
 */
export interface SlackThreadStore {
  read(releaseId: string): Promise<SlackThread | undefined>;
  /**
   * Claims the right to post the release's root message until `claimUntil` (epoch seconds): true when no
   * thread exists, or the previous claim lapsed without a root (its delivery died).
   */
  claim(releaseId: string, channel: string, claimUntil: number): Promise<boolean>;
  /** Gives a claim up (the root could not be posted): the next delivery claims again. */
  unclaim(releaseId: string): Promise<void>;
  /** Records the posted root message. */
  recordRoot(releaseId: string, ts: string, sequence: number): Promise<void>;
  /**
   * Moves the root to `sequence` if it shows an older one, keeping the message it renders: true when the
   * caller should update it.
   */
  advanceRoot(
    releaseId: string,
    sequence: number,
    root: { text: string; blocks: SlackBlock[] },
  ): Promise<boolean>;
  /** Moves the root back from `sequence` to `previous` (its update failed and will be retried). */
  rewindRoot(releaseId: string, sequence: number, previous: number): Promise<void>;
  /** Remembers a reply as posted: false when it already was (a redelivered event). */
  markReplied(releaseId: string, key: string): Promise<boolean>;
  /** Forgets a reply that could not be posted, so a retry posts it. */
  unmarkReplied(releaseId: string, key: string): Promise<void>;
}

/** Click signatures already accepted, each kept until Slack's window would refuse it anyway. */
export interface ReplayGuard {
  /** Remembers a signature until `expiresAt` (epoch seconds): false when it was already accepted once. */
  firstUse(signature: string, expiresAt: number): Promise<boolean>;
}
