/**
 * DORA's five software delivery performance metrics, computed from Shipline's ended release records.
 *
 * Definitions (dora.dev, "DORA's software delivery performance metrics"): throughput is measured by
 * change lead time ("the amount of time it takes for a change to go from committed to version control to
 * deployed in production"), deployment frequency ("the number of deployments over a given period or the
 * time between deployments") and failed deployment recovery time ("the time it takes to recover from a
 * deployment that fails and requires immediate intervention"); instability by change fail rate ("the ratio
 * of deployments that require immediate intervention following a deployment", likely a rollback or a
 * hotfix) and deployment rework rate ("the ratio of deployments that are unplanned but happen as a result
 * of an incident in production").
 *
 * How each maps onto a release record (one service in one environment):
 * - A deployment is an ended release whose new version took production traffic (`peakPercent` > 0: a
 *   canary step, a blue/green swap, a rolling update's rollout) and that ended promoted, rolled back or
 *   failed. A release stopped before any production traffic reached it (its slot never became steady, a
 *   check failed, it was superseded or rejected at a pause before its first shift) deployed nothing.
 * - Change lead time: from the change's commit time (`changeTime`: the image's OCI
 *   `org.opencontainers.image.created` label, else the deploy request's commit time, else the push time;
 *   its `source` says which) to the moment the release was promoted (`promotedAt`), for each promoted
 *   deployment (also one rolled back later, in its rollback window: it did run in production), except a
 *   redeploy of a version promoted before (no new change: its change time is the old build's).
 * - A failed deployment is a deployment that ended rolled back or failed: it needed immediate
 *   intervention (Shipline's automatic rollback, a person's abort, or a failed rollback left to a person).
 * - Failed deployment recovery time: from the failure's detection (`rollbackStartedAt`: the rollback starts
 *   the moment a bake fails or a person aborts) to traffic back on the good version (the rollback's end,
 *   `endedAt`). A failed deployment that was not rolled back (`failed`) recovers with the next successful
 *   deployment of the service: from its end to that deployment's promotion. One with neither is counted as
 *   not recovered yet.
 * - A rework deployment is a deployment made because of an incident: it started within
 *   {@link REWORK_WINDOW_SECONDS} after the previous deployment of the service failed (a fix forward), or
 *   it releases again the version the previous deployment replaced (a roll back by redeploying the previous
 *   image, as `shipline rollback` does once the old slot is cold).
 *
 * Performance bands: DORA's 2024 Accelerate State of DevOps report publishes four clusters of teams (elite,
 * high, medium, low) with the typical value of four of the metrics. They are clusters, not thresholds, so
 * each figure gets the best cluster whose published value it meets (see the band functions). Deployment
 * rework rate has no published band (the report that introduced it published no cluster values for it):
 * its band is `null` and the CLI says so.
 */
import type { ReleaseRecord } from '../ports/release-history.ts';
import type { ReleaseEventMessage } from './progress.ts';

/** When a change was made, and where that time came from (lead time's start). */
export type ChangeTime = NonNullable<ReleaseEventMessage['changeTime']>;
export type ChangeTimeSource = ChangeTime['source'];

/** A deployment started this long after the previous one failed is taken as a response to it (rework). */
export const REWORK_WINDOW_SECONDS = 24 * 3600;

/** DORA's performance clusters, best first. */
export const DORA_BANDS = ['elite', 'high', 'medium', 'low'] as const;
export type DoraBand = (typeof DORA_BANDS)[number];

/** The CloudWatch namespace and metric names the release-metrics function publishes (dimension Service). */
export const DORA_NAMESPACE = 'Shipline/DORA';
export const DORA_METRICS = {
  deployments: 'Deployments',
  leadTime: 'LeadTimeSeconds',
  failedDeployments: 'FailedDeployments',
  recoveryTime: 'RecoveryTimeSeconds',
  reworkDeployments: 'ReworkDeployments',
} as const;
export type DoraMetricName = (typeof DORA_METRICS)[keyof typeof DORA_METRICS];

const DAY = 86_400;

/** What one ended release counts for in DORA's metrics. */
export interface ReleaseAssessment {
  releaseId: string;
  service: string;
  environment?: string;
  endedAt: string;
  /** Its new version took production traffic: it counts as a deployment. */
  deployment: boolean;
  /** A deployment that needed immediate intervention (rolled back, or failed). */
  failed: boolean;
  /** A deployment made in response to an incident (see the module comment). */
  rework: boolean;
  /** A promoted deployment: from the change's time to its promotion. */
  leadTime?: { seconds: number; source: ChangeTimeSource; changeAt: string };
  /** A failed deployment that recovered: from detection to recovery. */
  recovery?: { seconds: number; at: string; by: 'rollback' | 'next-deployment'; byRelease?: string };
}

const ms = (iso: string): number => new Date(iso).getTime();
/** Seconds from one instant to the next, to the millisecond (a rollback takes well under a second). */
const seconds = (from: string, to: string): number => Math.max(0, Math.round(ms(to) - ms(from)) / 1000);

/** The release's change time: as recorded, else its request time (for a push, the push time). */
export const changeTimeOf = (record: ReleaseRecord): ChangeTime =>
  record.changeTime ?? { at: record.requestedAt, source: 'push' };

const isDeployment = (record: ReleaseRecord): boolean =>
  record.endedAt !== undefined &&
  (record.status === 'promoted' || record.status === 'rolled_back' || record.status === 'failed') &&
  (record.peakPercent ?? 0) > 0;

const promotionOf = (record: ReleaseRecord): string | undefined =>
  record.promotedAt ?? (record.status === 'promoted' ? record.endedAt : undefined);

/** When a failed deployment's failure was detected: the start of its rollback, else when it ended. */
const detectedAt = (record: ReleaseRecord): string => record.rollbackStartedAt ?? (record.endedAt as string);

/** Two releases of one version: the same image digest, else (no digest recorded) the same version name. */
const sameVersion = (a: ReleaseRecord, b: ReleaseRecord): boolean =>
  a.image?.digest !== undefined && b.image?.digest !== undefined
    ? a.image.digest === b.image.digest
    : a.toVersion !== undefined && a.toVersion === b.toVersion;

const byEnd = (a: ReleaseRecord, b: ReleaseRecord): number =>
  ms(a.endedAt as string) - ms(b.endedAt as string) || a.releaseId.localeCompare(b.releaseId);

/**
 * Assesses every ended release of ONE service in one environment (records in any order; records that have
 * not ended are ignored). Earlier records give the context rework needs, later ones the recovery of a
 * failure that was not rolled back: pass the history around the period of interest.
 */
export const assessReleases = (
  records: readonly ReleaseRecord[],
  options: { reworkWindowSeconds?: number } = {},
): ReleaseAssessment[] => {
  const window = options.reworkWindowSeconds ?? REWORK_WINDOW_SECONDS;
  const ended = records.filter((record) => record.endedAt !== undefined).sort(byEnd);
  const deployments = ended.filter(isDeployment);
  return ended.map((record) => {
    const deployment = isDeployment(record);
    const failed = deployment && record.status !== 'promoted';
    const index = deployments.indexOf(record);
    const previous = index > 0 ? deployments[index - 1] : undefined;
    const reworkAfterFailure =
      previous !== undefined &&
      previous.status !== 'promoted' &&
      ms(record.requestedAt) >= ms(detectedAt(previous)) &&
      ms(record.requestedAt) - ms(detectedAt(previous)) <= window * 1000;
    const undoesPrevious =
      previous !== undefined &&
      previous.status === 'promoted' &&
      previous.fromVersion !== undefined &&
      previous.fromVersion === record.toVersion &&
      previous.toVersion !== record.toVersion;
    const promotedAt = promotionOf(record);
    const change = changeTimeOf(record);
    // A version promoted before and released again (a rollback by redeploy) carries no new change: its
    // change time is the old build's, and counting it again would add the old version's age as a lead time.
    const redeploy = deployments
      .slice(0, Math.max(index, 0))
      .some((earlier) => promotionOf(earlier) !== undefined && sameVersion(earlier, record));
    const assessment: ReleaseAssessment = {
      releaseId: record.releaseId,
      service: record.service,
      ...(record.environment !== undefined ? { environment: record.environment } : {}),
      endedAt: record.endedAt as string,
      deployment,
      failed,
      rework: deployment && (reworkAfterFailure || undoesPrevious),
    };
    if (deployment && promotedAt !== undefined && !redeploy)
      assessment.leadTime = {
        seconds: seconds(change.at, promotedAt),
        source: change.source,
        changeAt: change.at,
      };
    if (failed && record.status === 'rolled_back' && record.rollbackStartedAt !== undefined)
      assessment.recovery = {
        seconds: seconds(record.rollbackStartedAt, record.endedAt as string),
        at: record.endedAt as string,
        by: 'rollback',
      };
    if (failed && record.status === 'failed') {
      const next = deployments
        .slice(index + 1)
        .find((later) => later.status === 'promoted' || later.promotedAt !== undefined);
      const recoveredAt = next ? promotionOf(next) : undefined;
      if (next && recoveredAt)
        assessment.recovery = {
          seconds: seconds(detectedAt(record), recoveredAt),
          at: recoveredAt,
          by: 'next-deployment',
          byRelease: next.releaseId,
        };
    }
    return assessment;
  });
};

/** The median of a non-empty list (the mean of the two middle values for an even count). */
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/**
 * Deployment frequency's band, from deployments per day over the period. 2024 clusters: elite "on demand
 * (multiple deploys per day)", high "between once per day and once per week", medium "between once per
 * week and once per month", low "between once per month and once every six months" (and rarer still).
 */
export const deploymentFrequencyBand = (perDay: number): DoraBand =>
  perDay > 1 ? 'elite' : perDay >= 1 / 7 ? 'high' : perDay >= 1 / 30 ? 'medium' : 'low';

/**
 * Change lead time's band, from the median lead time. 2024 clusters: elite "less than one day", high
 * "between one day and one week", medium "between one week and one month", low "between one month and six
 * months" (and longer).
 */
export const leadTimeBand = (medianSeconds: number): DoraBand =>
  medianSeconds < DAY
    ? 'elite'
    : medianSeconds <= 7 * DAY
      ? 'high'
      : medianSeconds <= 30 * DAY
        ? 'medium'
        : 'low';

/**
 * Change fail rate's band. 2024 clusters: elite 5%, high 20%, medium 10%, low 40%. The medium cluster
 * fails less often than the high one (the clusters differ by throughput), so a rate gets the best cluster
 * whose rate it does not exceed, taking clusters best first: at most 5% elite, at most 20% high, above
 * that low. Medium is never given on this figure alone.
 */
export const changeFailRateBand = (rate: number): DoraBand =>
  rate <= 0.05 ? 'elite' : rate <= 0.2 ? 'high' : 'low';

/**
 * Failed deployment recovery time's band, from the median. 2024 clusters: elite "less than one hour",
 * high and medium both "less than one day", low "between one week and one month". Under a day is high
 * (the best cluster it meets); a day or more is low (the report publishes no cluster between a day and a
 * week).
 */
export const recoveryTimeBand = (medianSeconds: number): DoraBand =>
  medianSeconds < 3600 ? 'elite' : medianSeconds < DAY ? 'high' : 'low';

/** The five figures of one service (or of several, pooled) over a period. */
export interface DoraFigures {
  period: { from: string; to: string; days: number };
  deployments: number;
  deploymentFrequency: { perDay: number; perWeek: number; band: DoraBand };
  changeLeadTime: {
    medianSeconds: number | null;
    samples: number;
    sources: Record<ChangeTimeSource, number>;
    band: DoraBand | null;
  };
  changeFailRate: { failedDeployments: number; rate: number | null; band: DoraBand | null };
  failedDeploymentRecoveryTime: {
    medianSeconds: number | null;
    samples: number;
    notRecovered: number;
    band: DoraBand | null;
  };
  deploymentReworkRate: { reworkDeployments: number; rate: number | null; band: null };
}

/**
 * The five figures over `period` from the assessments of releases that ended in it (both ends inclusive).
 * A figure with nothing to measure (no deployment, no promotion, no failure) is `null`, with no band.
 */
export const doraFigures = (
  assessments: readonly ReleaseAssessment[],
  period: { from: string; to: string },
): DoraFigures => {
  const inPeriod = assessments.filter(
    (assessment) => ms(assessment.endedAt) >= ms(period.from) && ms(assessment.endedAt) <= ms(period.to),
  );
  const deployed = inPeriod.filter((assessment) => assessment.deployment);
  const days = (ms(period.to) - ms(period.from)) / (DAY * 1000);
  const perDay = days > 0 ? deployed.length / days : 0;
  const leads = deployed.flatMap((assessment) => (assessment.leadTime ? [assessment.leadTime] : []));
  const failed = deployed.filter((assessment) => assessment.failed);
  const recoveries = failed.flatMap((assessment) =>
    assessment.recovery ? [assessment.recovery.seconds] : [],
  );
  const rework = deployed.filter((assessment) => assessment.rework).length;
  const sources: Record<ChangeTimeSource, number> = { 'oci-label': 0, 'deploy-request': 0, push: 0 };
  for (const lead of leads) sources[lead.source] += 1;
  const leadMedian = leads.length > 0 ? median(leads.map((lead) => lead.seconds)) : null;
  const failRate = deployed.length > 0 ? failed.length / deployed.length : null;
  const recoveryMedian = recoveries.length > 0 ? median(recoveries) : null;
  return {
    period: { from: period.from, to: period.to, days },
    deployments: deployed.length,
    deploymentFrequency: { perDay, perWeek: perDay * 7, band: deploymentFrequencyBand(perDay) },
    changeLeadTime: {
      medianSeconds: leadMedian,
      samples: leads.length,
      sources,
      band: leadMedian === null ? null : leadTimeBand(leadMedian),
    },
    changeFailRate: {
      failedDeployments: failed.length,
      rate: failRate,
      band: failRate === null ? null : changeFailRateBand(failRate),
    },
    failedDeploymentRecoveryTime: {
      medianSeconds: recoveryMedian,
      samples: recoveries.length,
      notRecovered: failed.length - recoveries.length,
      band: recoveryMedian === null ? null : recoveryTimeBand(recoveryMedian),
    },
    deploymentReworkRate: {
      reworkDeployments: rework,
      rate: deployed.length > 0 ? rework / deployed.length : null,
      band: null,
    },
  };
};

/** One CloudWatch datapoint a release's end publishes, with the key that makes it publish once. */
export interface DoraDatapoint {
  metric: DoraMetricName;
  value: number;
  unit: 'Count' | 'Seconds';
  /** Publish once per (release, key): a redelivered event or a later end of the same release adds nothing. */
  once: { releaseId: string; key: 'deployment' | 'lead-time' | 'failure' | 'recovery' };
}

/**
 * The datapoints the end of release `releaseId` publishes, from the assessments of its service's recent
 * history (including it). CloudWatch statistics over them give the five figures: Sum(Deployments) per
 * period (frequency), p50(LeadTimeSeconds), Sum(FailedDeployments)/Sum(Deployments),
 * p50(RecoveryTimeSeconds) and Sum(ReworkDeployments)/Sum(Deployments). A promotion that ends an earlier
 * failure (one that was not rolled back) also publishes that failure's recovery time.
 */
export const datapointsForRelease = (
  assessments: readonly ReleaseAssessment[],
  releaseId: string,
): DoraDatapoint[] => {
  const assessment = assessments.find((candidate) => candidate.releaseId === releaseId);
  if (!assessment?.deployment) return [];
  const points: DoraDatapoint[] = [
    { metric: DORA_METRICS.deployments, value: 1, unit: 'Count', once: { releaseId, key: 'deployment' } },
  ];
  if (assessment.rework)
    points.push({
      metric: DORA_METRICS.reworkDeployments,
      value: 1,
      unit: 'Count',
      once: { releaseId, key: 'deployment' },
    });
  if (assessment.leadTime)
    points.push({
      metric: DORA_METRICS.leadTime,
      value: assessment.leadTime.seconds,
      unit: 'Seconds',
      once: { releaseId, key: 'lead-time' },
    });
  if (assessment.failed)
    points.push({
      metric: DORA_METRICS.failedDeployments,
      value: 1,
      unit: 'Count',
      once: { releaseId, key: 'failure' },
    });
  if (assessment.recovery?.by === 'rollback')
    points.push({
      metric: DORA_METRICS.recoveryTime,
      value: assessment.recovery.seconds,
      unit: 'Seconds',
      once: { releaseId, key: 'recovery' },
    });
  for (const earlier of assessments)
    if (earlier.recovery?.by === 'next-deployment' && earlier.recovery.byRelease === releaseId)
      points.push({
        metric: DORA_METRICS.recoveryTime,
        value: earlier.recovery.seconds,
        unit: 'Seconds',
        once: { releaseId: earlier.releaseId, key: 'recovery' },
      });
  return points;
};
