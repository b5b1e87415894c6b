import { now } from '../clock.ts';
import type { ServiceConfig } from '../config/schema.ts';
import type { ReleaseProgress } from '../domain/progress.ts';
import { progressSequence, type ReleaseSubject } from '../domain/release-progress.ts';
import { asError } from '../errors.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { TrafficRouter } from '../ports/traffic-router.ts';
import { notifyOnce } from './notify.ts';
import type { PipelineSettings, ReleasePorts } from './ports.ts';
import { publishTransition } from './transitions.ts';

/** What a "Step Functions Execution Status Change" event says of an execution that ended (its `detail`). */
export interface EndedExecution {
  name: string;
  status: string;
  /** The execution's input (JSON text): its `requestedAt` finds the record however many are newer. */
  input?: string | null;
  error?: string | null;
  cause?: string | null;
}

/**
 * How many of the service's newest records are searched for the stopped release's: the records newer than
 * a running release are the pushes superseded while it ran (one each) and at most one release after it.
 */
const RECORDS_SEARCHED = 100;

/** The `requestedAt` of a release execution's input (JSON text), if it has one. */
const requestedAtOf = (input: string | null | undefined): string | undefined => {
  if (!input) return undefined;
  try {
    const { requestedAt } = JSON.parse(input) as { requestedAt?: unknown };
    return typeof requestedAt === 'string' && requestedAt !== '' ? requestedAt : undefined;
  } catch {
    return undefined;
  }
};

/** How the execution ended, in a person's words, and the error and cause it ended with. */
const endingWords = (ended: EndedExecution): { how: string; detail: string } => {
  const why = [ended.error, ended.cause].filter((part) => part !== undefined && part !== null && part !== '');
  const detail = why.length > 0 ? ` (${why.join(': ')})` : '';
  switch (ended.status) {
    case 'ABORTED':
      return { how: 'stopped outside Shipline', detail };
    case 'TIMED_OUT':
      return { how: 'timed out', detail };
    default:
      return { how: "failed outside the release's error handling", detail };
  }
};

/**
 * What production traffic looks like now, for a release stopped part-way (nothing rolled it back): the
 * listener rule's weights per slot for ecs-alb ("traffic is split: blue 75% / green 25%"), read from ALB (never
 * throws: a failed read says so), or what to check for a rolling update.
 */
export const servingWords = async (
  service: ServiceConfig,
  router: Pick<TrafficRouter, 'readWeights'>,
): Promise<string> => {
  const target = service.target;
  if (target.type !== 'ecs-alb')
    return `the rolling update of ECS service ${target.service} may be part-way: check its deployments`;
  try {
    const weights = await router.readWeights({
      kind: 'alb-listener-rule',
      listenerRuleArn: target.listenerRuleArn,
    });
    const share = (slot: 'blue' | 'green') => weights[target.slots[slot].targetGroupArn] ?? 0;
    const split = share('blue') > 0 && share('green') > 0;
    return `${split ? 'traffic is split' : 'serving'}: blue ${share('blue')}% / green ${share('green')}%`;
  } catch (error) {
    return `the weights could not be read (${asError(error).name}): traffic may be split between blue and green; check listener rule ${target.listenerRuleArn}`;
  }
};

/** What ending a stopped release takes: its record, the people's topic, the release-events topic, traffic. */
export interface StoppedReleasePorts extends Pick<ReleasePorts, 'store' | 'notifier'> {
  events?: ReleaseEvents;
  /** Reads the listener rule's weights (what serves now). */
  router: Pick<TrafficRouter, 'readWeights'>;
}

/**
 * A release whose execution ended ABORTED (a person's StopExecution), TIMED_OUT or FAILED outside its own
 * states: nothing rolled it back, reported it or ended its record, so the service may be left split between
 * two versions. Ends its record as failed (if it is still in progress) with why and what serves now, and
 * tells people (once: a repeated event tells nobody twice, and one whose telling failed tells again) and the release-events topic. A
 * release that had no record yet (stopped before it planned) moved no traffic and is left as it is.
 */
export const endStoppedRelease = async (
  ports: StoppedReleasePorts,
  settings: PipelineSettings,
  declared: ServiceConfig & { name: string; topicArn: string },
  ended: EndedExecution,
): Promise<{ ended: boolean; reason?: string }> => {
  const { store } = ports;
  const records = await store.listRecords(declared.name, RECORDS_SEARCHED);
  // More pushes than that may have been superseded while it ran: its own key finds it then.
  const requestedAt = requestedAtOf(ended.input);
  const record =
    records.find((candidate) => candidate.releaseId === ended.name) ??
    (requestedAt !== undefined ? await store.readRecord(declared.name, requestedAt, ended.name) : undefined);
  if (record?.status !== 'in_progress') return { ended: false };
  // A late or retried event may come after the hand-off let a newer release plan and claim the slots: the
  // weights then are that release's, not what the stopped one left, and are not told as such.
  const newer = records
    .slice(0, records.includes(record) ? records.indexOf(record) : records.length)
    .find((candidate) => candidate.startedAt !== undefined);
  const taken =
    newer !== undefined && !(await store.isLatestRelease(declared.name, record.releaseId))
      ? `newer release ${newer.releaseId}${newer.toVersion ? ` (${newer.toVersion})` : ''} has taken ${declared.name} over since, and what serves now is its to tell`
      : undefined;
  const serving = taken ?? (await servingWords(declared, ports.router));
  const percent = record.progress?.newPercent ?? record.currentPercent ?? 0;
  // What a person acts on first (the subject is shortened from the end): where it stopped, what serves.
  const { how, detail } = endingWords(ended);
  const reason = `${how} at ${percent}%, not rolled back: ${serving}${detail}`;
  const at = now().toISOString();
  const progress: ReleaseProgress = {
    ...(record.progress ?? { step: 0, steps: 0, newPercent: percent, stepStartedAt: at }),
    sequence: Math.max(progressSequence('ended'), (record.progress?.sequence ?? 0) + 1),
    state: 'failed',
    updatedAt: at,
  };
  const { endsAt: _endsAt, watchedAlarms: _watched, ...settled } = progress;
  const toVersion = record.toVersion ?? record.releaseId;
  const subject: ReleaseSubject = {
    releaseId: record.releaseId,
    service: record.service,
    requestedAt: record.requestedAt,
    strategy: declared.strategy.type,
    toVersion,
    ...(record.fromVersion ? { fromVersion: record.fromVersion } : {}),
    ...(record.image ? { digest: record.image.digest } : {}),
    ...(record.changeTime ? { changeTime: record.changeTime } : {}),
  };
  await publishTransition(
    ports.events,
    subject,
    settled,
    { kind: 'failed', text: `The release of ${toVersion} was stopped part-way`, reason },
    record.executionArn,
  );
  await notifyOnce(ports, declared.topicArn, {
    kind: 'failed',
    service: record.service,
    releaseId: record.releaseId,
    ...(record.executionArn ? { executionArn: record.executionArn } : {}),
    ...(record.fromVersion ? { fromVersion: record.fromVersion } : {}),
    toVersion,
    region: settings.region,
    reason,
  });
  // The record last: a failed notification leaves it in progress, so the retried event tells again (once).
  await store.updateRecord(record.service, record.requestedAt, record.releaseId, {
    status: 'failed',
    endedAt: at,
    reason,
    progress: settled,
  });
  return { ended: true, reason };
};
