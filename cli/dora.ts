import { type Command, InvalidArgumentError, Option } from 'commander';
import { now } from '../lib/clock.ts';
import {
  assessReleases,
  type DoraBand,
  type DoraFigures,
  doraFigures,
  REWORK_WINDOW_SECONDS,
} from '../lib/domain/dora.ts';
import { formatDuration, parseDurationSeconds } from '../lib/duration.ts';
import type { ReleaseHistory, ReleaseRecord } from '../lib/ports/release-history.ts';
import { DEFAULT_ENVIRONMENT } from '../lib/ports/service-ref.ts';
import type { AwsOptions } from './aws.ts';
import { type CliIo, CliUsageError, EXIT, printJson } from './io.ts';
import { addAwsOptions, type CommandContext } from './operate.ts';

/** The period `shipline dora` reads when `--since` is not given. */
export const DEFAULT_SINCE_SECONDS = 30 * 86_400;

/**
 * Releases that ended this long before the period are read too: the context of the period's first
 * deployments (the failure a fix answers, the version a redeploy goes back to). They are not counted.
 */
export const CONTEXT_SECONDS = Math.max(REWORK_WINDOW_SECONDS, 7 * 86_400);

/** Ended releases read per page of the history index. */
const PAGE = 100;

/** `--since`: `30d`, `2w`, `12h`, `90m` (or a duration as shipline.yml writes them): a usage error otherwise. */
export const parseSince = (value: string): number => {
  const text = value.trim();
  const days = /^(\d+)d$/.exec(text);
  const weeks = /^(\d+)w$/.exec(text);
  const seconds = days
    ? Number(days[1]) * 86_400
    : weeks
      ? Number(weeks[1]) * 7 * 86_400
      : parseDurationSeconds(text);
  if (seconds === undefined || !Number.isSafeInteger(seconds) || seconds <= 0)
    throw new InvalidArgumentError(`--since must be a period such as 30d, 2w, 12h or 90m, got "${value}"`);
  return seconds;
};

/** Every release of the environment that ended between two instants, oldest pages last. */
const endedBetween = async (
  history: ReleaseHistory,
  environment: string,
  from: string,
  to: string,
): Promise<ReleaseRecord[]> => {
  const records: ReleaseRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await history.listEnded(environment, {
      from,
      to,
      limit: PAGE,
      ...(cursor ? { cursor } : {}),
    });
    records.push(...page.records);
    cursor = page.cursor;
  } while (cursor);
  return records;
};

/** The figures of each service with a release that ended in the period. */
export interface DoraReport {
  environment: string;
  period: { from: string; to: string; days: number };
  services: Record<string, DoraFigures>;
}

/**
 * The DORA figures of each service (or of one) from the release history: the releases that ended in the
 * period, assessed with the week before it as context (lib/domain/dora.ts holds every definition).
 */
export const doraReport = async (
  history: ReleaseHistory,
  options: { service?: string; sinceSeconds: number; environment?: string; at?: Date },
): Promise<DoraReport> => {
  const environment = options.environment ?? DEFAULT_ENVIRONMENT;
  const to = (options.at ?? now()).toISOString();
  const from = new Date(Date.parse(to) - options.sinceSeconds * 1000).toISOString();
  const contextFrom = new Date(Date.parse(from) - CONTEXT_SECONDS * 1000).toISOString();
  const records = (await endedBetween(history, environment, contextFrom, to)).filter(
    (record) => options.service === undefined || record.service === options.service,
  );
  const byService = new Map<string, ReleaseRecord[]>();
  for (const record of records)
    byService.set(record.service, [...(byService.get(record.service) ?? []), record]);
  const services: Record<string, DoraFigures> = {};
  for (const [service, own] of [...byService.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const inPeriod = own.some(
      (record) => record.endedAt !== undefined && Date.parse(record.endedAt) >= Date.parse(from),
    );
    if (inPeriod) services[service] = doraFigures(assessReleases(own), { from, to });
  }
  return { environment, period: { from, to, days: options.sinceSeconds / 86_400 }, services };
};

/** `3d4h`, `1h15m`, `45s`, `0.2s`: days for long lead times, tenths for a fast rollback, else the shortest duration. */
const duration = (seconds: number): string => {
  if (seconds < 10 && !Number.isInteger(seconds)) return `${Number(seconds.toFixed(1))}s`;
  if (seconds >= 86_400 && seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds < 2 * 86_400) return formatDuration(seconds);
  const days = Math.floor(seconds / 86_400);
  const hours = Math.round((seconds % 86_400) / 3600);
  return `${days}d${hours > 0 ? `${hours}h` : ''}`;
};

const percent = (rate: number): string => `${Number((rate * 100).toFixed(1))}%`;
const decimal = (value: number): string =>
  value >= 10 ? value.toFixed(0) : Number(value.toFixed(2)).toString();
const band = (value: DoraBand | null, missing = 'no band (nothing to measure)'): string => value ?? missing;

const SOURCE_WORDS = { 'oci-label': 'OCI label', 'deploy-request': 'deploy request', push: 'push' } as const;

/** The five figures of one service as rows a person reads, each with its band. */
const describe = (service: string, figures: DoraFigures): string => {
  const f = figures;
  const sources = Object.entries(f.changeLeadTime.sources)
    .filter(([, count]) => count > 0)
    .map(([source, count]) => `${count} ${SOURCE_WORDS[source as keyof typeof SOURCE_WORDS]}`)
    .join(', ');
  const rows: Array<[string, string, string]> = [
    [
      'Deployment frequency',
      `${decimal(f.deploymentFrequency.perWeek)} per week (${decimal(f.deploymentFrequency.perDay)} per day)`,
      f.deploymentFrequency.band,
    ],
    [
      'Change lead time',
      f.changeLeadTime.medianSeconds === null
        ? 'no promoted deployment'
        : `${duration(f.changeLeadTime.medianSeconds)} median of ${f.changeLeadTime.samples} (from ${sources})`,
      band(f.changeLeadTime.band),
    ],
    [
      'Change fail rate',
      f.changeFailRate.rate === null
        ? 'no deployment'
        : `${percent(f.changeFailRate.rate)} (${f.changeFailRate.failedDeployments} of ${f.deployments})`,
      band(f.changeFailRate.band),
    ],
    [
      'Failed deployment recovery time',
      f.failedDeploymentRecoveryTime.medianSeconds === null
        ? f.changeFailRate.failedDeployments > 0
          ? 'not recovered yet'
          : 'no failed deployment'
        : `${duration(f.failedDeploymentRecoveryTime.medianSeconds)} median of ${f.failedDeploymentRecoveryTime.samples}${f.failedDeploymentRecoveryTime.notRecovered > 0 ? ` (${f.failedDeploymentRecoveryTime.notRecovered} not recovered yet)` : ''}`,
      band(f.failedDeploymentRecoveryTime.band),
    ],
    [
      'Deployment rework rate',
      f.deploymentReworkRate.rate === null
        ? 'no deployment'
        : `${percent(f.deploymentReworkRate.rate)} (${f.deploymentReworkRate.reworkDeployments} of ${f.deployments})`,
      'no band: DORA publishes none',
    ],
  ];
  const width = Math.max(...rows.map(([, value]) => value.length));
  return [
    `${service}: ${f.deployments} deployment${f.deployments === 1 ? '' : 's'}`,
    ...rows.map(([name, value, rated]) => `  ${name.padEnd(32)}${value.padEnd(width + 2)}${rated}`),
  ].join('\n');
};

type DoraOptions = AwsOptions & { since: number; json: boolean };

/**
 * `shipline dora [SERVICE]`: the five DORA figures of each service over `--since` (default 30 days) from
 * the release history, with the DORA performance band of each. Exit 2 when no release ended in the period.
 */
export const runDoraCommand = async (
  service: string | undefined,
  options: DoraOptions,
  io: CliIo,
): Promise<number> => {
  const { AwsSession, explainAwsError } = await import('./aws.ts');
  const { DynamoDbReleaseHistory } = await import('../lib/adapters/dynamodb-release-history.ts');
  const session = new AwsSession(
    {
      ...(options.stack !== undefined ? { stack: options.stack } : {}),
      ...(options.table !== undefined ? { table: options.table } : {}),
      ...(options.region !== undefined ? { region: options.region } : {}),
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
    },
    io,
  );
  const table = await session.table();
  const region = await session.region();
  const history = new DynamoDbReleaseHistory(await session.documentClient(), () => table);
  let report: DoraReport;
  try {
    report = await doraReport(history, {
      ...(service !== undefined ? { service } : {}),
      sinceSeconds: options.since,
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException')
      throw new CliUsageError(
        `table "${table}" was not found in ${region}: check --table / SHIPLINE_TABLE, --stack and --region (${error.message})`,
      );
    return explainAwsError(error, 'reading the release history');
  }
  const span = `the last ${duration(options.since)} (${report.period.from.slice(0, 10)} to ${report.period.to.slice(0, 10)})`;
  if (Object.keys(report.services).length === 0)
    throw new CliUsageError(
      `no release${service ? ` of ${service}` : ''} ended in ${span} in table ${table} (${region}): nothing to measure; try a longer --since`,
    );
  if (options.json) {
    printJson(io, { ...report, table, region });
    return EXIT.ok;
  }
  io.out(
    `DORA software delivery performance, ${span}, environment ${report.environment}\n\n${Object.entries(
      report.services,
    )
      .map(([name, figures]) => describe(name, figures))
      .join(
        '\n\n',
      )}\n\nBands: DORA's 2024 performance clusters (elite, high, medium, low); how each figure is measured: README, "DORA metrics".\n`,
  );
  return EXIT.ok;
};

/** Registers `shipline dora`. */
export const registerDoraCommand = (program: Command, context: CommandContext): void => {
  addAwsOptions(
    program
      .command('dora')
      .description(
        "DORA's five software delivery metrics of each service (or one) from the release history, with the DORA performance band of each",
      )
      .argument('[service]', 'only this service')
      .addOption(
        new Option('--since <period>', 'the period to measure, back from now: 30d, 2w, 12h')
          .argParser(parseSince)
          .default(DEFAULT_SINCE_SECONDS, '30d'),
      ),
  )
    .addHelpText('after', context.help)
    .action(async (service: string | undefined, options: DoraOptions) => {
      context.exit(await runDoraCommand(service, options, context.io));
    });
};
