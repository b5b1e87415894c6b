import type { OperatorAction, ReleaseProgress } from '../lib/domain/progress.ts';
import { formatDuration } from '../lib/duration.ts';
import type { ReleaseRecord } from '../lib/ports/release-history.ts';

/** `v1 -> v2`, or the one version known. */
export const versionsOf = (record: Pick<ReleaseRecord, 'fromVersion' | 'toVersion'>): string =>
  record.fromVersion !== undefined && record.toVersion !== undefined
    ? `${record.fromVersion} -> ${record.toVersion}`
    : (record.toVersion ?? 'unknown version');

/** Seconds until the current wait (a bake, a pause, the rollback window) ends on its own; undefined if none. */
export const secondsLeft = (progress: ReleaseProgress | undefined, now: Date): number | undefined => {
  if (!progress?.endsAt) return undefined;
  return Math.max(0, Math.round((new Date(progress.endsAt).getTime() - now.getTime()) / 1000));
};

/** Where the release is: `step 2 of 6 (Bake 5% for 5m): baking, 5% on v3, 3m12s left`. */
export const progressLine = (record: ReleaseRecord, now: Date): string => {
  const progress = record.progress;
  if (!progress)
    return `${record.status === 'in_progress' ? 'in progress' : record.status}${record.currentPercent !== undefined ? `, ${record.currentPercent}% on ${record.toVersion ?? 'the new version'}` : ''}`;
  const step =
    progress.step > 0 && progress.steps > 0
      ? `step ${progress.step} of ${progress.steps}${progress.label ? ` (${progress.label})` : ''}: `
      : '';
  const left = secondsLeft(progress, now);
  const ends =
    left === undefined
      ? ''
      : progress.state === 'baking'
        ? `, bake ends in ${formatDuration(left)}`
        : progress.state === 'paused'
          ? `, waits for a person at most ${formatDuration(left)} more`
          : progress.state === 'rollback-window'
            ? `, rollback window ends in ${formatDuration(left)}`
            : '';
  return `${step}${progress.state}, ${progress.newPercent}% on ${record.toVersion ?? 'the new version'}${ends}`;
};

/** `2026-03-02 10:00:05Z`: short, sortable, unambiguous. */
export const shortTime = (iso: string | undefined): string =>
  iso === undefined ? '-' : iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');

/** How long a release ran (or has run so far). */
export const durationOf = (record: ReleaseRecord, now: Date): string => {
  const start = new Date(record.startedAt ?? record.requestedAt).getTime();
  const end = record.endedAt ? new Date(record.endedAt).getTime() : now.getTime();
  return formatDuration(Math.max(0, (end - start) / 1000));
};

/** One person's command on a release: `10:12:00Z promote by arn:...: looks good`. */
export const actionLine = (action: OperatorAction): string =>
  `${shortTime(action.at)} ${action.command} by ${action.actor.name ?? action.actor.id}${action.reason ? ` ("${action.reason}")` : ''}: ${action.result}`;
