/**
 * The commands people give releases, as one request/result contract shared by the `shipline` CLI and the
 * Slack buttons: both act through the same use case (lib/use-cases/operate.ts), so a click and a command
 * do exactly the same thing and are recorded the same way.
 */
import type { Actor, OperatorCommand } from './progress.ts';

/** A person's command on a service's release (the service's current release unless `releaseId` names one). */
export interface OperationRequest {
  command: Exclude<OperatorCommand, 'deploy'>;
  service: string;
  /** The environment; the default environment when absent. */
  environment?: string;
  releaseId?: string;
  actor: Actor;
  /** Why; required by abort, rollback and reject (the rollback notification names it). */
  reason?: string;
}

/**
 * The answer: `done` when the command acted; `nothing-to-act-on` when the service has nothing the command
 * can act on (the CLI exits 2 and says `message`).
 */
export interface OperationResult {
  status: 'done' | 'nothing-to-act-on';
  command: OperationRequest['command'];
  service: string;
  releaseId?: string;
  /** What happened or why nothing could, in one or two sentences a person reads. */
  message: string;
  /** Set when the command started a new release (a rollback past the warm slot: the previous digest again). */
  startedRelease?: { releaseId: string; executionArn: string; digest: string };
}

/** Acts on a release; the CLI and the Slack interactions function each pass their own ports. */
export type Operate = (request: OperationRequest) => Promise<OperationResult>;
