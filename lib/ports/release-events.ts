import type { ReleaseEventMessage } from '../domain/progress.ts';

/**
 * The pipeline's internal release-events topic: every transition of every release, for the functions that
 * subscribe to it (Slack, DORA metrics). Publishing is best effort for the release: see `announce`.
 */
export interface ReleaseEvents {
  /** The region the pipeline (and its topic) runs in: every message names it. */
  region(): string;
  publish(message: ReleaseEventMessage): Promise<void>;
  /**
   * Publishes several messages in as few requests as the topic takes (SNS PublishBatch: ten a request) and
   * returns those it could not publish, each with why. An adapter without it publishes one at a time.
   */
  publishAll?(
    messages: readonly ReleaseEventMessage[],
  ): Promise<Array<{ message: ReleaseEventMessage; error: Error }>>;
  /**
   * Told when a message could not be published, or its progress not recorded on the release record (error
   * `ProgressNotRecorded`); the release goes on regardless: the adapter logs it as an
   * error, so a lost transition is never silent.
   */
  lost(message: ReleaseEventMessage, error: Error): void;
}
