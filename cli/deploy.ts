import { InvalidArgumentError } from 'commander';
import { now } from '../lib/clock.ts';
import { parseImageUri } from '../lib/domain/names.ts';
import { formatDuration, parseDurationSeconds } from '../lib/duration.ts';
import type { ManualDeployRequest } from '../lib/events/deploy-request.ts';
import type { ReleaseRecord } from '../lib/ports/release-history.ts';
import type { ReleaseStartResult } from '../lib/ports/release-starter.ts';
import { serviceRef } from '../lib/ports/service-ref.ts';
import type { AwsOptions, AwsSession } from './aws.ts';
import { progressLine, versionsOf } from './format.ts';
import { type CliIo, CliUsageError, EXIT, printJson } from './io.ts';
import { addAwsOptions, type CommandContext } from './operate.ts';

/** How often `--wait` reads the release (a DynamoDB query and a DescribeExecution per poll). */
export const WAIT_POLL_SECONDS = 10;
/** `--timeout` when none is given. */
export const DEFAULT_WAIT_TIMEOUT = '1h';

const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** An ECR repository URI: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>`. */
const ECR_URI = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(.+)$/;

export interface DeployOptions extends AwsOptions {
  image: string;
  tag?: string;
  commitTime?: string;
  wait: boolean;
  timeout: string;
  json: boolean;
}

/** The image a deploy names, pinned to a digest (a tag alone is looked up in ECR). */
export interface PinnedImage {
  digest: string;
  tag?: string;
  uri?: string;
}

/** `--timeout`: a duration (`30m`, `1h30m`, `900`), or a usage error naming the bad value. */
export const parseTimeout = (value: string): string => {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined || seconds === 0)
    throw new InvalidArgumentError(
      `--timeout must be a duration such as 30m, 1h or 900 (seconds), got "${value}"`,
    );
  return value;
};

/**
 * Pins `--image` to a digest: a digest as is; a URI with a digest keeps its URI; a URI with only a tag is
 * resolved with ECR DescribeImages (a tag moves, a release never does); anything else is refused.
 */
export const pinImage = async (
  session: Pick<AwsSession, 'ecr'>,
  image: string,
  tag: string | undefined,
): Promise<PinnedImage> => {
  const text = image.trim();
  if (DIGEST.test(text)) return { digest: text, ...(tag ? { tag } : {}) };
  const parts = parseImageUri(text);
  if (parts.digest !== undefined) {
    if (!DIGEST.test(parts.digest))
      throw new CliUsageError(`--image ${text}: the digest after @ must be sha256:<64 hex>`);
    const named = tag ?? parts.tag;
    return { digest: parts.digest, uri: text, ...(named ? { tag: named } : {}) };
  }
  const ecr = ECR_URI.exec(parts.repositoryUri);
  if (!parts.tag || !ecr)
    throw new CliUsageError(
      `--image ${text} names no digest: pass sha256:<64 hex>, REPOSITORY_URI@sha256:<64 hex>, or an ECR URI with a tag (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>) to look the digest up`,
    );
  const [, registryId = '', region = '', repositoryName = ''] = ecr;
  const { DescribeImagesCommand } = await import('@aws-sdk/client-ecr');
  const client = await session.ecr(region);
  try {
    const { imageDetails } = await client.send(
      new DescribeImagesCommand({ registryId, repositoryName, imageIds: [{ imageTag: parts.tag }] }),
    );
    const digest = imageDetails?.[0]?.imageDigest;
    if (!digest)
      throw new CliUsageError(`ECR knows no image ${repositoryName}:${parts.tag} in ${registryId}`);
    return { digest, tag: tag ?? parts.tag, uri: `${parts.repositoryUri}@${digest}` };
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'ImageNotFoundException' || name === 'RepositoryNotFoundException')
      throw new CliUsageError(
        `--image ${text}: ${error instanceof Error ? error.message : String(error)} (registry ${registryId}, ${region})`,
      );
    const { explainAwsError } = await import('./aws.ts');
    return explainAwsError(error, `looking up ${repositoryName}:${parts.tag} in ECR`);
  }
};

/** What `--wait` saw: each transition as a line, and how the release ended. */
interface Followed {
  outcome: string;
  exitCode: number;
  lines: string[];
  record?: ReleaseRecord;
  executionStatus?: string;
}

const OUTCOME_EXIT: Record<string, number> = {
  promoted: EXIT.ok,
  ignored: EXIT.ok,
  rolled_back: EXIT.failed,
  failed: EXIT.failed,
  rejected: EXIT.failed,
  superseded: EXIT.failed,
};

/**
 * Follows a release until its execution ends (the rollback window included: a release still rolls back
 * within it) or the timeout passes: prints each transition its record shows, then how it ended.
 */
const follow = async (
  session: AwsSession,
  started: { releaseId: string; executionArn: string },
  service: string,
  timeoutSeconds: number,
  io: CliIo,
  print: (line: string) => void,
): Promise<Followed> => {
  const { DescribeExecutionCommand } = await import('@aws-sdk/client-sfn');
  const sfn = await session.sfn();
  const { history } = await session.operatePorts();
  const startedAt = now().getTime();
  const lines: string[] = [];
  const say = (text: string) => {
    const line = `+${formatDuration((now().getTime() - startedAt) / 1000)} ${text}`;
    lines.push(line);
    print(line);
  };
  let last = '';
  for (;;) {
    const records = await history.listByService(serviceRef(service), 20);
    const record = records.find((candidate) => candidate.releaseId === started.releaseId);
    // A push queued behind the running release has no execution until that release hands the service on.
    const execution = await sfn
      .send(new DescribeExecutionCommand({ executionArn: started.executionArn }))
      .catch((error: unknown) => {
        if ((error as Error).name === 'ExecutionDoesNotExist') return { status: 'QUEUED' } as const;
        throw error;
      });
    if (execution.status === 'QUEUED' && !record && last === '') {
      last = 'queued';
      say(
        `queued behind the running release of ${service}: it starts when that release hands the service on`,
      );
    }
    // An ended record is said once, by the outcome line below; a promoted one still in its rollback window
    // is not ended yet (an alarm may still roll it back).
    if (record && (record.status === 'in_progress' || record.progress?.state === 'rollback-window')) {
      const line = progressLine(record, now());
      const key = `${record.status}|${record.progress?.sequence ?? ''}|${line.replace(/, (bake|rollback window) ends in .*$|, waits for a person .*$/, '')}`;
      if (key !== last) {
        last = key;
        say(line);
      }
    }
    const status = execution.status ?? 'RUNNING';
    // A queued push ends without an execution only when a newer push supersedes it (its record says so).
    const ended =
      status === 'QUEUED'
        ? record !== undefined && record.status !== 'in_progress'
        : status !== 'RUNNING' && status !== 'PENDING_REDRIVE';
    if (ended) {
      const outcome =
        record?.status !== undefined && record.status !== 'in_progress' ? record.status : status;
      const exitCode = OUTCOME_EXIT[outcome] ?? (status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed);
      const reason =
        record?.reason ?? ('cause' in execution ? (execution.cause ?? execution.error) : undefined);
      say(
        `${outcome.replace('_', ' ')}: ${service} ${exitCode === EXIT.ok ? `serves ${record?.toVersion ?? 'the new version'}` : `stays on ${record?.fromVersion ?? 'the previous version'}`}${reason ? ` (${reason})` : ''}`,
      );
      return {
        outcome,
        exitCode,
        lines,
        executionStatus: status,
        ...(record ? { record } : {}),
      };
    }
    if (now().getTime() - startedAt >= timeoutSeconds * 1000) {
      say(
        `still running after ${formatDuration(timeoutSeconds)}: release ${started.releaseId} goes on; follow it with shipline status ${service}`,
      );
      return {
        outcome: 'timed-out',
        exitCode: EXIT.timedOut,
        lines,
        executionStatus: status,
        ...(record ? { record } : {}),
      };
    }
    await io.sleep(WAIT_POLL_SECONDS * 1000);
  }
};

/**
 * `shipline deploy`: starts a release with the same input as a push, through the pipeline's trigger function
 * (the same digest starts one release however often it is asked); with `--wait`, follows it to its outcome.
 */
export const runDeploy = async (service: string, options: DeployOptions, io: CliIo): Promise<number> => {
  const timeoutSeconds = parseDurationSeconds(options.timeout) ?? 3600;
  if (options.commitTime !== undefined && Number.isNaN(Date.parse(options.commitTime)))
    throw new CliUsageError(
      `--commit-time must be an ISO 8601 time such as 2026-03-02T10:00:00Z, got "${options.commitTime}"`,
    );
  const { AwsSession, explainAwsError } = await import('./aws.ts');
  const { TriggerFunctionError } = await import('../lib/adapters/lambda-release-starter.ts');
  const session = new AwsSession(options, io);
  const image = await pinImage(session, options.image, options.tag);
  const actor = await session.caller();
  const request: ManualDeployRequest = {
    source: 'manual',
    service,
    image,
    requestedBy: actor.id,
    ...(options.commitTime ? { commitTime: options.commitTime } : {}),
  };
  const { releases } = await session.operatePorts();
  let started: ReleaseStartResult;
  try {
    started = await releases.start(request);
  } catch (error) {
    if (error instanceof TriggerFunctionError)
      throw new CliUsageError(
        `the pipeline refused the deploy request: ${error.errorType}: ${error.message}`,
      );
    return explainAwsError(error, `invoking the trigger function of stack ${session.stack}`);
  }
  const region = await session.region();
  if (started.status === 'ignored') {
    if (options.json)
      printJson(io, { status: 'nothing-to-act-on', service, image, reason: started.reason, region });
    else io.err(`shipline: nothing to deploy: ${started.reason}\n`);
    return EXIT.usage;
  }
  const label = image.tag ?? image.digest.slice(0, 19);
  const head =
    started.status === 'started'
      ? `started release ${started.releaseId} of ${service} (${label})`
      : started.status === 'queued'
        ? `queued release ${started.releaseId} of ${service} (${label}) behind release ${started.behind}: it starts when that release hands ${service} on`
        : started.status === 'superseded'
          ? `release ${started.releaseId} of ${service} (${label}) was superseded at once by newer release ${started.by}: only the newest push is released`
          : `release ${started.releaseId} of ${service} was already started for ${image.digest.slice(0, 19)} (one release per digest)`;
  if (!options.wait) {
    if (options.json) printJson(io, { ...started, service, image, region });
    else io.out(`${head}\n  execution: ${started.executionArn}\n  follow it: shipline status ${service}\n`);
    // A push superseded at once releases nothing, as a superseded release's outcome says.
    return started.status === 'superseded' ? (OUTCOME_EXIT.superseded ?? EXIT.failed) : EXIT.ok;
  }
  if (!options.json) io.out(`${head}; following it (at most ${formatDuration(timeoutSeconds)})\n`);
  const followed = await follow(session, started, service, timeoutSeconds, io, (line) => {
    if (!options.json) io.out(`${line}\n`);
  });
  if (options.json)
    printJson(io, {
      ...started,
      service,
      image,
      region,
      outcome: followed.outcome,
      exitCode: followed.exitCode,
      executionStatus: followed.executionStatus,
      transitions: followed.lines,
      ...(followed.record
        ? { versions: versionsOf(followed.record), reason: followed.record.reason ?? null }
        : {}),
    });
  return followed.exitCode;
};

/** `shipline deploy SERVICE --image ...`. */
export const registerDeployCommand = (
  program: import('commander').Command,
  context: CommandContext,
): void => {
  addAwsOptions(
    program
      .command('deploy')
      .description(
        'start a release of an image (the same input as an ECR push; the same digest starts one release); --wait follows it and exits with its outcome',
      )
      .argument('<service>', 'the service to release, as shipline.yml names it')
      .requiredOption(
        '--image <digest-or-uri>',
        'sha256:<64 hex>, REPOSITORY_URI@sha256:<64 hex>, or an ECR URI with a tag (its digest is looked up)',
      )
      .option(
        '--tag <tag>',
        'the version label people read (default: the tag of the URI, else the short digest)',
      )
      .option(
        '--commit-time <iso>',
        "when the change was made (the commit's time): DORA lead time counts from it",
      )
      .option(
        '--wait',
        'follow the release and exit 0 promoted, 1 rolled back or failed, 4 still running at --timeout',
        false,
      )
      .option(
        '--timeout <duration>',
        'how long --wait follows it, e.g. 30m or 2h',
        parseTimeout,
        DEFAULT_WAIT_TIMEOUT,
      ),
  )
    .addHelpText('after', context.help)
    .action(async (service: string, options: DeployOptions) => {
      context.exit(await runDeploy(service, options, context.io));
    });
};
