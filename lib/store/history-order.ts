import type { EndedQuery } from '../ports/release-history.ts';

/**
 * How the history orders ended releases: by end time, as one fixed ISO 8601 form (UTC, milliseconds), then
 * release id. Shared by the DynamoDB adapter (its index sort key) and the in-memory fake.
 */

/** A time as the history index sorts it: one fixed ISO 8601 form, so string order is time order. */
export const sortableTime = (iso: string, what: string): string => {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) throw new Error(`${what} "${iso}" is not an ISO 8601 date-time`);
  return at.toISOString();
};

/** Above every character a release id holds: the upper bound of "ended at or before this instant". */
const AFTER_ANY_RELEASE = '\uffff';

/** Checks a page request; returns the index's sort key bounds. */
export const endedBounds = (query: EndedQuery): { from: string; to: string } => {
  const from = sortableTime(query.from, 'from');
  const to = sortableTime(query.to, 'to');
  if (from > to) throw new Error(`from (${query.from}) is after to (${query.to})`);
  if (!Number.isInteger(query.limit) || query.limit < 1) {
    throw new Error(`limit must be a whole number of at least 1, got ${query.limit}`);
  }
  return { from: `${from}#`, to: `${to}#${AFTER_ANY_RELEASE}` };
};
