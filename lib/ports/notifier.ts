export interface Notification {
  /** Inbox subject, at most 100 characters (SNS limit). */
  subject: string;
  /** JSON document for machines and chat integrations. */
  message: Record<string, unknown>;
}

/** Tells people. One adapter per channel (SNS first; Slack later). */
export interface Notifier {
  publish(topicArn: string, notification: Notification): Promise<void>;
}
