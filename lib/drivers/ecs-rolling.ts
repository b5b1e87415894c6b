import type { ServiceConfig } from '../config/schema.ts';
import type { EcsRollingTarget, ReleaseTarget, Rollout } from '../domain/types.ts';
import { TargetStateError } from '../errors.ts';
import type { ServiceState } from '../ports/release-store.ts';
import type { SlotDeployer } from '../ports/slot-deployer.ts';
import type {
  Readiness,
  ServingSnapshot,
  StableRecord,
  TargetDriver,
  TargetNames,
  TrafficReport,
} from '../ports/target-driver.ts';

/** The rolling state of a release; any other kind reaching this driver is a bug in the wiring. */
const ecsRolling = (target: ReleaseTarget): EcsRollingTarget => {
  if (target.type !== 'ecs-rolling') {
    throw new TargetStateError(`the ecs-rolling driver cannot act on a ${String(target.type)} target`);
  }
  return target;
};

/**
 * The ports the driver is built from. A function passes only those it calls (the rest stay out of its
 * bundle and its role): e.g. roll-back needs `runningTaskDefinition` and `revertTo`, never `deployImage`.
 */
export interface EcsRollingDriverPorts {
  slots?: Partial<SlotDeployer>;
}

/**
 * The ecs-rolling target: one ECS service whose tasks a rolling update replaces (no slots, no weights).
 * Deploy registers a revision pinned to the digest and updates the service with the deployment circuit
 * breaker on; readiness is the rollout's completion (its new tasks take production traffic as they start,
 * so the alarms count during it); there is no traffic to set; rollback updates the service back to the
 * task definition it ran before, which rolls in like any update; retire has nothing to scale down.
 */
export class EcsRollingDriver implements TargetDriver {
  public constructor(private readonly ports: EcsRollingDriverPorts) {}

  private slot<K extends keyof SlotDeployer>(method: K): SlotDeployer[K] {
    const found = this.ports.slots?.[method];
    if (!found) throw new TargetStateError(`the ecs-rolling driver was built without ECS ${method}`);
    return found.bind(this.ports.slots) as SlotDeployer[K];
  }

  /**
   * The service's task definition is stable when its PRIMARY deployment completed and is the only one;
   * while a rollout runs (e.g. after an interrupted release) the last promotion's revision is the stable
   * one, if recorded, since that is what a rollback must return to.
   */
  public async snapshot(
    service: ServiceConfig,
    recorded: () => Promise<ServiceState | undefined>,
  ): Promise<ServingSnapshot> {
    const declared = service.target;
    if (declared.type !== 'ecs-rolling') {
      throw new TargetStateError(`the ecs-rolling driver cannot release an ${declared.type} target`);
    }
    const status = await this.slot('describeSlot')(declared.cluster, declared.service, declared.container);
    if (status.desiredCount < 1) {
      throw new TargetStateError(
        `ECS service ${declared.service} runs no tasks (desiredCount 0): nothing to release from`,
      );
    }
    const settled = status.deployment?.rolloutState === 'COMPLETED' && (status.deploymentCount ?? 1) === 1;
    const stableTaskDefinitionArn = settled
      ? status.taskDefinitionArn
      : ((await recorded())?.stableTaskDefinitionArn ?? status.taskDefinitionArn);
    return {
      target: {
        type: 'ecs-rolling',
        cluster: declared.cluster,
        container: declared.container,
        service: declared.service,
        desiredCount: status.desiredCount,
        stableTaskDefinitionArn,
      },
      servingImage: status.image,
      ...(status.version ? { servingVersion: status.version } : {}),
      servesAll: settled,
      alarms: [],
      planContext: {},
      details: { service: declared.service, taskDefinition: stableTaskDefinitionArn },
      trafficSeen: {},
    };
  }

  /** Another release's rollback shows as the service running another task definition than the one read. */
  public async trafficChangedSince(
    state: ReleaseTarget,
    snapshot: ServingSnapshot,
    releaseId: string,
  ): Promise<string | undefined> {
    const target = ecsRolling(state);
    const before = snapshot.target.type === 'ecs-rolling' ? snapshot.target.stableTaskDefinitionArn : '';
    const status = await this.slot('describeSlot')(target.cluster, target.service, target.container);
    if (status.taskDefinitionArn === before) return undefined;
    return `ECS service ${target.service} changed task definition while ${releaseId} planned (${before}, now ${status.taskDefinitionArn})`;
  }

  /**
   * Registers a task definition revision pinned to the digest (a copy of the stable one) and updates the
   * service to it with the deployment circuit breaker on and ECS's own rollback off: the pipeline decides
   * the rollback, as it does on an alarm, so it is recorded and told with its reason, and the release's
   * lock is held until the previous version is deployed again.
   */
  public async deploy(
    state: ReleaseTarget,
    release: { imageUri: string; version: string; releaseId: string },
  ): Promise<Rollout> {
    const target = ecsRolling(state);
    return this.slot('deployImage')({
      cluster: target.cluster,
      service: target.service,
      container: target.container,
      baseTaskDefinitionArn: target.stableTaskDefinitionArn,
      imageUri: release.imageUri,
      version: release.version,
      desiredCount: target.desiredCount,
      releaseId: release.releaseId,
      circuitBreaker: true,
    });
  }

  /** The rollout's own state: COMPLETED (all tasks replaced) is ready, FAILED (the breaker tripped) failed. */
  public async readiness(state: ReleaseTarget, rollout: Rollout, version: string): Promise<Readiness> {
    const target = ecsRolling(state);
    const status = await this.slot('describeSlot')(target.cluster, target.service, target.container);
    const deployment = status.deployment;
    if (deployment?.id !== rollout.deploymentId) {
      return {
        state: 'replaced',
        reason: `deployment ${rollout.deploymentId} of ${target.service} was replaced by another deployment`,
      };
    }
    if (deployment.rolloutState === 'IN_PROGRESS') {
      return { state: 'in-progress', reason: `the rolling update of ${target.service} is in progress` };
    }
    if (deployment.rolloutState === 'FAILED') {
      return {
        state: 'failed',
        reason: `ECS deployment ${deployment.id} of ${target.service} failed to become steady${deployment.reason ? `: ${deployment.reason}` : ''}`,
      };
    }
    return { state: 'ready', reason: `${target.service} runs ${version} on all its tasks` };
  }

  /**
   * A rolling service has no traffic split: the rollout itself moves production traffic, task by task. Only
   * "all of it" (promotion) is a no-op; a partial share is a plan the builders never make for this target.
   */
  public async setTraffic(state: ReleaseTarget, percent: number): Promise<void> {
    const target = ecsRolling(state);
    if (percent !== 100) {
      throw new TargetStateError(
        `ECS service ${target.service} is updated in place: no share of traffic (${percent}%) can be held on the new version`,
      );
    }
  }

  /** Once the rollout completed (the only way a release reaches a bake or promotion) the new version serves all. */
  public async newVersionPercent(state: ReleaseTarget): Promise<number> {
    ecsRolling(state);
    return 100;
  }

  public async setTestTraffic(state: ReleaseTarget): Promise<void> {
    const target = ecsRolling(state);
    throw new TargetStateError(
      `ECS service ${target.service} is updated in place: it has no test route to point at a version`,
    );
  }

  /**
   * Updates the service back to the task definition it ran before. Reads first: a retry (or a rollout that
   * already returned) finds it running that revision and changes nothing. The previous version then rolls
   * back in as any update does, task by task: the note says so.
   */
  public async rollBack(state: ReleaseTarget): Promise<{ note: string }> {
    const target = ecsRolling(state);
    const note = `the previous task definition ${target.stableTaskDefinitionArn} is rolling back in on ${target.service}, task by task`;
    const running = await this.slot('runningTaskDefinition')(target.cluster, target.service);
    if (running !== target.stableTaskDefinitionArn) {
      await this.slot('revertTo')(target.cluster, target.service, target.stableTaskDefinitionArn);
    }
    return { note };
  }

  /** Nothing stays warm on a rolling service: the old tasks were replaced by the rollout. */
  public async retire(state: ReleaseTarget): Promise<void> {
    ecsRolling(state);
  }

  public async trafficReport(state: ReleaseTarget, region: string): Promise<TrafficReport> {
    const target = ecsRolling(state);
    let running: string | undefined;
    try {
      running = await this.slot('runningTaskDefinition')(target.cluster, target.service);
    } catch {
      // The report must go out even when ECS is what failed: the message then says the revision is unknown.
      running = undefined;
    }
    return {
      newPercent: running === undefined ? undefined : running === target.stableTaskDefinitionArn ? 0 : 100,
      description:
        running === undefined
          ? `the task definition ECS service ${target.service} runs could not be read`
          : `ECS service ${target.service} runs task definition ${running}`,
      manualRollback: {
        service: target.service,
        previousTaskDefinition: target.stableTaskDefinitionArn,
        command: `aws ecs update-service --region ${region} --cluster ${target.cluster} --service ${target.service} --task-definition ${target.stableTaskDefinitionArn}`,
      },
    };
  }

  public testUrl(state: ReleaseTarget): string | undefined {
    ecsRolling(state);
    return undefined;
  }

  public names(state: ReleaseTarget): TargetNames {
    const target = ecsRolling(state);
    return {
      newPlace: target.service,
      stablePlace: target.service,
      newUnit: target.service,
      stableUnit: target.service,
    };
  }

  public promotedRecord(_state: ReleaseTarget, rollout: Rollout): StableRecord {
    return { stableTaskDefinitionArn: rollout.taskDefinitionArn };
  }

  public restoredRecord(state: ReleaseTarget): StableRecord {
    return { stableTaskDefinitionArn: ecsRolling(state).stableTaskDefinitionArn };
  }
}
