import { currentStep, nextCursor } from '../domain/cursor.ts';
import type { Deployment, StepCursor } from '../domain/types.ts';
import { CheckFailedError } from '../errors.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { SmokeTester } from '../ports/smoke-tester.ts';
import type { TargetDriver } from '../ports/target-driver.ts';
import { recordTransition } from './transitions.ts';

/**
 * The check step: runs its smoke test against the new version (the user's function is told the release
 * and the test URL). Passed returns the next step's cursor, saying so; failed throws CheckFailed with the
 * reason, and the state machine rolls back (before a swap or a shift, production traffic was never
 * touched: the rollback finds it on the stable version and leaves it).
 */
export const runCheck = async (
  ports: {
    smoke: SmokeTester;
    driver: Pick<TargetDriver, 'testUrl'>;
    store?: Pick<ReleaseStore, 'updateRecord'>;
    events?: ReleaseEvents;
  },
  deployment: Deployment,
  cursor: StepCursor,
): Promise<StepCursor> => {
  const step = currentStep(cursor, 'check');
  await recordTransition(ports, deployment, cursor, {
    kind: 'step',
    text: `Running check ${step.name} against ${deployment.toVersion}`,
    facts: { phase: 'begin' },
  });
  const testUrl = ports.driver.testUrl(deployment.target);
  const result = await ports.smoke.run(
    step.test,
    {
      release: {
        id: deployment.id,
        service: deployment.service,
        version: deployment.toVersion,
        digest: deployment.image.digest,
      },
      ...(testUrl ? { testUrl } : {}),
    },
    step.timeoutSeconds,
  );
  if (!result.passed) throw new CheckFailedError(`check ${step.name} failed: ${result.reason}`);
  return nextCursor(deployment.plan, cursor, { note: `check ${step.name} passed: ${result.reason}` });
};
