import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbWaitRegistry } from '../lib/adapters/dynamodb-wait-registry.ts';
import { SfnTaskTokens } from '../lib/adapters/sfn-workflow.ts';
import {
  abortRelease,
  approveRelease,
  type ResumedWait,
  type ResumeReport,
} from '../lib/use-cases/resume.ts';

/**
 * Exit codes of approve and abort beyond the CLI's common ones (0 ok, 2 usage, 3 internal): the release
 * waits on nothing the command can resume (it ended, has not reached a wait yet, or the id is wrong).
 */
export const RESUME_EXIT = { ok: 0, usage: 2, internal: 3, nothingToResume: 4 } as const;

export interface ResumeOptions {
  release: string;
  service?: string;
  reason?: string;
  table?: string;
  region?: string;
  json: boolean;
}

/** Where the command writes; the CLI passes the process streams, tests collect the text. */
export interface ResumeIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

/** A problem the person can fix by changing the command (exit 2). */
export class ResumeUsageError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'ResumeUsageError';
  }
}

const WAIT_WORDS: Record<ResumedWait['kind'], string> = {
  pause: 'the pause',
  bake: 'the bake watching',
  'rollback-window': 'the rollback window watching',
  ready: 'the wait for deployment',
  'lock-queue': 'the queue behind the running release of',
  rollout: 'the rollout watching',
};

const describeWait = (wait: ResumedWait, command: ResumeReport['command']): string =>
  `${WAIT_WORDS[wait.kind]}${wait.kind === 'pause' ? '' : ` ${wait.key}`} (${wait.service}): ${wait.result === 'resumed' ? (command === 'approve' ? 'resumed' : 'failed with ReleaseAborted') : 'already ended (its task had timed out or finished)'}`;

const summary = (report: ResumeReport, where: string): string => {
  if (report.status === 'nothing-to-resume') {
    const ended = report.waits.filter((wait) => wait.result === 'already-ended');
    if (ended.length > 0) {
      return [
        `nothing to ${report.command} for release ${report.releaseId} in ${where}: every wait found had already ended`,
        ...ended.map((wait) => `  ${describeWait(wait, report.command)}`),
      ].join('\n');
    }
    const found =
      report.found.length > 0
        ? `it waits on ${report.found.join(', ')}, which approve does not resume (abort does)`
        : 'it waits on nothing: it ended, has not reached a wait yet, or the id is wrong';
    return `nothing to ${report.command} for release ${report.releaseId} in ${where}: ${found}`;
  }
  const verb = report.command === 'approve' ? 'approved' : 'aborted';
  return [
    `${verb} release ${report.releaseId} (${where}):`,
    ...report.waits.map((w) => `  ${describeWait(w, report.command)}`),
  ].join('\n');
};

/**
 * `shipline approve` and `shipline abort`: finds the release's waits in the wait registry (the
 * WaitsByRelease index) and resumes them through Step Functions, with the AWS SDK's default credential
 * chain and region (`--region` overrides it). Returns the exit code.
 */
export const runResumeCommand = async (
  command: 'approve' | 'abort',
  options: ResumeOptions,
  io: ResumeIo,
): Promise<number> => {
  const table = options.table ?? io.env.SHIPLINE_TABLE;
  if (table === undefined || table === '')
    throw new ResumeUsageError(
      'which release table? Pass --table or set SHIPLINE_TABLE to the stack output ReleaseTableName (serverless.yml lets CloudFormation name the table)',
    );
  if (options.release.trim() === '') throw new ResumeUsageError('--release must name a release id');
  if (command === 'abort' && (options.reason ?? '').trim() === '')
    throw new ResumeUsageError('abort needs --reason TEXT: the rollback notification names it');
  const regionOption = options.region ? { region: options.region } : {};
  const dynamo = new DynamoDBClient(regionOption);
  const ports = {
    waits: new DynamoDbWaitRegistry(
      DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
      () => table,
    ),
    tokens: new SfnTaskTokens(new SFNClient(regionOption)),
  };
  let region: string;
  try {
    region = options.region ?? (await dynamo.config.region());
  } catch (error) {
    throw new ResumeUsageError(
      `no AWS region: pass --region, or set AWS_REGION or a region in your AWS profile (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  let report: ResumeReport;
  try {
    report =
      command === 'approve'
        ? await approveRelease(ports, {
            releaseId: options.release,
            ...(options.service !== undefined ? { service: options.service } : {}),
          })
        : await abortRelease(ports, {
            releaseId: options.release,
            reason: options.reason ?? '',
            ...(options.service !== undefined ? { service: options.service } : {}),
          });
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException')
      throw new ResumeUsageError(
        `table "${table}" was not found in ${region}: check --table / SHIPLINE_TABLE and --region (${error.message})`,
      );
    throw error;
  }
  const where = `table ${table}, ${region}`;
  if (options.json) io.out(`${JSON.stringify({ ...report, table, region }, null, 2)}\n`);
  else if (report.status === 'done') io.out(`${summary(report, where)}\n`);
  else io.err(`shipline: ${summary(report, where)}\n`);
  return report.status === 'done' ? RESUME_EXIT.ok : RESUME_EXIT.nothingToResume;
};
