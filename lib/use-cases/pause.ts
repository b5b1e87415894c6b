import { now } from '../clock.ts';
import { currentStep } from '../domain/cursor.ts';
import type { Deployment, StepCursor } from '../domain/types.ts';
import type { Notifier } from '../ports/notifier.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import { DEFAULT_ENVIRONMENT } from '../ports/service-ref.ts';
import type { WaitRegistry } from '../ports/wait-registry.ts';
import { type NotificationMarkStore, notifyBestEffort } from './notify.ts';
import { recordTransition } from './transitions.ts';

/** How long a pause's wait outlives its timeout before DynamoDB's TTL removes it, unclaimed. */
const PAUSE_WAIT_MARGIN_SECONDS = 3600;

/** What a pause needs to know of the pipeline: where the person's commands must point. */
export interface PauseSettings {
  region: string;
  /** The release table the person's `shipline approve` / `abort` reads (its `--table`). */
  tableName: string;
}

/** The exact commands a person runs to resume or abort a paused release (the `paused` notification gives them). */
export const resumeCommands = (
  deployment: Pick<Deployment, 'id' | 'service'>,
  settings: PauseSettings,
): { approve: string; abort: string } => {
  const where = `--table ${settings.tableName} --region ${settings.region}`;
  return {
    approve: `shipline approve --release ${deployment.id} --service ${deployment.service} ${where}`,
    abort: `shipline abort --release ${deployment.id} --reason "<why>" ${where}`,
  };
};

/**
 * The pause step: registers the waiting task token in the wait registry under the release, so a person's
 * `shipline approve` (or `abort`) finds it from the release and resumes it, then tells people the release
 * waits (the `paused` notification, with the commands). The state's timeout ends a pause nobody answered;
 * the step's `onTimeout` says whether that rolls back or goes on. The notification is best effort: an SNS
 * outage must not fail the pause (the wait is registered; the warning is logged).
 */
export const startPause = async (
  ports: {
    waits: WaitRegistry;
    store: NotificationMarkStore;
    notifier: Notifier;
    records?: Pick<ReleaseStore, 'updateRecord'>;
    events?: ReleaseEvents;
  },
  settings: PauseSettings,
  deployment: Deployment,
  cursor: StepCursor,
  taskToken: string,
  executionArn?: string,
): Promise<{ waiting: true; until: string; warnings?: string[] }> => {
  const step = currentStep(cursor, 'pause');
  const until = new Date(now().getTime() + step.timeoutSeconds * 1000).toISOString();
  // An inconclusive bake's pause takes the bake's index: a phase of its own keeps the sequence growing.
  const inPlaceOfBake = deployment.plan.steps[cursor.index]?.kind === 'bake';
  await recordTransition(
    { ...(ports.records ? { store: ports.records } : {}), ...(ports.events ? { events: ports.events } : {}) },
    deployment,
    cursor,
    {
      kind: 'paused',
      text: `Paused: ${step.label}; waiting for a person until ${until}`,
      facts: { phase: inPlaceOfBake ? 'pause-instead' : 'begin', endsAt: until },
    },
    {},
    executionArn,
  );
  await ports.waits.register(
    [
      {
        kind: 'pause',
        key: deployment.id,
        releaseId: deployment.id,
        service: deployment.service,
        environment: DEFAULT_ENVIRONMENT,
        taskToken,
      },
    ],
    step.timeoutSeconds + PAUSE_WAIT_MARGIN_SECONDS,
  );
  const warnings: string[] = [];
  // Once per release and step: a retried invocation does not notify again, a later pause of the same
  // release (another inconclusive bake) does.
  await notifyBestEffort(
    ports,
    deployment.topicArn,
    {
      kind: 'paused',
      service: deployment.service,
      releaseId: deployment.id,
      ...(executionArn ? { executionArn } : {}),
      fromVersion: deployment.fromVersion,
      toVersion: deployment.toVersion,
      region: settings.region,
      until,
      details: {
        step: step.label,
        stepIndex: step.index,
        timeoutSeconds: step.timeoutSeconds,
        onTimeout: step.onTimeout,
        commands: resumeCommands(deployment, settings),
      },
    },
    warnings,
    `paused#${step.index}`,
  );
  return { waiting: true, until, ...(warnings.length > 0 ? { warnings } : {}) };
};
