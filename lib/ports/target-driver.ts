import type { ServiceConfig } from '../config/schema.ts';
import type { ReleaseTarget, Rollout } from '../domain/types.ts';
import type { ServiceState } from './release-store.ts';

/**
 * One driver per target kind (ECS slots behind an ALB today; ECS rolling next). Use cases speak to a target
 * only through this port: they never read the fields of one kind's state (`Deployment.target`), they hand
 * it back to the driver. The driver keeps the platform's words (slots, target groups, services) inside.
 *
 * How each kind fits:
 * - ecs-alb: two slots; deploy goes to the idle slot, traffic moves by target-group weights, a test route
 *   is a test listener rule, rollback puts all traffic back and scales the new slot to 0, retire scales
 *   the old slot to 0.
 * - ecs-rolling: one service; deploy is UpdateService with the circuit breaker, readiness is the
 *   rollout's completion (the alarms count during it), there is no traffic to set (`setTraffic` to 100 is a
 *   no-op, a partial shift is refused by the plan builder), rollback deploys the previous task definition
 *   again, retire has nothing to scale.
 */

/** What a person reads about where the new and the stable version run (e.g. slot names). */
export interface TargetNames {
  /** Where the new version runs, e.g. "green". */
  newPlace: string;
  /** Where the stable version runs, e.g. "blue". */
  stablePlace: string;
  /** The unit of compute the new version runs in, e.g. the ECS service "checkout-green". */
  newUnit: string;
  /** The unit of compute the stable version runs in, e.g. the ECS service "checkout-blue". */
  stableUnit: string;
}

/** What serves the service now, read before anything changes. */
export interface ServingSnapshot {
  /** The driver's per-kind state for this release: it goes to `Deployment.target` as it is. */
  target: ReleaseTarget;
  /** The image the stable version runs (URI with its digest). */
  servingImage: string;
  /** The version label recorded with the stable version, if any. */
  servingVersion?: string;
  /** True when the stable version takes all production traffic (nothing is split). */
  servesAll: boolean;
  /** The alarms of where the new version goes (e.g. the new slot's), watched with the service's own. */
  alarms: string[];
  /** What the plan depends on besides the config (e.g. the slot the new version goes to). */
  planContext: { newSlot?: 'blue' | 'green' };
  /** Facts for the `started` notification, e.g. `{ newSlot: 'green' }`. */
  details: Record<string, string>;
  /** Production traffic per place as read, in percent (e.g. `{ blue: 100, green: 0 }`). */
  trafficSeen: Record<string, number>;
}

/** How a rollout stands. `ready`: the new version runs its full task count and may take traffic. */
export interface Readiness {
  state: 'in-progress' | 'ready' | 'failed' | 'replaced';
  reason: string;
}

/** Traffic as it is now, in the driver's words for a person, and what to do by hand if a rollback failed. */
export interface TrafficReport {
  /** Share of production traffic the new version takes, or undefined when it could not be read. */
  newPercent: number | undefined;
  /** "traffic is split: blue 75% / green 25%", or why it could not be read. */
  description: string;
  /** The exact commands and references a person needs to finish a rollback by hand. */
  manualRollback: Record<string, unknown>;
}

/** What the release store records as stable for this kind (the slot and the revision it runs). */
export type StableRecord = Pick<ServiceState, 'stableSlot' | 'stableTaskDefinitionArn'>;

export interface TargetDriver {
  /**
   * Reads what serves now and builds this release's target state. Refuses (TargetStateError, naming what
   * is wrong) a target that cannot take a release: traffic not routed to the declared slots, a stable
   * version with no tasks. The last promotion (`recorded`, read only once the target checked out) decides
   * what is stable when live traffic does not.
   */
  snapshot(
    service: ServiceConfig,
    recorded: () => Promise<ServiceState | undefined>,
  ): Promise<ServingSnapshot>;
  /**
   * After the release claimed the service: a sentence saying how production traffic changed while
   * `releaseId` planned (an older release's rollback moved it), or undefined if it did not.
   */
  trafficChangedSince(
    target: ReleaseTarget,
    snapshot: ServingSnapshot,
    releaseId: string,
  ): Promise<string | undefined>;
  /** Starts the new version where it takes no production traffic yet; idempotent for one release. */
  deploy(
    target: ReleaseTarget,
    release: { imageUri: string; version: string; releaseId: string },
  ): Promise<Rollout & { tookOutOfProduction?: number }>;
  /** How the rollout stands now (the lost-event guard and the check when the wait starts). */
  readiness(target: ReleaseTarget, rollout: Rollout, version: string): Promise<Readiness>;
  /** Sends `percent` of production traffic to the new version, the rest to the stable one, in one call. */
  setTraffic(target: ReleaseTarget, percent: number): Promise<void>;
  /** Share of production traffic the new version takes now. */
  newVersionPercent(target: ReleaseTarget): Promise<number>;
  /** Points the test route at the new version (`on`) or back at the stable one. */
  setTestTraffic(target: ReleaseTarget, on: boolean): Promise<void>;
  /**
   * All production traffic back on the stable version, then the new version stopped. Idempotent. Returns a
   * note for the people told when the stable version is not back at once (e.g. it is rolling back in).
   */
  rollBack(target: ReleaseTarget): Promise<{ note?: string } | undefined>;
  /** After the warm period: stops the old version. */
  retire(target: ReleaseTarget): Promise<void>;
  /** Traffic now for a failed rollback's report; never throws (undefined figures when unreadable). */
  trafficReport(target: ReleaseTarget, region: string): Promise<TrafficReport>;
  /** The URL the test route answers on, for smoke tests (undefined when the service declares none). */
  testUrl(target: ReleaseTarget): string | undefined;
  /** Names a person reads. */
  names(target: ReleaseTarget): TargetNames;
  /** What the store records as stable once the new version is promoted (its rollout's revision). */
  promotedRecord(target: ReleaseTarget, rollout: Rollout): StableRecord;
  /** What the store records as stable after a rollback (the stable version as it was). */
  restoredRecord(target: ReleaseTarget): StableRecord;
}
