import { type Command, Option } from 'commander';
import type { OperationRequest, OperationResult } from '../lib/domain/operations.ts';
import type { AwsOptions } from './aws.ts';
import { type CliIo, CliUsageError, EXIT, printJson } from './io.ts';

/** What each command file registers its commands with. */
export interface CommandContext {
  io: CliIo;
  /** Stores the exit code of the command that ran. */
  exit(code: number): void;
  /** The exit-code and environment help printed after each command's help. */
  help: string;
}

/** The options every command that talks to the account takes. */
export const addAwsOptions = (command: Command): Command =>
  command
    .option(
      '--stack <name>',
      "the pipeline's CloudFormation stack, whose outputs name its table and functions (default: $SHIPLINE_STACK, else shipline-dev)",
    )
    .option(
      '--table <name>',
      'the release table (default: $SHIPLINE_TABLE, else the stack output ReleaseTableName)',
    )
    .option('--region <region>', "the pipeline's region (default: AWS_REGION, else your AWS profile's)")
    .option('--profile <name>', 'the AWS profile (default: AWS_PROFILE, else the default credential chain)')
    .option('--json', 'print one machine-readable JSON document instead', false);

type OperateOptions = AwsOptions & {
  release?: string;
  service?: string;
  reason?: string;
  full?: boolean;
  json: boolean;
};

/** Which command of `operate` each CLI command gives. */
type CliCommand = 'promote' | 'abort' | 'rollback' | 'resume';

const awsOptions = (options: OperateOptions): AwsOptions => ({
  ...(options.stack !== undefined ? { stack: options.stack } : {}),
  ...(options.table !== undefined ? { table: options.table } : {}),
  ...(options.region !== undefined ? { region: options.region } : {}),
  ...(options.profile !== undefined ? { profile: options.profile } : {}),
});

/**
 * Runs one operator command through `operate` (the Slack buttons' use case too) with the caller's AWS
 * identity as the actor. Returns the exit code: 0 done, 2 nothing to act on.
 */
export const runOperateCommand = async (
  command: CliCommand,
  serviceArgument: string | undefined,
  options: OperateOptions,
  io: CliIo,
): Promise<number> => {
  const reason = options.reason?.trim();
  if ((command === 'abort' || command === 'rollback') && !reason)
    throw new CliUsageError(
      `${command} needs --reason TEXT: the rollback notification and the history name it`,
    );
  if (options.release !== undefined && options.release.trim() === '')
    throw new CliUsageError('--release must name a release id');
  if (serviceArgument !== undefined && options.service !== undefined && serviceArgument !== options.service)
    throw new CliUsageError(
      `the service is named twice, as ${serviceArgument} and --service ${options.service}: name it once`,
    );
  const named = serviceArgument ?? options.service;
  if (named === undefined && options.release === undefined)
    throw new CliUsageError(`${command} needs the service: shipline ${command} SERVICE`);
  // The SDK loads only when a command talks to AWS: `simulate`, `plan` and `validate` stay quick to start.
  const { AwsSession, explainAwsError } = await import('./aws.ts');
  const { OperationInputError, operate } = await import('../lib/use-cases/operate.ts');
  const session = new AwsSession(awsOptions(options), io);
  const ports = await session.operatePorts();
  const region = await session.region();
  const where = { table: ports.table, region };
  let service = named;
  let result: OperationResult;
  try {
    if (service === undefined) {
      // Only the release is named (as `approve --release ID` always allowed): its waits say whose it is.
      const [wait] = await ports.waits.findByRelease(options.release as string);
      service = wait?.service;
    }
    if (service === undefined) {
      result = {
        status: 'nothing-to-act-on',
        command: command === 'promote' && options.full ? 'promote-full' : command,
        service: '',
        releaseId: options.release,
        message: `release ${options.release} waits on nothing: it ended, has not reached a wait yet, or the id is wrong`,
      };
    } else {
      const request: OperationRequest = {
        command: command === 'promote' && options.full ? 'promote-full' : command,
        service,
        actor: await session.caller(),
        ...(options.release !== undefined ? { releaseId: options.release } : {}),
        ...(reason ? { reason } : {}),
      };
      result = await operate(ports, request);
    }
  } catch (error) {
    if (error instanceof OperationInputError) throw new CliUsageError(error.message);
    if (error instanceof Error && error.name === 'ResourceNotFoundException')
      throw new CliUsageError(
        `table "${ports.table}" was not found in ${region}: check --table / SHIPLINE_TABLE, --stack and --region (${error.message})`,
      );
    return explainAwsError(error, `running ${command}`);
  }
  if (options.json) printJson(io, { ...result, ...where });
  else if (result.status === 'done') io.out(`${result.message}\n`);
  else io.err(`shipline: ${result.message}\n`);
  return result.status === 'done' ? EXIT.ok : EXIT.usage;
};

/** `promote`, `abort`, `rollback` and `resume` (alias `approve`). */
export const registerOperateCommands = (program: Command, context: CommandContext): void => {
  const action =
    (command: CliCommand) =>
    async (service: string | undefined, options: OperateOptions): Promise<void> => {
      context.exit(await runOperateCommand(command, service, options, context.io));
    };
  const releaseOption = () =>
    new Option(
      '--release <id>',
      "act on this release (the execution name) instead of the service's current one",
    );
  const serviceOption = () =>
    new Option(
      '--service <name>',
      'the service (as the SERVICE argument; kept for older scripts)',
    ).hideHelp();

  addAwsOptions(
    program
      .command('promote')
      .description(
        'end the current bake as passed (the release goes on with its next step), or end the rollback window',
      )
      .argument('<service>', 'the service whose release to promote')
      .option('--full', 'skip the rest of the plan: the new version goes to 100% at once', false)
      .option('--reason <text>', 'why (kept in the release history with who asked)')
      .addOption(releaseOption()),
  )
    .addHelpText('after', context.help)
    .action(action('promote'));

  addAwsOptions(
    program
      .command('abort')
      .description(
        'abort the current release whatever it waits on (bake, pause, readiness, rollback window): it rolls back. A push queued behind it, named with --release (or the service when nothing else of it runs), is withdrawn instead: it never starts',
      )
      .argument('[service]', 'the service whose release to abort (or name the release with --release)')
      .option(
        '--reason <text>',
        'why (required): the rolled_back notification (or, for a withdrawn queued push, the failed one) names it',
      )
      .addOption(releaseOption())
      .addOption(serviceOption()),
  )
    .addHelpText('after', context.help)
    .action(action('abort'));

  addAwsOptions(
    program
      .command('rollback')
      .description(
        'back to the previous version: aborts a running release or one in its rollback window (the old slot is still warm); otherwise releases the previous promoted digest again',
      )
      .argument('<service>', 'the service to roll back')
      .option('--reason <text>', 'why (required): the notifications and the history name it')
      .addOption(releaseOption()),
  )
    .addHelpText('after', context.help)
    .action(action('rollback'));

  addAwsOptions(
    program
      .command('resume')
      .alias('approve')
      .description('approve a release paused at a pause step: it goes on with its next step')
      .argument(
        '[service]',
        'the service whose paused release to resume (or name the release with --release)',
      )
      .option('--reason <text>', 'why (kept in the release history with who asked)')
      .addOption(releaseOption())
      .addOption(serviceOption()),
  )
    .addHelpText('after', context.help)
    .action(action('resume'));
};
