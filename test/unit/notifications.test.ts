import { describe, expect, it } from 'vitest';
import {
  buildNotification,
  NOTIFICATION_KINDS,
  type NotificationFacts,
  type NotificationKind,
  SUBJECT_MAX_LENGTH,
} from '../../lib/domain/notifications.ts';

const facts = (kind: NotificationKind, overrides: Partial<NotificationFacts> = {}): NotificationFacts => ({
  kind,
  service: 'checkout',
  releaseId: 'r-1',
  fromVersion: 'v1',
  toVersion: 'v2',
  at: '2026-11-22T10:00:00.000Z',
  region: 'us-east-1',
  ...overrides,
});

/** The words that say what happened, which no shortening may cut. */
const WHAT_HAPPENED: Record<NotificationKind, string[]> = {
  started: ['releasing'],
  promoted: ['promoted, now serving 100%'],
  rolled_back: ['rolled back to'],
  failed: ['release of', 'failed'],
  superseded: ['skipped, superseded by a newer push'],
  rollback_failed: ['ACTION NEEDED', 'rollback of', 'FAILED'],
  paused: ['paused, waiting for approval'],
  stopped: ['serves, its rollback window was stopped'],
};

const LONG_TAG = `release-${'a'.repeat(292)}`;
const LONG_REASON = `alarm checkout-green-5xx went to ALARM at 5%: ${'Threshold Crossed: 2 datapoints. '.repeat(61)}`;

describe('Function: buildNotification, subject', () => {
  it('uses a 300-character tag and a 2,000-character reason in the tests below', () => {
    expect(LONG_TAG).toHaveLength(300);
    expect(LONG_REASON.length).toBeGreaterThanOrEqual(2000);
  });

  it.each(
    NOTIFICATION_KINDS,
  )('keeps the %s subject under 100 printable ASCII characters, saying what happened', (kind) => {
    const { subject } = buildNotification(
      facts(kind, { toVersion: LONG_TAG, fromVersion: LONG_TAG, reason: LONG_REASON }),
    );
    expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX_LENGTH);
    expect(subject.length).toBeLessThan(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject).toContain('[shipline]');
    expect(subject).toContain('checkout');
    for (const words of WHAT_HAPPENED[kind]) expect(subject).toContain(words);
    expect(subject).toContain('release-aaaa');
  });

  it.each(NOTIFICATION_KINDS)('keeps a short %s subject whole', (kind) => {
    const { subject } = buildNotification(facts(kind, { reason: 'alarm x went to ALARM at 5%' }));
    expect(subject).not.toContain('...');
  });

  it('says until when a paused release waits, keeping the time when the version is long', () => {
    expect(buildNotification(facts('paused', { until: '2026-11-22T11:05:00.000Z' })).subject).toBe(
      '[shipline] checkout: v2 paused, waiting for approval (until 11:05 UTC)',
    );
    expect(buildNotification(facts('paused', { until: '2026-11-23T09:30:00.000Z' })).subject).toBe(
      '[shipline] checkout: v2 paused, waiting for approval (until 2026-11-23 09:30 UTC)',
    );
    const long = buildNotification(
      facts('paused', { service: 's'.repeat(255), toVersion: LONG_TAG, until: '2026-11-22T11:05:00.000Z' }),
    );
    expect(long.subject.length).toBeLessThanOrEqual(SUBJECT_MAX_LENGTH);
    expect(long.subject).toMatch(
      /^\[shipline\] s+\.\.\.: release-a+\.\.\. paused, waiting for approval \(until 11:05 UTC\)$/,
    );
    expect(long.message).toMatchObject({ event: 'paused', until: '2026-11-22T11:05:00.000Z' });
  });

  it('says which slot a release stopped in its rollback window left warm, and that a person must act', () => {
    expect(buildNotification(facts('stopped', { leftWarm: 'blue', reason: LONG_REASON })).subject).toBe(
      '[shipline] ACTION NEEDED checkout: v2 serves, its rollback window was stopped; blue left warm',
    );
    const long = buildNotification(facts('stopped', { leftWarm: 'blue', toVersion: LONG_TAG }));
    expect(long.subject.length).toBeLessThanOrEqual(SUBJECT_MAX_LENGTH);
    expect(long.subject).toMatch(/; blue left warm$/);
    // A rolling service keeps nothing warm: nothing to act on but the alarms no longer watched.
    expect(buildNotification(facts('stopped')).subject).toBe(
      '[shipline] checkout: v2 serves, its rollback window was stopped',
    );
  });

  it('says the old slot may be warm when the stop came after the window, as its scale-down may have run', () => {
    expect(
      buildNotification(facts('stopped', { leftWarm: 'blue', leftWarmUnsure: true, reason: LONG_REASON }))
        .subject,
    ).toBe(
      '[shipline] ACTION NEEDED checkout: v2 serves, stopped after its rollback window; blue may be warm',
    );
  });

  it('shortens the reason before the versions', () => {
    const { subject } = buildNotification(facts('rolled_back', { reason: LONG_REASON }));
    expect(subject).toMatch(
      /^\[shipline\] checkout: v2 rolled back to v1: alarm checkout-green-5xx went to .*\.\.\.$/,
    );
    expect(subject).toHaveLength(SUBJECT_MAX_LENGTH);
  });

  it('shortens the version, not the words, when a long tag is promoted', () => {
    const { subject } = buildNotification(facts('promoted', { toVersion: LONG_TAG }));
    expect(subject).toMatch(/^\[shipline\] checkout: release-a+\.\.\. promoted, now serving 100%$/);
    expect(subject).toHaveLength(SUBJECT_MAX_LENGTH);
  });

  it('shortens a long service name last and keeps the words', () => {
    const { subject } = buildNotification(
      facts('rollback_failed', { service: 's'.repeat(255), toVersion: LONG_TAG }),
    );
    expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX_LENGTH);
    expect(subject).toMatch(/^\[shipline\] ACTION NEEDED s+\.\.\.: rollback of release-a+\.\.\. FAILED$/);
  });

  it.each(
    NOTIFICATION_KINDS,
  )('puts line breaks and non-ASCII of a %s subject on one printable line', (kind) => {
    const { subject, message } = buildNotification(
      facts(kind, { toVersion: 'v2-caf\u00e9', reason: 'first line\r\nsecond line \u26a0\ufe0f' }),
    );
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject).toContain('v2-caf?');
    // The message keeps the facts as they were.
    expect(message.toVersion).toBe('v2-caf\u00e9');
  });

  it('keeps the full reason and version in the message', () => {
    const { message } = buildNotification(facts('failed', { toVersion: LONG_TAG, reason: LONG_REASON }));
    expect(message).toMatchObject({ toVersion: LONG_TAG, reason: LONG_REASON });
  });
});
