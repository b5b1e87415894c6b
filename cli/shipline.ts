import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { ServiceConfig, ShiplineConfig } from '../lib/config/schema.ts';
import { formatDuration } from '../lib/duration.ts';
import { registerDeployCommand } from './deploy.ts';
import { registerDoraCommand } from './dora.ts';
import { type CliIo, CliUsageError, EXIT, processIo } from './io.ts';
import { registerOperateCommands } from './operate.ts';
import { registerStatusCommands } from './status.ts';

const EXIT_CODES_HELP = `
Exit codes:
  0  ok; deploy --wait: the release was promoted
  1  simulate: an expectation of the scenario failed; deploy --wait: the release rolled back or failed
  2  usage error or invalid input (unknown command or option, invalid scenario or shipline.yml, access
     denied), or nothing to act on (promote, abort, rollback, resume: the service has nothing the command acts on;
     dora: no release ended in the period)
  3  internal error (one line; the stack trace with --debug or SHIPLINE_DEBUG=1)
  4  deploy --wait: the timeout passed and the release is still running

Environment:
  NO_COLOR          any non-empty value: no colour (as --no-color); colour is only used on a terminal
  SHIPLINE_CONFIG   the shipline.yml that validate and plan read by default (and that deploy packages)
  SHIPLINE_DEBUG=1  print the stack trace of an internal error (as --debug)
  SHIPLINE_STACK    the pipeline's CloudFormation stack the account commands read (as --stack; default
                    shipline-dev): its outputs name the release table, the state machine and the trigger function
  SHIPLINE_TABLE    the release table (as --table; default: the stack output ReleaseTableName)
  AWS_REGION, AWS_PROFILE, ...  deploy, status, history, promote, abort, rollback, resume and dora use the AWS
                    SDK's default credential chain and region (as --region, --profile)`;

/** Bad input a person can fix (a scenario or config that does not validate): exit 2, message only. */
const InputError = CliUsageError;

const packageVersion = (): string =>
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;

/**
 * Colour only when a person reads a terminal: `--no-color` and a non-empty NO_COLOR (https://no-color.org)
 * turn it off, FORCE_COLOR turns it on where no terminal is attached (CI logs), as Node and commander read it.
 * Read from the run's io (the process's environment and stdout in a terminal), as every command reads it.
 */
const wantsColour = (flag: boolean, io: CliIo): boolean => {
  const { NO_COLOR, FORCE_COLOR, TERM } = io.env;
  if (!flag || (NO_COLOR !== undefined && NO_COLOR !== '')) return false;
  if (FORCE_COLOR !== undefined) return FORCE_COLOR !== '0' && FORCE_COLOR !== 'false';
  return io.isTTY === true && TERM !== 'dumb';
};

/** `--seed`: an integer 0-4294967295, or a usage error naming the bad value. */
const parseSeed = (value: string): number => {
  const seed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(seed) || seed > 4_294_967_295)
    throw new InvalidArgumentError(`--seed must be an integer from 0 to 4294967295, got "${value}"`);
  return seed;
};

const simulate = async (
  options: { scenario: string; json: boolean; seed?: number; report?: string },
  colour: boolean,
  io: CliIo,
): Promise<number> => {
  // A process-wide setting of this command (runs never write process.env): the SDK's Node version notice
  // is about the machine, not the simulated account.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { ScenarioError, loadScenario, runScenario } = await import('../sandbox/run-scenario.ts');
  const { ansi, formatEntry, formatSummary, plain } = await import('../sandbox/print.ts');
  const { stopLocalDynamoDb } = await import('../sandbox/local-dynamodb.ts');
  const paint = colour ? ansi : plain;
  try {
    const { scenario, baseDir } = loadScenario(options.scenario);
    const report = options.report === undefined ? undefined : await import('../sandbox/report/write.ts');
    report?.checkReportPath(options.report ?? '');
    const start = new Date(scenario.world.start).getTime();
    // The header comes with the run's first entry: a scenario the run refuses (a version, service or fault
    // that does not exist) prints its error alone, as a file the schema refuses does.
    let header = options.json
      ? ''
      : `Scenario: ${scenario.name}\n${scenario.description ? `${scenario.description.trim()}\n` : ''}\n`;
    const printHeader = () => {
      if (header !== '') io.out(header);
      header = '';
    };
    const result = await runScenario(scenario, baseDir, {
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      // The JSON result and the report carry each service's time series; the text output needs none.
      series: options.json || options.report !== undefined,
      onEntry: options.json
        ? undefined
        : (entry, label) => {
            printHeader();
            io.out(`${formatEntry(entry, start, label, paint)}\n`);
          },
    });
    printHeader();
    if (report && options.report !== undefined)
      report.writeReport(options.report, { result, scenario, file: options.scenario });
    // The JSON document is a function of the scenario and the seed alone, so two runs with the same seed
    // print the same bytes: the wall time a run took (the machine's, not the run's) is in the text only.
    const { wallMs: _wallMs, ...document } = result;
    io.out(options.json ? `${JSON.stringify(document, null, 2)}\n` : `${formatSummary(result, paint)}\n`);
    if (options.report !== undefined && !options.json) io.out(`Report:          ${options.report}\n`);
    return result.expectations && !result.expectations.passed ? EXIT.failed : EXIT.ok;
  } catch (error) {
    if (error instanceof ScenarioError) throw new InputError(error.message);
    throw error;
  } finally {
    await stopLocalDynamoDb();
  }
};

/** One phrase per strategy: `canary: 5% -> 25% -> 100%`, `linear: 10% every 3m`, `blue-green`. */
const strategySummary = (service: ServiceConfig): string => {
  const { strategy } = service;
  switch (strategy.type) {
    case 'canary':
      return `canary: ${strategy.steps.map((step) => step.percent).join('% -> ')}%`;
    case 'linear':
      return `linear: ${strategy.stepPercent}% every ${formatDuration(strategy.interval)}`;
    default:
      return strategy.type;
  }
};

/**
 * Reads and validates the config a command names (default: $SHIPLINE_CONFIG, else ./shipline.yml). The
 * environment is the command's own (`io.env`), as every command reads it: a scenario's operator runs
 * validate and plan in the simulated terminal, whose SHIPLINE_CONFIG is the scenario's config. The config
 * schema (zod, the ARN parser, yaml) loads here, when a command reads a config: `--version`, `--help` and
 * the account commands start without it.
 */
const readConfig = async (
  option: string | undefined,
  io: CliIo,
): Promise<{ file: string; config: ShiplineConfig }> => {
  const file = option ?? io.env.SHIPLINE_CONFIG ?? 'shipline.yml';
  const { loadConfigFile } = await import('../lib/config/load.ts');
  const { ConfigError } = await import('../lib/errors.ts');
  try {
    return { file, config: loadConfigFile(file) };
  } catch (error) {
    if (error instanceof ConfigError) throw new InputError(error.message);
    throw error;
  }
};

/** What kind of target a service releases to, in a few words. */
const TARGET_WORDS = {
  'ecs-alb':
    'ecs-alb (blue and green slots behind an ALB listener rule; the new version goes to the idle slot)',
  'ecs-rolling': 'ecs-rolling (one ECS service updated in place)',
} as const;

/** What an inconclusive bake (its alarms without data the whole time) does, by the service's policy. */
const INCONCLUSIVE_WORDS = {
  fail: () => 'a bake without alarm data rolls back',
  pass: () => 'a bake without alarm data passes',
  pause: (seconds: number) =>
    `a bake without alarm data waits for a person (at most ${formatDuration(seconds)}), then rolls back`,
} as const;

const plan = async (
  options: { config?: string; service?: string; json: boolean },
  io: CliIo,
): Promise<number> => {
  const { file, config } = await readConfig(options.config, io);
  const { findService } = await import('../lib/config/load.ts');
  const { buildPlan } = await import('../lib/strategies/index.ts');
  const names = options.service === undefined ? Object.keys(config.services) : [options.service];
  const plans = names.map((name) => {
    const found = findService(config, name);
    if (!found)
      throw new InputError(
        `service "${name}" is not declared in ${file} (declared: ${Object.keys(config.services).join(', ')})`,
      );
    return {
      name,
      strategy: found.strategy.type,
      target: found.target.type,
      inconclusive: found.inconclusive,
      ...(found.inconclusivePauseTimeout !== undefined
        ? { inconclusivePauseTimeout: found.inconclusivePauseTimeout }
        : {}),
      plan: buildPlan(found, {}),
    };
  });
  if (options.json) {
    io.out(`${JSON.stringify({ config: file, services: plans }, null, 2)}\n`);
    return EXIT.ok;
  }
  const text = plans.map((service) =>
    [
      `${service.name}: ${service.strategy} on ${TARGET_WORDS[service.target]}`,
      ...service.plan.steps.map((step) => `  ${String(step.index + 1).padStart(2)}. ${step.label}`),
      `  bakes ${formatDuration(service.plan.totalBakeSeconds)} in all; ${INCONCLUSIVE_WORDS[service.inconclusive](service.inconclusivePauseTimeout ?? 0)}`,
    ].join('\n'),
  );
  io.out(`${text.join('\n\n')}\n`);
  return EXIT.ok;
};

const validate = async (options: { config?: string; json?: boolean }, io: CliIo): Promise<number> => {
  const { file, config } = await readConfig(options.config, io);
  if (options.json) {
    io.out(
      `${JSON.stringify({ config: file, valid: true, services: Object.entries(config.services).map(([name, s]) => ({ name, strategy: s.strategy.type, target: s.target.type })) }, null, 2)}\n`,
    );
    return EXIT.ok;
  }
  const services = Object.entries(config.services).map(
    ([name, s]) =>
      `${name} (${strategySummary(s)}${s.target.type === 'ecs-alb' ? '' : ` on ${s.target.type}`})`,
  );
  io.out(`${file} is valid: ${services.join(', ')}\n`);
  return EXIT.ok;
};

const schema = async (options: { out: string; json?: boolean }, io: CliIo): Promise<number> => {
  const { scenarioSchema } = await import('../sandbox/scenario/schema.ts');
  const { configJsonSchema } = await import('../lib/config/load.ts');
  const z = await import('zod');
  const { out } = options;
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'shipline.schema.json'), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  writeFileSync(
    path.join(out, 'scenario.schema.json'),
    `${JSON.stringify(z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }), null, 2)}\n`,
  );
  const written = [path.join(out, 'shipline.schema.json'), path.join(out, 'scenario.schema.json')];
  io.out(
    options.json
      ? `${JSON.stringify({ wrote: written }, null, 2)}\n`
      : `wrote ${out}/shipline.schema.json and ${out}/scenario.schema.json\n`,
  );
  return EXIT.ok;
};

/**
 * The command tree; each action stores its exit code in `result.code`. Everything it writes goes to `io`
 * (the sandbox runs scenario `cli:` events through the same program).
 */
export const buildProgram = (result: { code: number }, io: CliIo = processIo()): Command => {
  const program = new Command('shipline')
    .description('Progressive delivery for AWS: canary releases on ECS behind an ALB, run by Step Functions.')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .option('--no-color', 'no colour in the output (also: NO_COLOR=1)')
    .option('--debug', 'print the stack trace of an internal error (also: SHIPLINE_DEBUG=1)')
    .helpCommand('help [command]', 'show the help of a command')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) })
    .addHelpText('after', EXIT_CODES_HELP);

  program
    .command('simulate')
    .description('run a scenario in the local sandbox (no AWS account): live timeline, then a summary')
    .requiredOption('-s, --scenario <file>', 'the scenario file (YAML), e.g. examples/healthy-canary.yml')
    .option(
      '--json',
      "print one machine-readable JSON document instead (with each service's time series)",
      false,
    )
    .option(
      '--report <file>',
      "also write a self-contained HTML page: outcome, timeline, and a plot per service of each version's traffic share, error rate and latency with the alarms and the rollback or promotion marked",
    )
    .option(
      '--seed <n>',
      "seed of the run's random source (retry jitter, ids); default: the scenario's seed, else 1",
      parseSeed,
    )
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (options: { scenario: string; json: boolean; seed?: number; report?: string }) => {
      result.code = await simulate(options, wantsColour(program.opts<{ color: boolean }>().color, io), io);
    });

  program
    .command('validate')
    .description('validate a shipline.yml; every error names the path of the bad field')
    .option('-c, --config <file>', 'the config to validate (default: $SHIPLINE_CONFIG, else ./shipline.yml)')
    .option('--json', 'print one machine-readable JSON document instead', false)
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (options: { config?: string; json: boolean }) => {
      result.code = await validate(options, io);
    });

  program
    .command('plan')
    .description("print each service's plan: its strategy, its target and the numbered steps a release takes")
    .option('-c, --config <file>', 'the config to read (default: $SHIPLINE_CONFIG, else ./shipline.yml)')
    .option('--service <name>', 'only this service')
    .option('--json', 'print one machine-readable JSON document instead', false)
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (options: { config?: string; service?: string; json: boolean }) => {
      result.code = await plan(options, io);
    });

  const commandContext = {
    io,
    exit: (code: number) => {
      result.code = code;
    },
    help: EXIT_CODES_HELP,
  };
  registerDeployCommand(program, commandContext);
  registerStatusCommands(program, commandContext);
  registerOperateCommands(program, commandContext);
  registerDoraCommand(program, commandContext);

  program
    .command('schema')
    .description('write the JSON Schemas of shipline.yml and of scenario files')
    .addOption(new Option('--out <dir>', 'the directory to write them to').default('schema'))
    .option('--json', 'print one machine-readable JSON document instead', false)
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (options: { out: string; json: boolean }) => {
      result.code = await schema(options, io);
    });

  return program;
};

/** Runs one command line (without the program name) and returns its exit code. */
export const runCli = async (argv: readonly string[], io: CliIo = processIo()): Promise<number> => {
  const result = { code: EXIT.ok as number };
  const program = buildProgram(result, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.code;
  } catch (error) {
    // Commander has already printed its message (and the usage) to stderr; help and version exit 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof InputError) {
      io.err(`shipline: ${error.message}\n`);
      return EXIT.usage;
    }
    const debug = program.opts<{ debug?: boolean }>().debug === true || io.env.SHIPLINE_DEBUG === '1';
    if (debug && error instanceof Error && error.stack) io.err(`${error.stack}\n`);
    else
      io.err(
        `shipline: internal error: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]} (--debug or SHIPLINE_DEBUG=1 prints the stack trace)\n`,
      );
    return EXIT.internal;
  }
};

/**
 * True when this module is the program being run (bin/shipline.mjs, or `node --import tsx cli/shipline.ts`),
 * false when it is imported (the sandbox runs scenario `cli:` events through `runCli`).
 */
const isEntry = (): boolean => {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    const real = realpathSync(script);
    return [import.meta.url, new URL('../bin/shipline.mjs', import.meta.url).href].some(
      (url) => fileURLToPath(url) === real,
    );
  } catch {
    return false;
  }
};

if (isEntry()) {
  // A process-wide setting of the program (never of an import): the SDK's Node version notice is about the
  // machine, and would land in every CI log that runs shipline deploy.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // A reader that stops early (`shipline simulate ... | head`) closes the pipe: end quietly, as Unix tools
  // do, instead of dying on an unhandled EPIPE with a stack trace.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? EXIT.ok);
    });
  // Not awaited at the top level: the module must finish loading while the command runs, because a
  // scenario's `cli:` events import it again (`shipline simulate` running `shipline promote`), and an
  // import of a module still awaiting its own top level waits forever.
  void runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `shipline: internal error: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exitCode = EXIT.internal;
    },
  );
}
