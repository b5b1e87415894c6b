import type { ManualDeployRequest } from '../events/deploy-request.ts';

/** What starting a release answered: started, already started for this request, or ignored (and why). */
export type ReleaseStartResult =
  | { status: 'started' | 'duplicate'; releaseId: string; executionArn: string }
  | { status: 'ignored'; reason: string };

/**
 * Starts a release with the same input as a push: the pipeline's trigger function with a manual deploy
 * request (`shipline deploy`, and `shipline rollback` once the old version's slot is no longer warm).
 */
export interface ReleaseStarter {
  start(request: ManualDeployRequest): Promise<ReleaseStartResult>;
}
