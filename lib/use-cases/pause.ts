import { now } from '../clock.ts';
import { currentStep } from '../domain/cursor.ts';
import type { Deployment, StepCursor } from '../domain/types.ts';
import type { ReleaseStore } from '../ports/release-store.ts';

/**
 * The pause step: records the waiting task token on the release, so a person's promote or approve command
 * finds it from the release and resumes it. The state's timeout ends a pause nobody answered; the step's
 * `onTimeout` says whether that rolls back or goes on.
 */
export const startPause = async (
  ports: { store: ReleaseStore },
  deployment: Deployment,
  cursor: StepCursor,
  taskToken: string,
): Promise<{ waiting: true; until: string }> => {
  const step = currentStep(cursor, 'pause');
  const until = new Date(now().getTime() + step.timeoutSeconds * 1000).toISOString();
  await ports.store.updateRecord(deployment.service, deployment.requestedAt, deployment.id, {
    pause: { taskToken, step: step.index, label: step.label, until },
  });
  return { waiting: true, until };
};
