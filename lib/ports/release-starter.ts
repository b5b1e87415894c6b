import type { ManualDeployRequest } from '../events/deploy-request.ts';

/**
 * What starting a release answered: started, already started (or queued) for this request, queued behind
 * the running release `behind` (its execution starts when that one hands the lock on; `executionArn` is the
 * one it will have), superseded at once by a newer push `by`, or ignored (and why).
 */
export type ReleaseStartResult =
  | { status: 'started' | 'duplicate'; releaseId: string; executionArn: string }
  | { status: 'queued'; releaseId: string; executionArn: string; behind: string }
  | { status: 'superseded'; releaseId: string; executionArn: string; by: string }
  | { status: 'ignored'; reason: string };

/**
 * Starts a release with the same input as a push: the pipeline's trigger function with a manual deploy
 * request (`shipline deploy`, and `shipline rollback` once the old version's slot is no longer warm).
 */
export interface ReleaseStarter {
  start(request: ManualDeployRequest): Promise<ReleaseStartResult>;
}
