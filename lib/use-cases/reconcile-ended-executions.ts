import { now } from '../clock.ts';
import { asError, InvalidInputError, ShiplineError } from '../errors.ts';
import type { AbnormalEndStatus, EndedExecutionSummary, ExecutionHistory } from '../ports/workflow.ts';
import { handOffEndedExecution } from './finish-release.ts';

/**
 * How far back each reconciliation looks for ended executions: one hour before the alarm's state change
 * (the notification's StateChangeTime, not the run's own time: Lambda may run an SNS notification hours
 * late, when the function is throttled, and retries a failed one minutes later). A state change comes a
 * minute or two after the end that moved the alarm (ALARM), and again a few minutes after the last end of
 * a burst (OK: the alarm's actions fire only on a change of state, so ends while it stays in ALARM are
 * swept up then). What it misses: an execution that ended more than an hour before the state change that
 * should have covered it (an alarm kept in ALARM for over an hour by ends every minute); such a release
 * still has its lock taken over when its lease lapses, and its record stays in progress. ListExecutions is
 * eventually consistent ("may not reflect very recent updates"): an end the ALARM notification's look does
 * not list yet is listed by the OK one's.
 */
export const RECONCILE_LOOK_BACK_SECONDS = 3600;

/**
 * The oldest state change a reconciliation looks back from: Lambda keeps an asynchronous event (SNS's
 * notification) in its queue at most six hours (MaximumEventAgeInSeconds, 60 to 21,600, default 21,600),
 * so an older StateChangeTime is no notification Lambda still delivers (a replayed sample, a clock gone
 * wrong), and does not widen the look-back to the executions of years.
 */
export const RECONCILE_MAX_NOTIFICATION_AGE_SECONDS = 21_600;

/**
 * Pages of each status' execution list read per reconciliation (1000 executions a page, the API's largest,
 * most recently started first). An execution that ended within the look-back but started before the 5000
 * most recently started executions of its status is left out (said in the log, `complete: false`).
 */
export const RECONCILE_MAX_PAGES = 5;

/** The final statuses of an execution that may have ended outside its own states (never SUCCEEDED). */
export const ABNORMAL_END_STATUSES: readonly AbnormalEndStatus[] = ['ABORTED', 'TIMED_OUT', 'FAILED'];

/** Some ended executions could not be handed on: the notification is retried (every step is idempotent). */
export class ReconcileFailedError extends ShiplineError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReconcileFailed';
  }
}

/** The ports of the hand-off of an ended execution (the status-change event's use case), plus the history. */
export type ReconcilePorts = Parameters<typeof handOffEndedExecution>[0] & { history: ExecutionHistory };

/** What one reconciliation did with each ended execution it found. */
export interface ReconcileResult {
  /** The start of the look-back (ISO 8601). */
  since: string;
  executions: Array<{
    name: string;
    status: AbnormalEndStatus;
    outcome: Awaited<ReturnType<typeof handOffEndedExecution>> | { skipped: string };
  }>;
  /** The statuses whose list had more pages than were read. */
  incomplete: AbnormalEndStatus[];
}

/**
 * The backstop of the "Step Functions Execution Status Change" event, which AWS delivers best effort: an
 * alarm on the state machine's ExecutionsAborted, ExecutionsTimedOut and ExecutionsFailed metrics notifies
 * (through SNS, not through that event), and each notification runs the event's own use case
 * (handOffEndedExecution) for every execution that ended ABORTED, TIMED_OUT or FAILED within the look-back
 * (the hour before the alarm's state change), oldest end first, as its event would have. That use case is idempotent, so an execution whose event did
 * arrive changes nothing: its record is already ended (no second notification), its lock already handed on.
 * One execution's failure does not stop the others; the notification then fails (and is retried).
 */
export const reconcileEndedExecutions = async (
  ports: ReconcilePorts,
  options: {
    /** The alarm's state change the notification tells of (the earliest, for several): the look-back's end. */
    notifiedAt?: Date;
    lookBackSeconds?: number;
    maxPages?: number;
  } = {},
): Promise<ReconcileResult> => {
  const at = now().getTime();
  const notified = options.notifiedAt?.getTime();
  // Never after now (a state change ahead of this clock), never before the oldest notification Lambda runs.
  const from =
    notified === undefined || Number.isNaN(notified)
      ? at
      : Math.min(at, Math.max(notified, at - RECONCILE_MAX_NOTIFICATION_AGE_SECONDS * 1000));
  const since = new Date(from - (options.lookBackSeconds ?? RECONCILE_LOOK_BACK_SECONDS) * 1000);
  const found: EndedExecutionSummary[] = [];
  const incomplete: AbnormalEndStatus[] = [];
  for (const status of ABNORMAL_END_STATUSES) {
    const listed = await ports.history.listEnded(status, since, options.maxPages ?? RECONCILE_MAX_PAGES);
    found.push(...listed.executions);
    if (!listed.complete) {
      incomplete.push(status);
      ports.log?.error(
        'more executions than the reconciliation reads: an older-started one may be left out',
        {
          status,
          since: since.toISOString(),
        },
      );
    }
  }
  // In the order they ended: a service's earlier release is handed on before the one queued behind it.
  found.sort((a, b) => a.stopDate.getTime() - b.stopDate.getTime() || a.name.localeCompare(b.name));
  const executions: ReconcileResult['executions'] = [];
  const failures: string[] = [];
  let firstFailure: unknown;
  for (const listed of found) {
    try {
      const detail = await ports.history.describe(listed.executionArn);
      const outcome = await handOffEndedExecution(ports, {
        name: detail.name,
        status: detail.status,
        input: detail.input,
        error: detail.error ?? null,
        cause: detail.cause ?? null,
      });
      executions.push({ name: listed.name, status: listed.status, outcome });
    } catch (error) {
      // An execution that is no release of this pipeline (started by hand with other input) fails the same
      // way at every look: skipped and logged, so it does not fail every notification of the next hour.
      if (error instanceof InvalidInputError) {
        ports.log?.error('an ended execution is not a release the reconciliation can hand on', {
          execution: listed.name,
          reason: error.message,
        });
        executions.push({ name: listed.name, status: listed.status, outcome: { skipped: error.message } });
        continue;
      }
      firstFailure ??= error;
      const failure = asError(error);
      failures.push(`${listed.name} (${listed.status}): ${failure.name}: ${failure.message}`);
    }
  }
  if (failures.length > 0)
    throw new ReconcileFailedError(
      `${failures.length} of ${found.length} ended executions could not be handed on: ${failures.join('; ')}`,
      { cause: firstFailure },
    );
  return { since: since.toISOString(), executions, incomplete };
};
