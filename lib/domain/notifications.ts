import type { Notification } from '../ports/notifier.ts';

/** Notification kinds, as published in the message's `event` field and the SNS `event` attribute. */
export const NOTIFICATION_KINDS = [
  'started',
  'promoted',
  'rolled_back',
  'failed',
  'superseded',
  'rollback_failed',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface NotificationFacts {
  kind: NotificationKind;
  service: string;
  releaseId: string;
  executionArn?: string;
  fromVersion?: string;
  toVersion: string;
  reason?: string;
  at: string;
  region: string;
  /** Extra facts (plan summary, who superseded, ...). */
  details?: Record<string, unknown>;
}

/** Link to the execution in the Step Functions console. */
export const consoleUrlFor = (executionArn: string, region: string): string =>
  `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;

const subjectFor = (facts: NotificationFacts): string => {
  const { service, fromVersion, toVersion, reason } = facts;
  const from = fromVersion ? ` (from ${fromVersion})` : '';
  switch (facts.kind) {
    case 'started':
      return `[shipline] ${service}: releasing ${toVersion}${from}`;
    case 'promoted':
      return `[shipline] ${service}: ${toVersion} promoted, now serving 100%`;
    case 'rolled_back':
      return `[shipline] ${service}: ${toVersion} rolled back to ${fromVersion ?? 'the stable version'}: ${reason ?? ''}`;
    case 'failed':
      return `[shipline] ${service}: release of ${toVersion} failed: ${reason ?? ''}`;
    case 'superseded':
      return `[shipline] ${service}: ${toVersion} skipped, superseded by a newer push`;
    case 'rollback_failed':
      return `[shipline] ACTION NEEDED ${service}: rollback of ${toVersion} FAILED`;
  }
};

/** Builds the inbox subject and the JSON message for a release event. */
export const buildNotification = (facts: NotificationFacts): Notification => ({
  subject: subjectFor(facts),
  message: {
    event: facts.kind,
    service: facts.service,
    release: facts.releaseId,
    fromVersion: facts.fromVersion ?? null,
    toVersion: facts.toVersion,
    reason: facts.reason ?? null,
    executionArn: facts.executionArn ?? null,
    consoleUrl: facts.executionArn ? consoleUrlFor(facts.executionArn, facts.region) : null,
    at: facts.at,
    ...(facts.details ?? {}),
  },
});
