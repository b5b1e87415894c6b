import { currentStep, nextCursor, rolloutOf } from '../domain/cursor.ts';
import type { BakeOutcome, Deployment, Rollout, StepCursor } from '../domain/types.ts';
import type { EcsDeploymentStateChangeEvent } from '../events/ecs-deployment.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { SlotDeployer } from '../ports/slot-deployer.ts';
import type { TaskTokens } from '../ports/workflow.ts';

/** What the deploy step started (the revision and the ECS deployment rolling it out). */
export type SlotDeployment = Rollout;

/**
 * The deploy step: registers a task definition revision pinned to the digest and rolls it out to the idle
 * slot. Returns the next step's cursor, which carries the rollout for the steps that wait on it.
 */
export const deployToIdleSlot = async (
  ports: { deployer: SlotDeployer },
  deployment: Deployment,
  cursor: StepCursor,
): Promise<StepCursor> => {
  currentStep(cursor, 'deploy');
  const { target } = deployment;
  const rollout = await ports.deployer.deployImage({
    cluster: target.cluster,
    service: target.canary.service,
    container: target.container,
    baseTaskDefinitionArn: target.stableTaskDefinitionArn,
    imageUri: deployment.image.uri,
    version: deployment.toVersion,
    desiredCount: target.desiredCount,
    releaseId: deployment.id,
  });
  return nextCursor(deployment.plan, cursor, { rollout });
};

/**
 * A completed deployment passes only with the tasks the new slot must run: traffic is never shifted to a
 * slot that runs fewer tasks than the stable one (ALB would answer 503 for an empty one).
 */
const steadyOutcome = (
  deployment: Deployment,
  state: 'COMPLETED' | 'FAILED',
  reason: string | undefined,
  runningCount: number,
): BakeOutcome => {
  const { canary, desiredCount } = deployment.target;
  if (state === 'FAILED') {
    return {
      outcome: 'failed',
      reason: `new slot ${canary.service} failed to become steady${reason ? `: ${reason}` : ''}`,
    };
  }
  if (runningCount < desiredCount) {
    return {
      outcome: 'failed',
      reason: `new slot ${canary.service} runs ${runningCount} of ${desiredCount} tasks`,
    };
  }
  return { outcome: 'passed', reason: `${canary.service} is steady on ${deployment.toVersion}` };
};

/**
 * Waits for the ECS deployment event, holding the task token. Checks once right away, in case the
 * deployment completed before the wait was registered.
 */
export const awaitSteadySlot = async (
  ports: { store: ReleaseStore; deployer: SlotDeployer; tokens: TaskTokens },
  deployment: Deployment,
  cursor: StepCursor,
  taskToken: string,
): Promise<{ waiting: boolean }> => {
  const step = currentStep(cursor, 'await-ready');
  const slotDeployment = rolloutOf(cursor);
  await ports.store.putSlotWait(
    { deploymentId: slotDeployment.deploymentId, releaseId: deployment.id, taskToken },
    step.timeoutSeconds + 3600,
  );
  const { target } = deployment;
  const status = await ports.deployer.describeSlot(target.cluster, target.canary.service, target.container);
  const rollout = status.deployment;
  if (rollout?.id === slotDeployment.deploymentId && rollout.rolloutState !== 'IN_PROGRESS') {
    await ports.tokens.succeed(
      taskToken,
      steadyOutcome(deployment, rollout.rolloutState, rollout.reason, status.runningCount),
    );
    await ports.store.claimSlotWait(slotDeployment.deploymentId);
    return { waiting: false };
  }
  return { waiting: true };
};

/** After the steady timeout: the lost-event guard reads the deployment state directly. */
export const confirmSteadySlot = async (
  ports: { store: ReleaseStore; deployer: SlotDeployer },
  deployment: Deployment,
  cursor: StepCursor,
): Promise<BakeOutcome> => {
  const step = currentStep(cursor, 'await-ready');
  const slotDeployment = rolloutOf(cursor);
  await ports.store.claimSlotWait(slotDeployment.deploymentId);
  const { target } = deployment;
  const status = await ports.deployer.describeSlot(target.cluster, target.canary.service, target.container);
  const rollout = status.deployment;
  if (rollout?.id !== slotDeployment.deploymentId) {
    return {
      outcome: 'failed',
      reason: `deployment ${slotDeployment.deploymentId} of ${target.canary.service} was replaced by another deployment`,
    };
  }
  if (rollout.rolloutState === 'IN_PROGRESS') {
    return {
      outcome: 'failed',
      reason: `new slot ${target.canary.service} was not steady after ${step.timeoutSeconds}s`,
    };
  }
  return steadyOutcome(deployment, rollout.rolloutState, rollout.reason, status.runningCount);
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
  const service = event.resources[0]?.split('/').at(-1) ?? 'the new slot';
  const outcome: BakeOutcome =
    eventName === 'SERVICE_DEPLOYMENT_COMPLETED'
      ? { outcome: 'passed', reason: `${service} reached a steady state` }
      : {
          outcome: 'failed',
          reason: `new slot ${service} failed to become steady${reason ? `: ${reason}` : ''}`,
        };
  const resumed = await ports.tokens.succeed(wait.taskToken, outcome);
  await ports.store.claimSlotWait(deploymentId);
  return { resumed: resumed ? wait.releaseId : null };
};
