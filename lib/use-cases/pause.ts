import { now } from '../clock.ts';
import { currentStep } from '../domain/cursor.ts';
import type { Deployment, StepCursor } from '../domain/types.ts';
import { DEFAULT_ENVIRONMENT } from '../ports/service-ref.ts';
import type { WaitRegistry } from '../ports/wait-registry.ts';

/** How long a pause's wait outlives its timeout before DynamoDB's TTL removes it, unclaimed. */
const PAUSE_WAIT_MARGIN_SECONDS = 3600;

/**
 * The pause step: registers the waiting task token in the wait registry under the release, so a person's
 * promote or approve command finds it from the release and resumes it. The state's timeout ends a pause
 * nobody answered; the step's `onTimeout` says whether that rolls back or goes on.
 */
export const startPause = async (
  ports: { waits: WaitRegistry },
  deployment: Deployment,
  cursor: StepCursor,
  taskToken: string,
): Promise<{ waiting: true; until: string }> => {
  const step = currentStep(cursor, 'pause');
  const until = new Date(now().getTime() + step.timeoutSeconds * 1000).toISOString();
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
  return { waiting: true, until };
};
