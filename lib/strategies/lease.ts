import type { ServiceConfig } from '../config/schema.ts';
import type { ReleasePlan } from '../domain/plan.ts';

/** Margin the release lock lease keeps beyond the longest release. */
export const LEASE_MARGIN_SECONDS = 3600;

/**
 * The longest a release of this plan may take, plus a margin: what its lock lease covers. Each step at its
 * longest: the steady timeout, every check's timeout, every pause's timeout, every bake (plus, with
 * `inconclusive: pause`, a pause after it), and the retire step's rollback window and warm period (the old
 * version stays warm that long; the lock is handed on at promotion, this only matters if that fails).
 */
export const leaseSecondsOf = (service: ServiceConfig, plan: ReleasePlan): number =>
  plan.steps.reduce((total, step) => {
    switch (step.kind) {
      case 'await-ready':
      case 'check':
      case 'pause':
        return total + step.timeoutSeconds;
      case 'bake':
        return total + step.seconds + (service.inconclusivePauseTimeout ?? 0);
      case 'retire':
        return total + step.rollbackWindowSeconds + step.warmAfterWindowSeconds;
      default:
        return total;
    }
  }, LEASE_MARGIN_SECONDS);
