import { now } from '../clock.ts';
import { versionLabel } from '../domain/names.ts';
import type { CaughtFailure, Deployment, ReleaseRequest } from '../domain/types.ts';
import { TargetStateError } from '../errors.ts';
import { notifyBestEffort, notifyOnce } from './notify.ts';
import type { PipelineSettings, ReleasePorts } from './ports.ts';
import { releaseLockAndWakeNext } from './release-lock.ts';
import { routeOf, setCanaryPercent } from './shift-traffic.ts';

/** Errors raised by the state machine's own decisions carry a person-readable cause. */
const DECISION_ERRORS = new Set(['BakeFailed', 'SlotNotSteady']);

/** The reason a person reads, from a caught `{ Error, Cause }`. */
export const reasonFromFailure = (failure: CaughtFailure | undefined): string => {
  if (!failure) return 'unknown failure';
  const cause = parseCause(failure.Cause);
  if (DECISION_ERRORS.has(failure.Error)) return cause || failure.Error;
  return cause ? `${failure.Error}: ${cause}` : failure.Error;
};

/** Lambda errors arrive as a JSON Cause (`{"errorMessage": ...}`); decision errors as plain text. */
const parseCause = (cause: string | undefined): string => {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text cause
  }
  return cause;
};

/** What every notification about a planned release says: which service, release and versions. */
const releaseFacts = (
  deployment: Deployment,
  settings: PipelineSettings,
  executionArn: string | undefined,
) => ({
  service: deployment.service,
  releaseId: deployment.id,
  ...(executionArn ? { executionArn } : {}),
  fromVersion: deployment.fromVersion,
  toVersion: deployment.toVersion,
  region: settings.region,
});

/**
 * Promotion: the new slot already serves 100% after the last bake. The release record is marked promoted,
 * then the service state records the new slot as stable: that write is the commit point and the last
 * step that may fail (a failure before it leads to rollback, and the old slot is still warm). People are
 * told best effort; the lock is handed on by the next state.
 */
export const promoteRelease = async (
  ports: Pick<ReleasePorts, 'store' | 'router' | 'notifier'>,
  settings: PipelineSettings,
  deployment: Deployment,
  executionArn: string | undefined,
  /** The revision the new slot runs (registered by the deploy step); it becomes the stable one. */
  newTaskDefinitionArn: string,
): Promise<{ outcome: 'promoted'; servingVersion: string; servingSlot: string; warnings: string[] }> => {
  const result = {
    outcome: 'promoted' as const,
    servingVersion: deployment.toVersion,
    servingSlot: deployment.target.canary.name,
    warnings: [] as string[],
  };
  if (!(await ports.store.isLatestRelease(deployment.service, deployment.id))) {
    throw new TargetStateError(
      `another release has taken ${deployment.service} over; ${deployment.id} cannot be promoted`,
    );
  }
  // The last step already sent 100% to the new slot; only a plan that ends lower needs a final shift.
  const weights = await ports.router.readWeights(routeOf(deployment));
  if ((weights[deployment.target.canary.targetGroupArn] ?? 0) !== 100)
    await setCanaryPercent(ports.router, deployment, 100);
  const at = now().toISOString();
  await ports.store.updateRecord(deployment.service, deployment.requestedAt, deployment.id, {
    status: 'promoted',
    endedAt: at,
    currentPercent: 100,
  });
  const committed = await ports.store.recordPromotion({
    service: deployment.service,
    stableSlot: deployment.target.canary.name,
    stableVersion: deployment.toVersion,
    stableTaskDefinitionArn: newTaskDefinitionArn,
    latestRelease: deployment.id,
    updatedAt: at,
  });
  if (!committed) {
    throw new TargetStateError(
      `another release has taken ${deployment.service} over; ${deployment.id} cannot be promoted`,
    );
  }
  await notifyBestEffort(
    ports,
    deployment.topicArn,
    {
      ...releaseFacts(deployment, settings, executionArn),
      kind: 'promoted',
      reason: `all ${deployment.plan.steps.length} steps passed`,
      details: {
        servingSlot: deployment.target.canary.name,
        oldSlotScaleDownInSeconds: deployment.target.scaleDownDelaySeconds,
      },
    },
    result.warnings,
  );
  return result;
};

/**
 * After promotion: releases the lock and wakes the queued release. Its own state, retried until it
 * succeeds: a failure here must neither roll the promoted release back nor strand the next one.
 */
export const handOffService = async (
  ports: Pick<ReleasePorts, 'store' | 'tokens'>,
  deployment: Deployment,
): Promise<{ released: boolean; woke: string | null }> => {
  const { released, woke } = await releaseLockAndWakeNext(ports, deployment.service, deployment.id);
  return { released, woke: woke ?? null };
};

/**
 * After the warm period, scale the old slot to zero, unless a newer release has taken that slot since
 * (then it is that release's canary, and it is left alone).
 */
export const scaleDownOldSlot = async (
  ports: Pick<ReleasePorts, 'store' | 'deployer'>,
  deployment: Deployment,
): Promise<{ scaledDown: boolean; reason: string }> => {
  const oldSlot = deployment.target.stable;
  if (!(await ports.store.isLatestRelease(deployment.service, deployment.id))) {
    return { scaledDown: false, reason: `a newer release has taken ${oldSlot.service}` };
  }
  await ports.deployer.scale(deployment.target.cluster, oldSlot.service, 0);
  return { scaledDown: true, reason: `${oldSlot.service} scaled to 0 after the warm period` };
};

/**
 * Rollback: all traffic back to the stable slot first (that is what stops the harm), then the new slot
 * scaled to zero, the watches cleared, the records written, people told, and the lock handed on last.
 * Every step is idempotent, so the state machine may retry it; a retry after another release took the
 * service over (after this one let go of the lock) leaves traffic and slots alone.
 */
export const rollBackRelease = async (
  ports: Pick<ReleasePorts, 'store' | 'router' | 'deployer' | 'notifier' | 'tokens'>,
  settings: PipelineSettings,
  deployment: Deployment,
  failure: CaughtFailure | undefined,
  executionArn: string | undefined,
): Promise<{ outcome: 'rolled_back'; reason: string; servingVersion: string; warnings: string[] }> => {
  const reason = reasonFromFailure(failure);
  const warnings: string[] = [];
  const owner = await ports.store.isLatestRelease(deployment.service, deployment.id);
  if (owner) {
    await setCanaryPercent(ports.router, deployment, 0);
    await ports.deployer.scale(deployment.target.cluster, deployment.target.canary.service, 0);
  }
  await ports.store.clearAlarmWatches(deployment.alarms, deployment.id);
  const at = now().toISOString();
  if (owner) {
    // The stable slot is recorded again: a failure during promotion may already have recorded the new one.
    await ports.store.recordPromotion({
      service: deployment.service,
      stableSlot: deployment.target.stable.name,
      stableVersion: deployment.fromVersion,
      stableTaskDefinitionArn: deployment.target.stableTaskDefinitionArn,
      latestRelease: deployment.id,
      updatedAt: at,
    });
  }
  await ports.store.updateRecord(deployment.service, deployment.requestedAt, deployment.id, {
    status: 'rolled_back',
    endedAt: at,
    currentPercent: 0,
    reason,
  });
  await notifyBestEffort(
    ports,
    deployment.topicArn,
    {
      ...releaseFacts(deployment, settings, executionArn),
      kind: 'rolled_back',
      reason,
      details: { servingSlot: deployment.target.stable.name },
    },
    warnings,
  );
  await releaseLockAndWakeNext(ports, deployment.service, deployment.id);
  return { outcome: 'rolled_back', reason, servingVersion: deployment.fromVersion, warnings };
};

export const REPORT_KINDS = ['failed', 'superseded', 'rollback_failed', 'ignored'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/**
 * Ends a release that did not reach promotion or a clean rollback: records it, releases the lock if
 * this release holds it, and notifies. A failed rollback is reported loudly: traffic may be split.
 * An `ignored` release (its digest already serves) is recorded and hands the lock on, but tells nobody:
 * nothing happened.
 */
export const reportRelease = async (
  ports: Pick<ReleasePorts, 'store' | 'notifier' | 'tokens'>,
  settings: PipelineSettings,
  input: {
    kind: ReportKind;
    request: ReleaseRequest;
    releaseId: string;
    executionArn?: string;
    deployment?: Deployment;
    failure?: CaughtFailure;
    /** For a failed rollback: why the rollback started. */
    rolledBackBecause?: CaughtFailure;
    supersededBy?: string;
    /** For an ignored release: why there was nothing to release. */
    reason?: string;
    topicArn: string;
  },
): Promise<{ outcome: 'failed' | 'superseded' | 'ignored'; reason: string }> => {
  const { request, deployment } = input;
  const reason =
    input.kind === 'ignored'
      ? (input.reason ?? 'already serving')
      : input.kind === 'superseded'
        ? `superseded by newer release ${input.supersededBy ?? 'unknown'}`
        : input.kind === 'rollback_failed'
          ? `rollback failed (${reasonFromFailure(input.failure)})${input.rolledBackBecause ? ` while rolling back because ${reasonFromFailure(input.rolledBackBecause)}` : ''}; traffic may still be split between the slots: check the listener rule and run the rollback by hand`
          : reasonFromFailure(input.failure);
  const at = now().toISOString();
  const status = input.kind === 'superseded' || input.kind === 'ignored' ? input.kind : 'failed';
  await ports.store.putRecord({
    service: request.service,
    releaseId: input.releaseId,
    requestedAt: request.requestedAt,
    status,
    toVersion: deployment?.toVersion ?? versionLabel(request.image),
    ...(deployment ? { fromVersion: deployment.fromVersion, startedAt: deployment.startedAt } : {}),
    ...(input.executionArn ? { executionArn: input.executionArn } : {}),
    endedAt: at,
    reason,
  });
  if (input.kind !== 'superseded') await releaseLockAndWakeNext(ports, request.service, input.releaseId);
  if (input.kind === 'ignored') return { outcome: status, reason };
  await notifyOnce(ports, deployment?.topicArn ?? input.topicArn, {
    kind: input.kind,
    service: request.service,
    releaseId: input.releaseId,
    ...(input.executionArn ? { executionArn: input.executionArn } : {}),
    ...(deployment ? { fromVersion: deployment.fromVersion } : {}),
    toVersion: deployment?.toVersion ?? versionLabel(request.image),
    region: settings.region,
    reason,
    ...(input.supersededBy ? { details: { supersededBy: input.supersededBy } } : {}),
  });
  return { outcome: status, reason };
};
