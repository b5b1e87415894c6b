import type { Actor } from '../domain/progress.ts';
import { PENDING_TOKEN_PREFIX } from '../ports/lock-store.ts';
import type { Wait, WaitKind, WaitRegistry } from '../ports/wait-registry.ts';
import type { TaskTokens } from '../ports/workflow.ts';

/** The error an aborted wait fails with; the state machine routes it to the rollback (error names are the ASL contract). */
export const RELEASE_ABORTED = 'ReleaseAborted';

/** The ports a person's resume command uses: where waits are found, and how their tasks are completed. */
export interface ResumePorts {
  waits: WaitRegistry;
  tokens: TaskTokens;
}

/** What happened to one wait of the release. */
export interface ResumedWait {
  kind: WaitKind;
  key: string;
  service: string;
  /** `resumed`: its task took the command; `already-ended`: its token was no longer valid (timed out, or done). */
  result: 'resumed' | 'already-ended';
}

/**
 * The answer to a person's command: `done` when at least one wait took it, `nothing-to-resume` when the
 * release waits on nothing the command can resume (`found` lists what it does wait on, if anything).
 */
export interface ResumeReport {
  command: 'approve' | 'abort';
  releaseId: string;
  status: 'done' | 'nothing-to-resume';
  waits: ResumedWait[];
  /** Kinds of the release's waits the command left alone (approve resumes only pauses). */
  found: WaitKind[];
}

/** What a pause's task returns when a person approves it (the pause state's `ResultPath` keeps it). */
export interface PauseApproval {
  resumed: true;
  decision: 'approved';
}

const PAUSE_APPROVAL: PauseApproval = { resumed: true, decision: 'approved' };

/**
 * The cause an aborted release's task fails with. Its rollback reason (what the `rolled_back` notification
 * names) is "aborted by a person: <reason>". With the person who aborted, the cause is the JSON a Lambda
 * error's cause is (`{"errorMessage": ...}`, which the rollback already reads its reason from) plus the
 * `actor`, so the rollback's release event says who did it.
 */
export const abortCause = (reason: string, actor?: Actor): string => {
  const message = `aborted by a person: ${reason}`;
  return actor ? JSON.stringify({ errorMessage: message, actor }) : message;
};

/**
 * Completes each wait's task once (a bake holds one wait per watched alarm, all on the same token), then
 * claims every wait of that token: a token no longer valid leaves a stale record nobody would claim.
 */
export const completeWaits = async (
  ports: ResumePorts,
  waits: readonly Wait[],
  complete: (token: string) => Promise<boolean>,
): Promise<ResumedWait[]> => {
  const byToken = new Map<string, Wait[]>();
  for (const wait of waits) {
    // A push queued as data (a pending push) has no task to complete: it is left queued, never dropped
    // from the queue as a wait whose token had ended.
    if (wait.taskToken.startsWith(PENDING_TOKEN_PREFIX)) continue;
    byToken.set(wait.taskToken, [...(byToken.get(wait.taskToken) ?? []), wait]);
  }
  const results: ResumedWait[] = [];
  for (const [token, sharing] of byToken) {
    const took = await complete(token);
    for (const wait of sharing) {
      // Bookkeeping once the task took the command (or had ended): a wait left unclaimed is removed by the
      // release's own step end or by its TTL, so a failure here must not hide that the command acted.
      await ports.waits
        .claim({ kind: wait.kind, key: wait.key, releaseId: wait.releaseId }, token)
        .catch(() => false);
      results.push({
        kind: wait.kind,
        key: wait.key,
        service: wait.service,
        result: took ? 'resumed' : 'already-ended',
      });
    }
  }
  return results;
};

const report = (
  command: ResumeReport['command'],
  releaseId: string,
  all: readonly Wait[],
  acted: ResumedWait[],
): ResumeReport => ({
  command,
  releaseId,
  // Done only when a waiting task was resumed: waits whose tasks had already ended resumed nothing.
  status: acted.some((wait) => wait.result === 'resumed') ? 'done' : 'nothing-to-resume',
  waits: acted,
  found: [...new Set(all.map((wait) => wait.kind))],
});

/**
 * A person approves a release waiting at a pause step: its task succeeds and the release goes on with its
 * next step. With `service`, only that service's release is touched (a safeguard against a mistyped id).
 */
export const approveRelease = async (
  ports: ResumePorts,
  request: { releaseId: string; service?: string },
): Promise<ResumeReport> => {
  const all = (await ports.waits.findByRelease(request.releaseId)).filter(
    (wait) => request.service === undefined || wait.service === request.service,
  );
  const pauses = all.filter((wait) => wait.kind === 'pause');
  const acted = await completeWaits(ports, pauses, (token) => ports.tokens.succeed(token, PAUSE_APPROVAL));
  return report('approve', request.releaseId, all, acted);
};

/**
 * A person aborts a release, whatever it waits on (a pause, a bake, readiness, the rollback window, the
 * lock queue): every waiting task fails with {@link RELEASE_ABORTED} and the reason, which the state
 * machine routes to the rollback (a queued push, which holds nothing yet, is reported as failed).
 */
export const abortRelease = async (
  ports: ResumePorts,
  request: { releaseId: string; reason: string; service?: string; actor?: Actor },
): Promise<ResumeReport> => {
  const reason = request.reason.trim();
  if (reason === '') throw new Error('an abort needs a reason: the rollback notification names it');
  const all = (await ports.waits.findByRelease(request.releaseId)).filter(
    (wait) => request.service === undefined || wait.service === request.service,
  );
  const acted = await completeWaits(ports, all, (token) =>
    ports.tokens.fail(token, RELEASE_ABORTED, abortCause(reason, request.actor)),
  );
  return report('abort', request.releaseId, all, acted);
};
