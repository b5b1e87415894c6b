import { now } from '../clock.ts';
import type { ShiplineConfig } from '../config/schema.ts';
import { assessReleases, type ChangeTime, type DoraDatapoint, datapointsForRelease } from '../domain/dora.ts';
import type { ReleaseEventFacts } from '../events/release-event.ts';
import type { DeliveryMetrics, DeliveryPoint } from '../ports/delivery-metrics.ts';
import type { ImageLabels } from '../ports/image-labels.ts';
import type { NotificationMarks } from '../ports/notification-marks.ts';
import type { ReleaseHistory, ReleaseRecord, ReleaseRef } from '../ports/release-history.ts';

/** The release-event kinds that end a release (a rollback in the rollback window ends a promoted one again). */
export const ENDING_KINDS = ['promoted', 'rolled_back', 'failed', 'rollback_failed'] as const;

/**
 * How many of the service's newest releases give the context: the previous deployment (rework) and the
 * failure a promotion ends (recovery) are almost always among them.
 */
export const HISTORY_CONTEXT = 50;

export interface ReleaseMetricsPorts {
  history: ReleaseHistory;
  labels: ImageLabels;
  /** Marks what was published, so a redelivered event (SNS delivers at least once) publishes nothing twice. */
  marks: NotificationMarks;
  metrics: DeliveryMetrics;
}

export type ReleaseMetricsResult =
  | { status: 'skipped'; reason: string }
  | {
      status: 'published';
      releaseId: string;
      service: string;
      environment: string;
      points: DeliveryPoint[];
      /** Lead time's start, and (when the OCI label was not used) why not. */
      changeTime?: ChangeTime & { labelMissing?: string };
    };

/** The status an ending event gives a record that does not show its end yet (the write may lag the event). */
const STATUS_OF_KIND = {
  promoted: 'promoted',
  rolled_back: 'rolled_back',
  failed: 'failed',
  rollback_failed: 'failed',
} as const;

/**
 * Lead time's start: the image's OCI `org.opencontainers.image.created` label, else the deploy request's
 * commit time (the event's `changeTime`), else the push (the release's request time).
 */
const resolveChangeTime = async (
  ports: Pick<ReleaseMetricsPorts, 'labels'>,
  config: ShiplineConfig,
  facts: ReleaseEventFacts,
  record: ReleaseRecord,
): Promise<ChangeTime & { labelMissing?: string }> => {
  const service = config.services[facts.service];
  const label =
    facts.digest && service
      ? await ports.labels.createdAt({
          ...(service.image.registry ? { registryId: service.image.registry.account } : {}),
          repository: service.image.repository,
          digest: facts.digest,
        })
      : {
          missing: facts.digest
            ? `${facts.service} is not declared in the config`
            : 'the event names no digest',
        };
  if ('at' in label) return { at: label.at, source: 'oci-label' };
  const fallback =
    facts.changeTime && facts.changeTime.source !== 'oci-label'
      ? facts.changeTime
      : { at: record.requestedAt, source: 'push' as const };
  return { ...fallback, labelMissing: label.missing };
};

/**
 * The DORA metrics of a release that ended: reads the service's recent history, records the change time on
 * the release record (the label read once, so `shipline dora` and CloudWatch agree), assesses the release in
 * its context and publishes each datapoint once per release (marks in the table). Events of other kinds,
 * and releases that deployed nothing, publish nothing.
 */
export const publishReleaseMetrics = async (
  ports: ReleaseMetricsPorts,
  config: ShiplineConfig,
  facts: ReleaseEventFacts,
): Promise<ReleaseMetricsResult> => {
  const kind = ENDING_KINDS.find((ending) => ending === facts.kind);
  if (!kind) return { status: 'skipped', reason: `a ${facts.kind} event does not end a release` };
  const ref: ReleaseRef = {
    service: facts.service,
    environment: facts.environment,
    requestedAt: facts.requestedAt,
    releaseId: facts.releaseId,
  };
  const history = await ports.history.listByService(ref, HISTORY_CONTEXT);
  const stored = history.find((record) => record.releaseId === facts.releaseId);
  if (!stored)
    // Thrown, not skipped: the record is written before the event is published, so this is a fault worth
    // a retry (Lambda retries an asynchronous invocation twice) and a log line.
    throw new Error(`release ${facts.releaseId} of ${facts.service} has no record in the release history`);
  const record: ReleaseRecord = {
    ...stored,
    ...(stored.status === 'in_progress' ? { status: STATUS_OF_KIND[kind] } : {}),
    endedAt: stored.endedAt ?? facts.endedAt ?? facts.at,
  };
  let changeTime: (ChangeTime & { labelMissing?: string }) | undefined;
  if (!record.changeTime) {
    changeTime = await resolveChangeTime(ports, config, facts, record);
    const { labelMissing: _, ...recorded } = changeTime;
    await ports.history.update({ ...ref, requestedAt: stored.requestedAt }, { changeTime: recorded });
    record.changeTime = recorded;
  }
  const assessments = assessReleases(
    history.map((candidate) => (candidate.releaseId === record.releaseId ? record : candidate)),
  );
  const points = await once(ports.marks, datapointsForRelease(assessments, record.releaseId));
  await ports.metrics.publish({ service: facts.service, environment: facts.environment }, points, now());
  return {
    status: 'published',
    releaseId: facts.releaseId,
    service: facts.service,
    environment: facts.environment,
    points,
    ...(changeTime ? { changeTime } : {}),
  };
};

/** The datapoints whose (release, key) mark this call made: each is published by exactly one call. */
const once = async (marks: NotificationMarks, datapoints: DoraDatapoint[]): Promise<DeliveryPoint[]> => {
  const decided = new Map<string, boolean>();
  const points: DeliveryPoint[] = [];
  for (const { once: key, ...point } of datapoints) {
    const mark = `dora-${key.key}`;
    const id = `${key.releaseId}#${mark}`;
    if (!decided.has(id)) decided.set(id, await marks.mark(key.releaseId, mark));
    if (decided.get(id)) points.push(point);
  }
  return points;
};
