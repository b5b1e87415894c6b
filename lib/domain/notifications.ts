import type { Notification } from '../ports/notifier.ts';

/** Notification kinds, as published in the message's `event` field and the SNS `event` attribute. */
export const NOTIFICATION_KINDS = [
  'started',
  'promoted',
  'rolled_back',
  'failed',
  'superseded',
  'rollback_failed',
  'paused',
  /**
   * A promoted release's execution ended outside its states (stopped, timed out) before it retired the
   * old version: the new version serves, but no alarm rolls it back any more and what it kept warm stays.
   */
  'stopped',
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
  /** A pause: when its wait ends if nobody answers (ISO 8601). */
  until?: string;
  /** A stopped promoted release: the slot it left warm (its tasks keep running until a person scales it). */
  leftWarm?: string;
  /**
   * A stopped promoted release whose window was over: its scale-down may have been under way when the
   * execution ended, so the old slot may be left warm (the subject says so, not that it is).
   */
  leftWarmUnsure?: boolean;
  /** Extra facts (plan summary, who superseded, ...). */
  details?: Record<string, unknown>;
}

/** Link to the execution in the Step Functions console. */
export const consoleUrlFor = (executionArn: string, region: string): string =>
  `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;

/**
 * SNS Publish: "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100
 * characters long" (SNS API reference, Publish); email clients show printable ASCII best.
 */
export const SUBJECT_MAX_LENGTH = 99;
const ELLIPSIS = '...';
/**
 * A shortened version or service keeps at least this many characters before its ellipsis on a first pass,
 * so it stays recognisable; only if the subject is still too long is it cut to MIN_KEPT.
 */
const RECOGNISABLE = 16;
const MIN_KEPT = 4;

/** Printable ASCII on one line: line breaks and tabs become spaces, other characters become `?`. */
export const toPrintableAscii = (text: string): string =>
  text
    .replace(/[→]/g, '->')
    .replace(/[—–]/g, '-')
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?');

/**
 * A subject part: fixed words (what happened) are never shortened; a variable part (version, reason,
 * service) is shortened in `rank` order, lowest first, when the subject is too long.
 */
type SubjectPart = string | { text: string; rank: number };

/** Joins the parts, shortening variable ones (reason, then versions, then the service) until it fits. */
const fitSubject = (parts: SubjectPart[]): string => {
  const texts = parts.map((part) => toPrintableAscii(typeof part === 'string' ? part : part.text));
  const ranked = parts
    .map((part, index) => ({ index, rank: typeof part === 'string' ? Number.POSITIVE_INFINITY : part.rank }))
    .filter((entry) => Number.isFinite(entry.rank))
    .sort((a, b) => a.rank - b.rank || a.index - b.index);
  const length = () => texts.reduce((sum, text) => sum + text.length, 0);
  const shorten = (index: number, floor: number) => {
    const excess = length() - SUBJECT_MAX_LENGTH;
    if (excess <= 0) return;
    const text = texts[index] ?? '';
    const keep = Math.max(floor, text.length - excess - ELLIPSIS.length);
    if (keep < text.length - ELLIPSIS.length) texts[index] = `${text.slice(0, keep)}${ELLIPSIS}`;
  };
  for (const { index, rank } of ranked) shorten(index, rank === 0 ? MIN_KEPT : RECOGNISABLE);
  for (const { index } of ranked) shorten(index, MIN_KEPT);
  return texts.join('').trim();
};

const subjectFor = (facts: NotificationFacts): string => {
  const { service, fromVersion, toVersion, reason } = facts;
  // Shortened first: the reason (the message carries it in full), then the versions, the service last.
  const why = (text: string | undefined): SubjectPart[] => (text ? [': ', { text, rank: 0 }] : []);
  const svc = { text: service, rank: 3 };
  const to = { text: toVersion, rank: 2 };
  const from = fromVersion ? { text: fromVersion, rank: 1 } : undefined;
  switch (facts.kind) {
    case 'started':
      return fitSubject(['[shipline] ', svc, ': releasing ', to, ...(from ? [' (from ', from, ')'] : [])]);
    case 'promoted':
      return fitSubject(['[shipline] ', svc, ': ', to, ' promoted, now serving 100%']);
    case 'rolled_back':
      return fitSubject([
        '[shipline] ',
        svc,
        ': ',
        to,
        ' rolled back to ',
        from ?? 'the stable version',
        ...why(reason),
      ]);
    case 'failed':
      return fitSubject(['[shipline] ', svc, ': release of ', to, ' failed', ...why(reason)]);
    case 'superseded':
      return fitSubject(['[shipline] ', svc, ': ', to, ' skipped, superseded by a newer push']);
    case 'rollback_failed':
      return fitSubject(['[shipline] ACTION NEEDED ', svc, ': rollback of ', to, ' FAILED']);
    case 'stopped':
      return fitSubject([
        facts.leftWarm ? '[shipline] ACTION NEEDED ' : '[shipline] ',
        svc,
        ': ',
        to,
        // A stop after the window (the old slot may be warm) is no stop of the window: say when it came.
        facts.leftWarmUnsure
          ? ' serves, stopped after its rollback window'
          : ' serves, its rollback window was stopped',
        ...(facts.leftWarm
          ? [`; ${facts.leftWarm} ${facts.leftWarmUnsure ? 'may be warm' : 'left warm'}`]
          : []),
      ]);
    case 'paused':
      return fitSubject([
        '[shipline] ',
        svc,
        ': ',
        to,
        ' paused, waiting for approval',
        ...(facts.until ? [` (until ${untilWords(facts.until, facts.at)})`] : []),
      ]);
  }
};

/** `11:05 UTC` on the day the notification is sent, else `2026-11-24 11:05 UTC`. */
export const untilWords = (until: string, at: string): string => {
  const [day = '', time = ''] = new Date(until).toISOString().split('T');
  const hhmm = `${time.slice(0, 5)} UTC`;
  return day === new Date(at).toISOString().slice(0, 10) ? hhmm : `${day} ${hhmm}`;
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
    ...(facts.until ? { until: facts.until } : {}),
    ...(facts.details ?? {}),
  },
});
