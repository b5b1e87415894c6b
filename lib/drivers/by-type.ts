import type { ServiceConfig } from '../config/schema.ts';
import type { ReleaseTarget, Rollout } from '../domain/types.ts';
import { TargetStateError } from '../errors.ts';
import type { ServiceState } from '../ports/release-store.ts';
import type {
  Readiness,
  ServingSnapshot,
  StableRecord,
  TargetDriver,
  TargetNames,
  TrafficReport,
} from '../ports/target-driver.ts';

/** One driver per target kind, keyed by the `type` of the config's and the release's target. */
export type DriversByType = Record<ReleaseTarget['type'], TargetDriver>;

/**
 * The driver a function uses: it hands each call to the driver of the target's kind (the service's declared
 * `target.type` when planning, the release's `target.type` after), so use cases stay kind-blind and one
 * function serves ecs-alb and ecs-rolling services alike.
 */
export class TargetDriverByType implements TargetDriver {
  public constructor(private readonly drivers: DriversByType) {}

  private of(type: string): TargetDriver {
    const driver = this.drivers[type as ReleaseTarget['type']];
    if (!driver) throw new TargetStateError(`no target driver for target type ${type}`);
    return driver;
  }

  public snapshot(
    service: ServiceConfig,
    recorded: () => Promise<ServiceState | undefined>,
  ): Promise<ServingSnapshot> {
    return this.of(service.target.type).snapshot(service, recorded);
  }

  public trafficChangedSince(
    target: ReleaseTarget,
    snapshot: ServingSnapshot,
    releaseId: string,
  ): Promise<string | undefined> {
    return this.of(target.type).trafficChangedSince(target, snapshot, releaseId);
  }

  public deploy(
    target: ReleaseTarget,
    release: { imageUri: string; version: string; releaseId: string },
  ): Promise<Rollout> {
    return this.of(target.type).deploy(target, release);
  }

  public readiness(target: ReleaseTarget, rollout: Rollout, version: string): Promise<Readiness> {
    return this.of(target.type).readiness(target, rollout, version);
  }

  public setTraffic(target: ReleaseTarget, percent: number): Promise<void> {
    return this.of(target.type).setTraffic(target, percent);
  }

  public newVersionPercent(target: ReleaseTarget): Promise<number> {
    return this.of(target.type).newVersionPercent(target);
  }

  public setTestTraffic(target: ReleaseTarget, on: boolean): Promise<void> {
    return this.of(target.type).setTestTraffic(target, on);
  }

  public rollBack(target: ReleaseTarget): Promise<{ note?: string } | undefined> {
    return this.of(target.type).rollBack(target);
  }

  public retire(target: ReleaseTarget): Promise<void> {
    return this.of(target.type).retire(target);
  }

  public trafficReport(target: ReleaseTarget, region: string): Promise<TrafficReport> {
    return this.of(target.type).trafficReport(target, region);
  }

  public testUrl(target: ReleaseTarget): string | undefined {
    return this.of(target.type).testUrl(target);
  }

  public names(target: ReleaseTarget): TargetNames {
    return this.of(target.type).names(target);
  }

  public promotedRecord(target: ReleaseTarget, rollout: Rollout): StableRecord {
    return this.of(target.type).promotedRecord(target, rollout);
  }

  public restoredRecord(target: ReleaseTarget): StableRecord {
    return this.of(target.type).restoredRecord(target);
  }
}
