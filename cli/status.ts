import { type Command, InvalidArgumentError } from 'commander';
import { now } from '../lib/clock.ts';
import type { Waiter } from '../lib/ports/lock-store.ts';
import type { ReleaseRecord } from '../lib/ports/release-history.ts';
import { serviceRef } from '../lib/ports/service-ref.ts';
import type { ServiceState } from '../lib/ports/service-state-store.ts';
import { readQueued } from '../lib/store/lock-queue.ts';
import type { AwsOptions, AwsSession } from './aws.ts';
import { actionLine, durationOf, progressLine, secondsLeft, shortTime, versionsOf } from './format.ts';
import { type CliIo, CliUsageError, EXIT, printJson } from './io.ts';
import { addAwsOptions, type CommandContext } from './operate.ts';

/** How many of a service's newest records `status` reads to find what runs. */
const STATUS_DEPTH = 20;
/** DescribeAlarms takes at most 100 alarm names per call. */
const ALARMS_PER_CALL = 100;
/** How far back `status` without a service (and no shipline.yml) looks for services in the history index. */
const DISCOVERY_DAYS = 90;

interface AlarmState {
  name: string;
  state: string;
  reason?: string;
  /** The alarm does not exist (DescribeAlarms did not list it). */
  missing?: true;
}

/** One service as `status` shows it. */
export interface ServiceStatus {
  service: string;
  serving: { version: string; slot?: string; releaseId?: string; since: string } | null;
  /** What the running release replaces, when no promotion was recorded yet. */
  servingBefore?: string;
  release: {
    releaseId: string;
    status: ReleaseRecord['status'];
    versions: string;
    startedAt?: string;
    state?: string;
    step?: number;
    steps?: number;
    label?: string;
    newPercent?: number;
    endsAt?: string;
    secondsLeft?: number;
    actions: NonNullable<ReleaseRecord['actions']>;
  } | null;
  /**
   * The push waiting for the running release to hand the service on (only the newest waits): its release
   * id, version, push time, and whether it has an execution yet (`pending`: queued as data, its execution
   * starts at the hand-off).
   */
  queued?: { releaseId: string; version?: string; requestedAt: string; pending: boolean };
  alarms: AlarmState[];
}

/** The version a queued push releases, from the input a pending push keeps (a waiting execution keeps none). */
const queuedVersion = (waiter: Waiter): string | undefined => {
  if (waiter.pendingInput === undefined) return undefined;
  try {
    const request = JSON.parse(waiter.pendingInput) as { image?: { tag?: string; digest?: string } };
    return request.image?.tag ?? request.image?.digest?.slice(0, 19);
  } catch {
    return undefined;
  }
};

const readAlarms = async (session: AwsSession, names: readonly string[]): Promise<AlarmState[]> => {
  if (names.length === 0) return [];
  const { DescribeAlarmsCommand } = await import('@aws-sdk/client-cloudwatch');
  const cloudwatch = await session.cloudwatch();
  const found = new Map<string, AlarmState>();
  for (let index = 0; index < names.length; index += ALARMS_PER_CALL) {
    let token: string | undefined;
    do {
      const page = await cloudwatch.send(
        new DescribeAlarmsCommand({
          AlarmNames: names.slice(index, index + ALARMS_PER_CALL),
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])])
        if (alarm.AlarmName)
          found.set(alarm.AlarmName, {
            name: alarm.AlarmName,
            state: alarm.StateValue ?? 'UNKNOWN',
            ...(alarm.StateReason ? { reason: alarm.StateReason } : {}),
          });
      token = page.NextToken;
    } while (token);
  }
  return names.map((name) => found.get(name) ?? { name, state: 'MISSING', missing: true });
};

/** The alarms a release watches: its recorded progress's, else its bake and rollback-window waits' keys. */
const watchedAlarms = async (
  ports: Awaited<ReturnType<AwsSession['operatePorts']>>,
  record: ReleaseRecord | undefined,
): Promise<string[]> => {
  if (!record) return [];
  if (record.progress?.watchedAlarms) return record.progress.watchedAlarms;
  const waits = await ports.waits.findByRelease(record.releaseId);
  return [
    ...new Set(
      waits
        .filter((wait) => wait.kind === 'bake' || wait.kind === 'rollback-window' || wait.kind === 'rollout')
        .map((wait) => wait.key),
    ),
  ];
};

/** The services `status` without a service shows: shipline.yml's, else those with a recent release. */
const servicesToShow = async (
  ports: Awaited<ReturnType<AwsSession['operatePorts']>>,
  configFile: string | undefined,
  io: CliIo,
): Promise<string[]> => {
  const file = configFile ?? io.env.SHIPLINE_CONFIG;
  if (file !== undefined) {
    // The config schema loads only when a config names the services: `status --help` starts without it.
    const { loadConfigFile } = await import('../lib/config/load.ts');
    const { ConfigError } = await import('../lib/errors.ts');
    try {
      return Object.keys(loadConfigFile(file).services);
    } catch (error) {
      if (error instanceof ConfigError) throw new CliUsageError(error.message);
      throw error;
    }
  }
  const to = now().toISOString();
  const from = new Date(now().getTime() - DISCOVERY_DAYS * 86_400_000).toISOString();
  const names = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await ports.history.listEnded('default', {
      from,
      to,
      limit: 100,
      ...(cursor ? { cursor } : {}),
    });
    for (const record of page.records) names.add(record.service);
    cursor = page.cursor;
  } while (cursor !== undefined && names.size < 500);
  return [...names].sort();
};

const statusOf = async (
  session: AwsSession,
  ports: Awaited<ReturnType<AwsSession['operatePorts']>>,
  service: string,
): Promise<{ status: ServiceStatus; record?: ReleaseRecord }> => {
  const ref = serviceRef(service);
  const [records, state, waiter] = await Promise.all([
    ports.history.listByService(ref, STATUS_DEPTH),
    ports.services.read(ref) as Promise<ServiceState | undefined>,
    readQueued(ports.waits, ref),
  ]);
  const running = records.find((record) => record.status === 'in_progress');
  // A promoted release still watches its alarms while the old slot stays warm (its rollback window).
  const newest = records[0];
  const inWindow =
    !running &&
    newest?.status === 'promoted' &&
    (newest.progress?.state === 'rollback-window' ||
      (await ports.waits.findByRelease(newest.releaseId)).some((wait) => wait.kind === 'rollback-window'))
      ? newest
      : undefined;
  const current = running ?? inWindow;
  // `latestRelease` is the release that last took the idle slot (a running one, too): what serves is the
  // newest promoted release of the stable version.
  const servingRecord = state
    ? records.find((record) => record.status === 'promoted' && record.toVersion === state.stableVersion)
    : undefined;
  const alarms = await readAlarms(session, await watchedAlarms(ports, current));
  const at = now();
  const progress = current?.progress;
  const left = secondsLeft(progress, at);
  const status: ServiceStatus = {
    service,
    serving: state
      ? {
          version: state.stableVersion,
          ...(state.stableSlot ? { slot: state.stableSlot } : {}),
          ...(servingRecord ? { releaseId: servingRecord.releaseId } : {}),
          since: servingRecord?.endedAt ?? state.updatedAt,
        }
      : null,
    // No promotion recorded yet (the first release through Shipline): the release says what it replaces.
    ...(state === undefined && current?.fromVersion !== undefined
      ? { servingBefore: current.fromVersion }
      : {}),
    release: current
      ? {
          releaseId: current.releaseId,
          status: current.status,
          versions: versionsOf(current),
          ...(current.startedAt ? { startedAt: current.startedAt } : {}),
          ...(progress
            ? {
                state: progress.state,
                step: progress.step,
                steps: progress.steps,
                ...(progress.label ? { label: progress.label } : {}),
                newPercent: progress.newPercent,
                ...(progress.endsAt ? { endsAt: progress.endsAt } : {}),
                ...(left !== undefined ? { secondsLeft: left } : {}),
              }
            : current.currentPercent !== undefined
              ? { newPercent: current.currentPercent }
              : {}),
          actions: current.actions ?? [],
        }
      : null,
    ...(waiter
      ? {
          queued: {
            releaseId: waiter.executionName,
            ...(queuedVersion(waiter) ? { version: queuedVersion(waiter) } : {}),
            requestedAt: waiter.requestedAt,
            pending: waiter.pendingInput !== undefined,
          },
        }
      : {}),
    alarms,
  };
  return { status, ...(current ? { record: current } : {}) };
};

const statusText = (status: ServiceStatus, record: ReleaseRecord | undefined): string => {
  const lines = [status.service];
  lines.push(
    status.serving
      ? `  serving:   ${status.serving.version}${status.serving.slot ? ` (${status.serving.slot})` : ''} since ${shortTime(status.serving.since)}${status.serving.releaseId ? `, release ${status.serving.releaseId}` : ''}`
      : status.servingBefore !== undefined
        ? `  serving:   ${status.servingBefore} (no promotion recorded yet)`
        : '  serving:   nothing released by Shipline yet',
  );
  if (status.release && record) {
    lines.push(
      `  releasing: ${status.release.releaseId} (${status.release.versions}), started ${shortTime(status.release.startedAt)}`,
    );
    lines.push(`             ${progressLine(record, now())}`);
    // A paused release waits for a person: say how they answer it.
    if (record.progress?.state === 'paused')
      lines.push(
        `             shipline resume ${status.service} goes on; shipline abort ${status.service} --reason TEXT rolls back`,
      );
    for (const action of status.release.actions) lines.push(`             ${actionLine(action)}`);
  } else lines.push('  releasing: nothing');
  if (status.queued)
    lines.push(
      `  queued:    ${status.queued.version ? `${status.queued.version}, ` : ''}release ${status.queued.releaseId} (pushed ${shortTime(status.queued.requestedAt)}): starts when the running release hands ${status.service} on; a newer push replaces it`,
    );
  if (status.alarms.length > 0)
    lines.push(
      `  alarms:    ${status.alarms.map((alarm) => `${alarm.name} ${alarm.missing ? 'MISSING (no such alarm)' : alarm.state}`).join(', ')}`,
    );
  return lines.join('\n');
};

export interface StatusOptions extends AwsOptions {
  json: boolean;
  watch: boolean;
  interval: number;
  config?: string;
}

/**
 * `shipline status [SERVICE]`: what serves, what is releasing (step n of N, the bake's time left), who
 * steered it, and the states of the alarms it watches. `--watch` redraws until nothing is releasing.
 */
export const runStatus = async (
  service: string | undefined,
  options: StatusOptions,
  io: CliIo,
): Promise<number> => {
  const { AwsSession, explainAwsError } = await import('./aws.ts');
  const session = new AwsSession(options, io);
  const ports = await session.operatePorts();
  for (let round = 0; ; round += 1) {
    let statuses: Array<{ status: ServiceStatus; record?: ReleaseRecord }>;
    try {
      const names = service !== undefined ? [service] : await servicesToShow(ports, options.config, io);
      statuses = [];
      for (const name of names) statuses.push(await statusOf(session, ports, name));
    } catch (error) {
      return explainAwsError(error, 'reading the status');
    }
    const releasing = statuses.some(({ status }) => status.release !== null);
    if (options.json)
      printJson(io, { at: now().toISOString(), services: statuses.map(({ status }) => status) });
    else {
      if (options.watch && io.isTTY) io.out('\u001b[2J\u001b[H');
      else if (round > 0) io.out('\n');
      io.out(
        statuses.length === 0
          ? 'no service has released in the last 90 days (name one: shipline status SERVICE, or pass --config shipline.yml)\n'
          : `${statuses.map(({ status, record }) => statusText(status, record)).join('\n\n')}\n`,
      );
    }
    if (!options.watch || !releasing) return EXIT.ok;
    await io.sleep(options.interval * 1000);
  }
};

export interface HistoryOptions extends AwsOptions {
  json: boolean;
  limit: number;
}

/** `shipline history SERVICE`: past releases, newest first, with outcome, versions, duration, reason and who acted. */
export const runHistory = async (service: string, options: HistoryOptions, io: CliIo): Promise<number> => {
  const { AwsSession, explainAwsError } = await import('./aws.ts');
  const session = new AwsSession(options, io);
  const ports = await session.operatePorts();
  let records: ReleaseRecord[];
  try {
    records = await ports.history.listByService(serviceRef(service), options.limit);
  } catch (error) {
    return explainAwsError(error, `reading the history of ${service}`);
  }
  const at = now();
  if (options.json) {
    printJson(io, {
      service,
      releases: records.map((record) => ({
        releaseId: record.releaseId,
        outcome: record.status,
        fromVersion: record.fromVersion ?? null,
        toVersion: record.toVersion ?? null,
        requestedAt: record.requestedAt,
        startedAt: record.startedAt ?? null,
        endedAt: record.endedAt ?? null,
        durationSeconds: Math.round(
          ((record.endedAt ? new Date(record.endedAt) : at).getTime() -
            new Date(record.startedAt ?? record.requestedAt).getTime()) /
            1000,
        ),
        reason: record.reason ?? null,
        actions: record.actions ?? [],
      })),
    });
    return EXIT.ok;
  }
  if (records.length === 0) {
    io.out(`${service} has no release in the history (records are kept 400 days)\n`);
    return EXIT.ok;
  }
  const rows = records.map((record) => [
    shortTime(record.startedAt ?? record.requestedAt),
    record.status === 'in_progress' ? 'in progress' : record.status.replace('_', ' '),
    versionsOf(record),
    durationOf(record, at),
    record.releaseId,
  ]);
  const header = ['STARTED', 'OUTCOME', 'VERSIONS', 'DURATION', 'RELEASE'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const pad = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const lines = [pad(header)];
  records.forEach((record, index) => {
    lines.push(pad(rows[index] ?? []));
    if (record.reason) lines.push(`    reason: ${record.reason}`);
    for (const action of record.actions ?? []) lines.push(`    ${actionLine(action)}`);
  });
  io.out(`${lines.join('\n')}\n`);
  return EXIT.ok;
};

const positiveInteger =
  (flag: string, max: number) =>
  (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < 1 || number > max)
      throw new InvalidArgumentError(`${flag} must be an integer from 1 to ${max}, got "${value}"`);
    return number;
  };

/** `status` and `history`. */
export const registerStatusCommands = (program: Command, context: CommandContext): void => {
  addAwsOptions(
    program
      .command('status')
      .description(
        'what serves, what is releasing (step n of N, the bake time left), who steered it, and the watched alarms',
      )
      .argument(
        '[service]',
        'one service (default: every service of shipline.yml, else those released lately)',
      )
      .option('--watch', 'refresh until nothing is releasing', false)
      .option(
        '--interval <seconds>',
        'seconds between two refreshes of --watch',
        positiveInteger('--interval', 3600),
        5,
      )
      .option('-c, --config <file>', 'the shipline.yml whose services to show (default: $SHIPLINE_CONFIG)'),
  )
    .addHelpText('after', context.help)
    .action(async (service: string | undefined, options: StatusOptions) => {
      context.exit(await runStatus(service, options, context.io));
    });

  addAwsOptions(
    program
      .command('history')
      .description("a service's releases, newest first: outcome, versions, duration, reason, and who acted")
      .argument('<service>', 'the service')
      .option('--limit <n>', 'at most this many releases', positiveInteger('--limit', 1000), 20),
  )
    .addHelpText('after', context.help)
    .action(async (service: string, options: HistoryOptions) => {
      context.exit(await runHistory(service, options, context.io));
    });
};
