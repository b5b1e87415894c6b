import type { ChangeTime } from '../domain/dora.ts';
import type { OperatorAction, ReleaseProgress } from '../domain/progress.ts';
import type { ReleaseOutcome } from '../domain/types.ts';
import type { ServiceRef } from './service-ref.ts';

/** One release of a service, from request to end. */
export interface ReleaseRecord {
  service: string;
  /** The environment the release belongs to; the default environment when absent. */
  environment?: string;
  releaseId: string;
  requestedAt: string;
  status: 'in_progress' | ReleaseOutcome;
  fromVersion?: string;
  toVersion?: string;
  /**
   * The image released, pinned by digest (set when the release starts): `shipline rollback` past the
   * rollback window releases the previous promoted record's digest again.
   */
  image?: { digest: string; tag?: string; uri?: string };
  executionArn?: string;
  startedAt?: string;
  /** Set when the release ends: the record then enters the history index by end time. */
  endedAt?: string;
  currentPercent?: number;
  reason?: string;
  /**
   * For a superseded release: the newer release that superseded it (its execution name), as its reason
   * says. An execution of a push told superseded while it was queued reads it here when it reaches the lock.
   */
  supersededBy?: string;
  /** Where the release is in its plan, as its functions last recorded it (status, Slack, report). */
  progress?: ReleaseProgress;
  /** The commands people gave the release, oldest first (who did what, when, why). */
  actions?: OperatorAction[];
  /**
   * The largest share of production traffic the new version took (percent): a release that took any is a
   * deployment in DORA's metrics. Shifts only grow within a plan, so each shift records its own share.
   */
  peakPercent?: number;
  /** When the release was promoted; kept when a rollback in the rollback window ends it later (lead time). */
  promotedAt?: string;
  /** When its rollback began, i.e. when its failure was detected (DORA's failed deployment recovery time). */
  rollbackStartedAt?: string;
  /** When the change it releases was made, and where that time came from (DORA's change lead time). */
  changeTime?: ChangeTime;
}

/** Which record: a release of a service in an environment, at its request time. */
export interface ReleaseRef extends ServiceRef {
  requestedAt: string;
  releaseId: string;
}

/** A page of ended releases, newest first; `cursor` is set while more may follow. */
export interface EndedPage {
  records: ReleaseRecord[];
  cursor?: string;
}

/** Which ended releases to list: ended between `from` and `to` (both inclusive, ISO 8601). */
export interface EndedQuery {
  from: string;
  to: string;
  /** At most this many records per page. */
  limit: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

/**
 * Release records, kept for 400 days. A record written or updated with `endedAt` also enters the history
 * index of its environment by end time (status, history and DORA read it).
 */
export interface ReleaseHistory {
  put(record: ReleaseRecord): Promise<void>;
  /** Sets the defined fields of `changes`; with `endedAt`, indexes the record by its end time. */
  update(ref: ReleaseRef, changes: Partial<Omit<ReleaseRecord, 'service' | 'environment'>>): Promise<void>;
  /** Appends a person's command to the record's `actions` (the record must exist). */
  appendAction(ref: ReleaseRef, action: OperatorAction): Promise<void>;
  /** One record by its key (a consistent read), or undefined. */
  read(ref: ReleaseRef): Promise<ReleaseRecord | undefined>;
  /** The newest records of a service by request time, newest first. */
  listByService(ref: ServiceRef, limit: number): Promise<ReleaseRecord[]>;
  /** Releases of an environment that ended between two instants, newest end first, a page at a time. */
  listEnded(environment: string, query: EndedQuery): Promise<EndedPage>;
}
