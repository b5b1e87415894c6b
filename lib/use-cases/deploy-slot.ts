import { now } from '../clock.ts';
import { currentStep, nextCursor, rolloutOf } from '../domain/cursor.ts';
import type { BakeOutcome, Deployment, Rollout, StepCursor } from '../domain/types.ts';
import { TargetStateError } from '../errors.ts';
import type { EcsDeploymentStateChangeEvent } from '../events/ecs-deployment.ts';
import type { AlarmWatcher } from '../ports/alarm-watcher.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { Readiness, TargetDriver } from '../ports/target-driver.ts';
import type { TaskTokens } from '../ports/workflow.ts';
import { confirmRolloutAlarms, watchDuringRollout } from './bake.ts';
import { recordTransition } from './transitions.ts';

/** What the deploy step started (the revision and the ECS deployment rolling it out). */
export type SlotDeployment = Rollout;

/**
 * The deploy step: the driver starts the new version where it takes no production traffic yet (on
 * ecs-alb: a task definition revision pinned to the digest, rolled out to the idle slot). Returns the next
 * step's cursor, which carries the rollout for the steps that wait on it.
 */
export const deployToIdleSlot = async (
  ports: { driver: TargetDriver; store?: Pick<ReleaseStore, 'updateRecord'>; events?: ReleaseEvents },
  deployment: Deployment,
  cursor: StepCursor,
): Promise<StepCursor> => {
  currentStep(cursor, 'deploy');
  const { tookOutOfProduction, ...rollout } = await ports.driver.deploy(deployment.target, {
    imageUri: deployment.image.uri,
    version: deployment.toVersion,
    releaseId: deployment.id,
  });
  const names = ports.driver.names(deployment.target);
  // A slot that still took production traffic (a split left behind) was put back on the stable one first:
  // a change of production traffic, told with the step that made it.
  const moved =
    tookOutOfProduction !== undefined
      ? `: it took ${tookOutOfProduction}% of production (a split left behind), put back on ${names.stableUnit} first`
      : '';
  await recordTransition(ports, deployment, cursor, {
    kind: 'step',
    text: `Deploying ${deployment.toVersion} to ${names.newUnit}, with no production traffic yet${moved}`,
    facts: { phase: 'begin' },
  });
  return nextCursor(deployment.plan, cursor, { rollout });
};

/** A rollout that ended (ready or failed) as the await-ready step's outcome. */
const readyOutcome = (readiness: Readiness): BakeOutcome => ({
  outcome: readiness.state === 'ready' ? 'passed' : 'failed',
  reason: readiness.reason,
});

/**
 * Waits for the ECS deployment event, holding the task token. Checks once right away, in case the
 * deployment completed before the wait was registered.
 */
export const awaitSteadySlot = async (
  ports: { store: ReleaseStore; driver: TargetDriver; tokens: TaskTokens; events?: ReleaseEvents },
  deployment: Deployment,
  cursor: StepCursor,
  taskToken: string,
): Promise<{ waiting: boolean }> => {
  const step = currentStep(cursor, 'await-ready');
  const slotDeployment = rolloutOf(cursor);
  const startedAt = now();
  await recordTransition(
    ports,
    deployment,
    cursor,
    {
      kind: 'step',
      text: `Waiting until ${deployment.toVersion} is ready`,
      facts: {
        phase: 'begin',
        endsAt: new Date(startedAt.getTime() + step.timeoutSeconds * 1000).toISOString(),
        ...(step.watchAlarms ? { watchedAlarms: deployment.alarms } : {}),
      },
    },
    // A rolling update replaces every task of the serving service: the new version is in production from
    // here on (DORA counts the release as a deployment, even if its rollout is rolled back).
    step.watchAlarms ? { peakPercent: 100 } : {},
  );
  await ports.store.putSlotWait(
    { deploymentId: slotDeployment.deploymentId, releaseId: deployment.id, taskToken },
    step.timeoutSeconds + 3600,
  );
  // Production traffic reaches the new version while it gets ready (a rolling update): the same task waits
  // on every watched alarm too, and whichever comes first (the deployment's end, an alarm) resumes it.
  if (step.watchAlarms)
    await watchDuringRollout(
      ports.store,
      deployment,
      taskToken,
      slotDeployment.deploymentId,
      step.timeoutSeconds,
    );
  const readiness = await ports.driver.readiness(deployment.target, slotDeployment, deployment.toVersion);
  if (readiness.state === 'ready' || readiness.state === 'failed') {
    await ports.tokens.succeed(taskToken, readyOutcome(readiness));
    await ports.store.claimSlotWait(slotDeployment.deploymentId);
    return { waiting: false };
  }
  return { waiting: true };
};

/** After the steady timeout: the lost-event guard reads the deployment state directly. */
export const confirmSteadySlot = async (
  ports: { store: ReleaseStore; driver: TargetDriver; alarms?: AlarmWatcher },
  deployment: Deployment,
  cursor: StepCursor,
): Promise<BakeOutcome> => {
  const step = currentStep(cursor, 'await-ready');
  const slotDeployment = rolloutOf(cursor);
  await ports.store.claimSlotWait(slotDeployment.deploymentId);
  if (step.watchAlarms) {
    // An alarm that fired during the rollout while its event was lost fails it, as a bake's confirm does.
    if (!ports.alarms) throw new TargetStateError('confirming a rollout needs the alarm watcher');
    const fired = await confirmRolloutAlarms({ store: ports.store, alarms: ports.alarms }, deployment);
    if (fired) return fired;
  }
  const readiness = await ports.driver.readiness(deployment.target, slotDeployment, deployment.toVersion);
  if (readiness.state === 'in-progress') {
    const { newUnit } = ports.driver.names(deployment.target);
    return { outcome: 'failed', reason: `new slot ${newUnit} was not steady after ${step.timeoutSeconds}s` };
  }
  return readyOutcome(readiness);
};

/** Resumes the release waiting on this ECS deployment, if any. Other deployments are ignored. */
export const onEcsDeploymentEvent = async (
  ports: { store: ReleaseStore; tokens: TaskTokens },
  event: EcsDeploymentStateChangeEvent,
): Promise<{ resumed: string | null }> => {
  const { eventName, deploymentId, reason } = event.detail;
  if (eventName === 'SERVICE_DEPLOYMENT_IN_PROGRESS') return { resumed: null };
  // Resume first, then delete the wait: if resuming fails the event is retried with the wait in place.
  const wait = await ports.store.readSlotWait(deploymentId);
  if (!wait) return { resumed: null };
  const service = event.resources[0]?.split('/').at(-1) ?? 'the service';
  // Named by deployment and service only: the same event readies a new slot (ecs-alb) or a rolling update.
  const outcome: BakeOutcome =
    eventName === 'SERVICE_DEPLOYMENT_COMPLETED'
      ? { outcome: 'passed', reason: `${service} reached a steady state` }
      : {
          outcome: 'failed',
          reason: `ECS deployment ${deploymentId} of ${service} failed to become steady${reason ? `: ${reason}` : ''}`,
        };
  const resumed = await ports.tokens.succeed(wait.taskToken, outcome);
  await ports.store.claimSlotWait(deploymentId);
  return { resumed: resumed ? wait.releaseId : null };
};
