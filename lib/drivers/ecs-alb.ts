import type { EcsAlbTargetConfig, ServiceConfig } from '../config/schema.ts';
import { describeTraffic, manualRollback, type SlotWeights } from '../domain/manual-rollback.ts';
import type { EcsAlbTarget, ReleaseTarget, Rollout, SlotName, SlotRef } from '../domain/types.ts';
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
import type { TrafficRoute, TrafficRouter } from '../ports/traffic-router.ts';

const otherSlot = (slot: SlotName): SlotName => (slot === 'blue' ? 'green' : 'blue');

/** The ECS-and-ALB state of a release; any other kind reaching this driver is a bug in the wiring. */
const ecsAlb = (target: ReleaseTarget): EcsAlbTarget => {
  if (target.type !== 'ecs-alb') {
    throw new TargetStateError(`the ecs-alb driver cannot act on a ${String(target.type)} target`);
  }
  return target;
};

/**
 * The test route's fields when the service declares them (`target.testListenerRuleArn`, `target.testUrl`;
 * read by name so this driver works before and after the config schema declares them).
 */
const optionalTargetFields = (
  declared: EcsAlbTargetConfig,
): Pick<EcsAlbTarget, 'testListenerRuleArn' | 'testUrl'> => ({
  ...(declared.testListenerRuleArn !== undefined
    ? { testListenerRuleArn: declared.testListenerRuleArn }
    : {}),
  ...(declared.testUrl !== undefined ? { testUrl: declared.testUrl } : {}),
});

const routeOf = (target: EcsAlbTarget): TrafficRoute => ({
  kind: 'alb-listener-rule',
  listenerRuleArn: target.listenerRuleArn,
});

/**
 * The ports the driver is built from. A function passes only those it calls (the rest stay out of its
 * bundle and its role): e.g. roll-back needs the router and `scale`, never `deployImage`.
 */
export interface EcsAlbDriverPorts {
  router?: TrafficRouter;
  slots?: Partial<SlotDeployer>;
}

/**
 * The ecs-alb target: two ECS services (blue and green slots) registered in two target groups that one
 * ALB listener rule forwards to by weight. The new version goes to the idle slot; traffic moves by the
 * weights; rollback puts 100% back on the stable slot and scales the new one to 0; retire scales the old
 * slot to 0 after the warm period.
 */
export class EcsAlbDriver implements TargetDriver {
  public constructor(private readonly ports: EcsAlbDriverPorts) {}

  private router(): TrafficRouter {
    if (!this.ports.router)
      throw new TargetStateError('the ecs-alb driver was built without a traffic router');
    return this.ports.router;
  }

  private slot<K extends keyof SlotDeployer>(method: K): SlotDeployer[K] {
    const found = this.ports.slots?.[method];
    if (!found) throw new TargetStateError(`the ecs-alb driver was built without ECS ${method}`);
    return found.bind(this.ports.slots) as SlotDeployer[K];
  }

  private async weights(target: EcsAlbTarget): Promise<SlotWeights> {
    const weights = await this.router().readWeights(routeOf(target));
    return {
      stable: weights[target.stable.targetGroupArn] ?? 0,
      canary: weights[target.canary.targetGroupArn] ?? 0,
    };
  }

  /**
   * The slot at 100% is stable (if traffic is split, e.g. after an interrupted release, the recorded stable
   * slot wins, else the heavier one); the other slot receives the new version.
   */
  public async snapshot(
    service: ServiceConfig,
    recorded: () => Promise<ServiceState | undefined>,
  ): Promise<ServingSnapshot> {
    const declared = service.target;
    if (declared.type !== 'ecs-alb') {
      throw new TargetStateError(`the ecs-alb driver cannot release an ${declared.type} target`);
    }
    const slotRef = (name: SlotName): SlotRef => ({
      name,
      service: declared.slots[name].service,
      targetGroupArn: declared.slots[name].targetGroupArn,
    });
    const slots: Record<SlotName, SlotRef> = { blue: slotRef('blue'), green: slotRef('green') };
    const weights = await this.router().readWeights({
      kind: 'alb-listener-rule',
      listenerRuleArn: declared.listenerRuleArn,
    });
    for (const slot of Object.values(slots)) {
      if (!(slot.targetGroupArn in weights)) {
        throw new TargetStateError(
          `listener rule ${declared.listenerRuleArn} does not forward to the ${slot.name} target group ${slot.targetGroupArn}`,
        );
      }
    }
    const lastPromotion = await recorded();
    const blueWeight = weights[slots.blue.targetGroupArn] ?? 0;
    const greenWeight = weights[slots.green.targetGroupArn] ?? 0;
    const stableName: SlotName =
      blueWeight === 100
        ? 'blue'
        : greenWeight === 100
          ? 'green'
          : (lastPromotion?.stableSlot ?? (blueWeight >= greenWeight ? 'blue' : 'green'));
    const stable = slots[stableName];
    const canary = slots[otherSlot(stableName)];
    const canaryWeight = weights[canary.targetGroupArn] ?? 0;
    const status = await this.slot('describeSlot')(declared.cluster, stable.service, declared.container);
    if (status.desiredCount < 1) {
      throw new TargetStateError(
        `the stable slot ${stable.service} runs no tasks (desiredCount 0): nothing to release from`,
      );
    }
    // A split is put back on the stable slot before the new version is deployed (and by any rollback):
    // a slot short of its tasks would then take all production traffic (ALB answers 503 for an empty one).
    if (weights[stable.targetGroupArn] !== 100 && status.runningCount < status.desiredCount) {
      throw new TargetStateError(
        `traffic is split (blue ${blueWeight}% / green ${greenWeight}%) and the stable slot ${stable.service} runs ${status.runningCount} of ${status.desiredCount} tasks: the release would put all traffic on it first; let it run its tasks (or set the weights by hand), then release again`,
      );
    }
    return {
      target: {
        type: 'ecs-alb',
        cluster: declared.cluster,
        container: declared.container,
        listenerRuleArn: declared.listenerRuleArn,
        stable,
        canary,
        desiredCount: status.desiredCount,
        stableTaskDefinitionArn: status.taskDefinitionArn,
        ...optionalTargetFields(declared),
      },
      servingImage: status.image,
      ...(status.version ? { servingVersion: status.version } : {}),
      servesAll: (weights[stable.targetGroupArn] ?? 0) === 100,
      alarms: declared.slots[canary.name].alarms,
      planContext: { newSlot: canary.name },
      details: {
        newSlot: canary.name,
        // Told when the release starts: its deploy step puts the new slot's share back on the stable one.
        ...(canaryWeight > 0
          ? {
              splitAtStart: `blue ${blueWeight}% / green ${greenWeight}%: ${canary.name} is taken out of production (all traffic on ${stable.name}) before the new version is deployed there`,
            }
          : {}),
      },
      trafficSeen: { blue: blueWeight, green: greenWeight },
    };
  }

  public async trafficChangedSince(
    state: ReleaseTarget,
    snapshot: ServingSnapshot,
    releaseId: string,
  ): Promise<string | undefined> {
    const target = ecsAlb(state);
    const now = await this.weights(target);
    const after: Record<string, number> = {
      [target.stable.name]: now.stable,
      [target.canary.name]: now.canary,
    };
    const before = snapshot.trafficSeen;
    if ((after.blue ?? 0) === (before.blue ?? 0) && (after.green ?? 0) === (before.green ?? 0))
      return undefined;
    return `the weights on ${target.listenerRuleArn} changed while ${releaseId} planned (blue ${before.blue ?? 0}% / green ${before.green ?? 0}%, now blue ${after.blue ?? 0}% / green ${after.green ?? 0}%)`;
  }

  /**
   * Registers a task definition revision pinned to the digest and rolls it out to the idle slot. A slot
   * that still takes a share of production traffic (a split an interrupted release or a manual change
   * left: a release stopped at 25%) is first taken out of production, all traffic on the stable slot:
   * otherwise the new version would serve that share as its tasks come up, before any check or bake.
   */
  public async deploy(
    state: ReleaseTarget,
    release: { imageUri: string; version: string; releaseId: string },
  ): Promise<Rollout & { tookOutOfProduction?: number }> {
    const target = ecsAlb(state);
    const { canary } = await this.weights(target);
    if (canary > 0) await this.setTraffic(state, 0);
    const rollout = await this.slot('deployImage')({
      cluster: target.cluster,
      service: target.canary.service,
      container: target.container,
      baseTaskDefinitionArn: target.stableTaskDefinitionArn,
      imageUri: release.imageUri,
      version: release.version,
      desiredCount: target.desiredCount,
      releaseId: release.releaseId,
    });
    // The share the slot took is told with the deploy step (a production change people did not ask for).
    return canary > 0 ? { ...rollout, tookOutOfProduction: canary } : rollout;
  }

  /**
   * A completed deployment is ready only with the tasks the new slot must run: traffic is never shifted to
   * a slot that runs fewer tasks than the stable one (ALB would answer 503 for an empty one).
   */
  public async readiness(state: ReleaseTarget, rollout: Rollout, version: string): Promise<Readiness> {
    const target = ecsAlb(state);
    const { canary, desiredCount } = target;
    const status = await this.slot('describeSlot')(target.cluster, canary.service, target.container);
    const deployment = status.deployment;
    if (deployment?.id !== rollout.deploymentId) {
      return {
        state: 'replaced',
        reason: `deployment ${rollout.deploymentId} of ${canary.service} was replaced by another deployment`,
      };
    }
    if (deployment.rolloutState === 'IN_PROGRESS') {
      return { state: 'in-progress', reason: `new slot ${canary.service} is not steady yet` };
    }
    if (deployment.rolloutState === 'FAILED') {
      return {
        state: 'failed',
        reason: `new slot ${canary.service} failed to become steady${deployment.reason ? `: ${deployment.reason}` : ''}`,
      };
    }
    if (status.runningCount < desiredCount) {
      return {
        state: 'failed',
        reason: `new slot ${canary.service} runs ${status.runningCount} of ${desiredCount} tasks`,
      };
    }
    return { state: 'ready', reason: `${canary.service} is steady on ${version}` };
  }

  public async setTraffic(state: ReleaseTarget, percent: number): Promise<void> {
    const target = ecsAlb(state);
    await this.router().setWeights(routeOf(target), {
      stable: target.stable.targetGroupArn,
      canary: target.canary.targetGroupArn,
      canaryPercent: percent,
    });
  }

  public async newVersionPercent(state: ReleaseTarget): Promise<number> {
    return (await this.weights(ecsAlb(state))).canary;
  }

  /**
   * ModifyRule on the test listener rule: forward all of it to the new slot's target group (on), or to the
   * stable slot's (off). The rule's other actions are kept, as for the production rule.
   */
  public async setTestTraffic(state: ReleaseTarget, on: boolean): Promise<void> {
    const target = ecsAlb(state);
    if (!target.testListenerRuleArn) {
      throw new TargetStateError(
        `a test-traffic step needs target.testListenerRuleArn, and the service declares none (production rule ${target.listenerRuleArn})`,
      );
    }
    await this.router().setWeights(
      { kind: 'alb-listener-rule', listenerRuleArn: target.testListenerRuleArn },
      {
        stable: target.stable.targetGroupArn,
        canary: target.canary.targetGroupArn,
        canaryPercent: on ? 100 : 0,
      },
    );
  }

  /**
   * Reads first: a retry after the weights were restored changes nothing on the listener rule, and still
   * reaches the scale-down (a failure between the two must not leave the new slot running). Production
   * first, then the new slot, then the test route: the route carries no production traffic, so a test rule
   * that fails (deleted, throttled) must not leave the new version running while the rollback retries.
   */
  public async rollBack(state: ReleaseTarget): Promise<undefined> {
    const target = ecsAlb(state);
    const weights = await this.weights(target);
    if (weights.stable !== 100 || weights.canary !== 0) await this.setTraffic(target, 0);
    await this.slot('scale')(target.cluster, target.canary.service, 0);
    // The test route goes back to the stable slot too (the new one now runs no tasks).
    if (target.testListenerRuleArn) {
      const route = { kind: 'alb-listener-rule' as const, listenerRuleArn: target.testListenerRuleArn };
      const test = await this.router().readWeights(route);
      if ((test[target.canary.targetGroupArn] ?? 0) !== 0) await this.setTestTraffic(target, false);
    }
    return undefined;
  }

  public async retire(state: ReleaseTarget): Promise<void> {
    const target = ecsAlb(state);
    await this.slot('scale')(target.cluster, target.stable.service, 0);
  }

  public async trafficReport(state: ReleaseTarget, region: string): Promise<TrafficReport> {
    const target = ecsAlb(state);
    let weights: SlotWeights | undefined;
    try {
      weights = await this.weights(target);
    } catch {
      // The report must go out even when ELB is what failed: the message then says the weights are unknown.
      weights = undefined;
    }
    return {
      newPercent: weights?.canary,
      description: describeTraffic(target, weights),
      manualRollback: manualRollback(target, region, weights),
    };
  }

  public testUrl(state: ReleaseTarget): string | undefined {
    return ecsAlb(state).testUrl;
  }

  public names(state: ReleaseTarget): TargetNames {
    const target = ecsAlb(state);
    return {
      newPlace: target.canary.name,
      stablePlace: target.stable.name,
      newUnit: target.canary.service,
      stableUnit: target.stable.service,
    };
  }

  public promotedRecord(state: ReleaseTarget, rollout: Rollout): StableRecord {
    return { stableSlot: ecsAlb(state).canary.name, stableTaskDefinitionArn: rollout.taskDefinitionArn };
  }

  public restoredRecord(state: ReleaseTarget): StableRecord {
    const target = ecsAlb(state);
    return { stableSlot: target.stable.name, stableTaskDefinitionArn: target.stableTaskDefinitionArn };
  }
}
