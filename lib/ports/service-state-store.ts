import type { SlotName } from '../domain/types.ts';
import type { ServiceRef } from './service-ref.ts';

/** What serves a service, as the pipeline last left it. */
export interface ServiceState {
  service: string;
  /** The slot at 100% (ecs-alb); a rolling service has none. */
  stableSlot?: SlotName;
  stableVersion: string;
  stableTaskDefinitionArn: string;
  /** The latest release that took the idle slot; a delayed scale-down of that slot is skipped if a newer one has. */
  latestRelease: string;
  updatedAt: string;
}

/**
 * What serves each service, and which release owns it: every write is conditional on the release still
 * being the latest, so a slow older release never overwrites a newer one.
 */
export interface ServiceStateStore {
  /** The recorded state, or undefined while nothing was promoted (only an idle-slot claim is recorded). */
  read(ref: ServiceRef): Promise<ServiceState | undefined>;
  /**
   * Marks `releaseId` as the latest release to take the idle slot. Refused with `ServiceBusyError`
   * (retried by the state for minutes) while another release holds the rollback fence.
   */
  claimIdleSlot(ref: ServiceRef, releaseId: string): Promise<void>;
  /**
   * Atomically checks that `releaseId` is still the latest release and, if so, fences the service for
   * `seconds`: no newer release may claim a slot until the fence expires or a promotion clears it.
   * False if a newer release already owns the service.
   */
  fenceForRollback(ref: ServiceRef, releaseId: string, seconds: number): Promise<boolean>;
  /**
   * Records which slot and version are stable (and clears the fence). Conditional on `state.latestRelease`
   * still being the latest release: false (and nothing written) if a newer release has taken over.
   */
  recordPromotion(ref: ServiceRef, state: ServiceState): Promise<boolean>;
  /** True if `releaseId` is still the latest release (nobody took the idle slot since). */
  isLatestRelease(ref: ServiceRef, releaseId: string): Promise<boolean>;
  /**
   * True while the rollback of `releaseId`, the latest release, holds the service's fence: it has begun
   * and has neither recorded the stable slot again (which clears the fence) nor let the fence lapse.
   */
  isRollingBack(ref: ServiceRef, releaseId: string): Promise<boolean>;
}
