import './polyfills.ts';
import { readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import {
  createDynamoDbDocumentClient,
  DynamoDbReleaseStore,
} from '../lib/adapters/dynamodb-release-store.ts';
import { describeIssues, locator, YAML_MAX_ALIAS_COUNT, yamlAliasMessage } from '../lib/config/load.ts';
import type { ShiplineConfig } from '../lib/config/schema.ts';
import type { DoraFigures } from '../lib/domain/dora.ts';
import type { ReleaseEventMessage } from '../lib/domain/progress.ts';
import { parseDurationSeconds } from '../lib/duration.ts';
import type { ReleaseRecord } from '../lib/ports/release-store.ts';
import { deliveryRuleProblems } from './aws/delivery.ts';
import { TrafficSeries } from './aws/series.ts';
import { SimulatedWorld, type TimelineEntry } from './aws/world.ts';
import { runInWorld } from './context.ts';
import { resolveFunctionConfigs } from './function-config.ts';
import { IamEnforcer } from './iam/enforce.ts';
import { operatorPolicy, resolveStatements } from './iam/operator.ts';
import {
  readServerlessDocument,
  resolveEventPatterns,
  resolveRolePolicies,
  resolveSnsSubscriptions,
} from './iam/policies.ts';
import { installSandboxClients } from './intercept.ts';
import { declaredFunctionsOf, LambdaRuntime, readDeclaredFunctions } from './lambda-runtime.ts';
import { createTable, createWorldDynamoDb, tableDefinition } from './local-dynamodb.ts';
import { DEFAULT_SEED, SeededRandom } from './random.ts';
import { type CliRun, checkCliExpectations } from './run/cli.ts';
import { ScenarioError } from './run/errors.ts';
import { seedPipelineResources } from './run/pipeline-resources.ts';
import { scheduleScenario } from './run/schedule.ts';
import { buildVersionCatalog, seedReleaseTable, seedWorld } from './run/seed-world.ts';
import { checkServiceExpectations } from './run/service-expectations.ts';
import { checkSlackExpectations, type SlackSummary, summariseSlack } from './run/slack-summary.ts';
import { executionIndex, formatOffset, type ServiceResult, summarise } from './run/summarise.ts';
import {
  adoptConfigPlacement,
  type PackagedConfig,
  resolveConfig,
  scenarioSources,
  unnamedPlacement,
  validateScenario,
} from './run/validate.ts';
import { checkExpectations } from './scenario/expectations.ts';
import { checkNames } from './scenario/faults.ts';
import { type Scenario, scenarioSchema } from './scenario/schema.ts';
import { installDeliveryFaults, scenarioTiming } from './scenario/timing.ts';
import { VirtualClock } from './virtual-clock.ts';

export { checkExpectations } from './scenario/expectations.ts';
export type { ServiceResult };
export { formatOffset, ScenarioError };

/** The repository root: the sandbox runs the files that are deployed (serverless.yml, ASL, handlers). */
export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export type SandboxOutcome = 'promoted' | 'rolled_back' | 'failed' | 'rejected' | 'superseded' | 'ignored';

export interface ScenarioResult {
  scenario: string;
  outcome: SandboxOutcome;
  reason: string | null;
  service: string;
  fromVersion: string | null;
  toVersion: string | null;
  servingVersion: string | null;
  traffic: Record<string, number>;
  /** The listener rule's action types at the end, in order, e.g. `['authenticate-oidc', 'forward']`. */
  listenerRuleActions: string[];
  executions: Array<{
    name: string;
    version: string;
    status: string;
    outcome: SandboxOutcome;
    error?: string;
    cause?: string;
    /** What the execution's last step said (the note of the cursor it ended with), when it succeeded. */
    lastNote?: string;
    stateTransitions: number;
  }>;
  releases: ReleaseRecord[];
  /** `service`: the service an entry concerns, where known (its execution's, or the push's). */
  timeline: Array<{
    t: number;
    time: string;
    kind: string;
    text: string;
    execution?: string;
    service?: string;
  }>;
  notifications: Array<{ t: number; subject: string; message: Record<string, unknown> }>;
  /**
   * Every message the release's functions published on the internal release-events topic, in publish order
   * (each transition of every release; Slack and the metrics function subscribe to these).
   */
  releaseEvents: Array<{ t: number; message: ReleaseEventMessage }>;
  /**
   * What each trigger invocation answered, in the order they ended: `started`, `duplicate`, `ignored`
   * (with its reason), or `error` (with the error's name and message; a retried event appears per attempt).
   */
  triggers: Array<{ t: number; status: string; reason?: string; executionName?: string; service?: string }>;
  /** How many times the pipeline called each AWS API, e.g. `{ "ECS:UpdateService": 1 }` (DynamoDB excluded). */
  awsCalls: Record<string, number>;
  /** Events a function failed on after every retry, as they would wait in the dead-letter queue. */
  deadLetters: Array<{ t: number; fn: string; error: string; detailType: string }>;
  stateTransitions: number;
  rollbackReactionSeconds: number | null;
  /** Seconds from regression onset to the first watched alarm's ALARM (see sandbox/scenario/detection.ts). */
  detectionSeconds: number | null;
  /** Requests the released version served while regressed (see sandbox/scenario/detection.ts). */
  exposedRequests: number;
  /** ModifyRule calls on the production listener rule (see `ServiceResult.productionWeightChanges`). */
  productionWeightChanges: number;
  virtualSeconds: number;
  wallMs: number;
  /** The seed of the run's random source: the same seed gives the same timeline. */
  seed: number;
  /**
   * Each service of the world: its release's outcome, versions, traffic, notifications, executions and
   * records. The top-level fields are the scenario's own service's (its entry here).
   */
  services: Record<string, ServiceResult>;
  /**
   * DORA's five figures of each service over the run (its start to its end), computed from the release
   * records as `shipline dora` computes them (lib/domain/dora.ts).
   */
  dora: Record<string, DoraFigures>;
  /** The DORA datapoints the release-metrics function published (EMF, extracted into Shipline/DORA). */
  doraMetrics: Array<{ t: number; metric: string; service: string; environment: string; value: number }>;
  /** The CLI commands people ran (scenario `cli`, `approve` and `abort` events): output and exit code. */
  cli: CliRun[];
  /**
   * The scenario's faults that never applied (a command or state never reached, a delivery rule no event
   * matched), each named by its path: what it set out to inject did not happen.
   */
  unusedFaults: string[];
  expectations: { passed: boolean; failures: string[] } | null;
  /** The Slack workspace at the end (threads, refusals, clicks), when the world has one or a click was made. */
  slack?: SlackSummary;
}

/** Parses and validates a scenario file; errors name the bad field's path. */
export const loadScenario = (file: string): { scenario: Scenario; baseDir: string } => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ScenarioError(`cannot read scenario ${file}: ${(error as Error).message}`);
  }
  // Merge keys (`<<: *alarm`) as YAML 1.1 and most tools read them (docker compose, GitLab CI): a scenario
  // repeats alarms and versions, and without them `<<` would be a key the schema refuses.
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, merge: true, uniqueKeys: true });
  const [first] = document.errors;
  if (first) throw new ScenarioError(`scenario ${file} is not valid YAML: ${first.message}`);
  if (document.contents === null)
    throw new ScenarioError(
      `scenario ${file} is empty: a scenario is a mapping with at least name, world, versions and trigger`,
    );
  // Aliases that would expand a small file into a huge document are refused, as in shipline.yml.
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: YAML_MAX_ALIAS_COUNT });
  } catch (error) {
    throw new ScenarioError(`scenario ${file} is not valid YAML: ${yamlAliasMessage(error)}`);
  }
  // Each issue names the line and column of the field as well as its path, as shipline.yml's do.
  const locate = locator(document, lines, file);
  const scenario = parseScenario(value, file, locate);
  scenarioSources.set(scenario, { file, locate });
  return { scenario, baseDir: path.dirname(path.resolve(file)) };
};

/**
 * Validates a parsed scenario; each error names the bad field's path (and where it is in the file, when
 * `locate` finds it).
 */
export const parseScenario = (
  document: unknown,
  source = 'scenario',
  locate?: (path: readonly PropertyKey[]) => string | undefined,
): Scenario => {
  const result = scenarioSchema.safeParse(document);
  if (!result.success)
    throw new ScenarioError(`${source} is invalid:\n  ${describeIssues(result.error, locate).join('\n  ')}`);
  // Whether the world named its account and Region: one that did not is its config's (adoptConfigPlacement).
  const world = (document as { world?: { account?: unknown; region?: unknown } }).world;
  unnamedPlacement.set(result.data, {
    account: world?.account === undefined,
    region: world?.region === undefined,
  });
  return result.data;
};

/**
 * Traffic flows, metrics are published and alarms evaluate for this long before the scenario's start,
 * so alarms begin the release with a metric history, as they would in a real account.
 */
export const WARM_UP_SECONDS = 15 * 60;

/**
 * The release table of every run: named as CloudFormation names a table whose template sets no TableName
 * (`<stack>-<logical id>-...`), and the same in every run and process (each world has its own DynamoDB), so a
 * run's output (a pause's `shipline approve --table` hint, a CLI message) is the same for a seed, byte for byte.
 */
export const RELEASE_TABLE = 'shipline-sandbox-ReleaseTable';

/** One Lambda runtime per repository and process: worlds share warm containers' modules, as handlers are stateless. */
const runtimes = new Map<string, LambdaRuntime>();
/** Each runtime's module loading, started once (concurrent runs wait for the same import). */
const lambdaLoads = new WeakMap<LambdaRuntime, Promise<void>>();

type RunOptions = {
  onEntry?: (entry: TimelineEntry, label: (execution?: string) => string) => void;
  /** The serverless document whose roles the sandbox enforces (default: serverless.yml on disk). */
  serverlessDocument?: unknown;
  /** The config the roles were packaged from (default: the run's own config, as one deploy would). */
  roleConfig?: ShiplineConfig;
  /** Seed of the run's random source; overrides the scenario's `seed` (default DEFAULT_SEED). */
  seed?: number;
  /**
   * Runs the functions `serverlessDocument` declares (handler paths from the repository root) rather than
   * serverless.yml's: a test adds a function (an SNS subscriber) of its own.
   */
  functionsFromDocument?: boolean;
  /** Record each service's time series (`ServiceResult.series`), for a picture of the run. Default false. */
  series?: boolean;
  /**
   * The DynamoDB server the world's table is created on (a test reads it after the run); default a server of
   * the world's own, gone with it. The table is named as one deployment names it, so a server holds one run's.
   */
  dynamoDb?: Server;
};

/**
 * Runs a scenario end to end: the real handlers, state machine and adapters against a simulated
 * account, on a virtual clock. `onEntry` receives the timeline as it happens. The packaged config's
 * temporary directory is removed when the run ends, whether it succeeded or threw.
 */
export const runScenario = async (
  scenario: Scenario,
  baseDir: string,
  options: RunOptions = {},
): Promise<ScenarioResult> => {
  const wallStart = performance.now();
  const packagedConfig = resolveConfig(scenario, baseDir);
  adoptConfigPlacement(scenario, packagedConfig.config);
  try {
    return await runPackaged(scenario, packagedConfig, options, wallStart);
  } finally {
    rmSync(packagedConfig.taskRoot, { recursive: true, force: true });
  }
};

const runPackaged = async (
  scenario: Scenario,
  { config, configPath, taskRoot, sourcePath }: PackagedConfig,
  options: RunOptions,
  wallStart: number,
): Promise<ScenarioResult> => {
  const { serviceName, services } = validateScenario(scenario, config);
  const misnamed = checkNames(scenario, REPOSITORY_ROOT);
  if (misnamed) throw new ScenarioError(misnamed);

  const { region, account } = scenario.world;
  // The world's own DynamoDB: its table has the same name in every run, whatever else runs in the process.
  const dynamoDb = options.dynamoDb ?? createWorldDynamoDb();
  const tableName = RELEASE_TABLE;
  const topicArn = `arn:aws:sns:${region}:${account}:shipline-sandbox-notifications`;
  const releaseEventsTopicArn = `arn:aws:sns:${region}:${account}:shipline-sandbox-release-events`;
  const stateMachineName = 'shipline-sandbox-release';
  const stateMachineArn = `arn:aws:states:${region}:${account}:stateMachine:${stateMachineName}`;
  // What lib reads in this world outside any function's invocation (a run never writes process.env): the
  // sandbox's own code, and a test acting in the world as a person would, find the pipeline's resources here.
  // An invocation reads exactly its function's Lambda configuration instead (function-config.ts).
  const env = {
    SHIPLINE_CONFIG_PATH: configPath,
    SHIPLINE_TABLE: tableName,
    SHIPLINE_TOPIC_ARN: topicArn,
    SHIPLINE_RELEASE_EVENTS_TOPIC_ARN: releaseEventsTopicArn,
    SHIPLINE_STATE_MACHINE_ARN: stateMachineArn,
    SHIPLINE_LOG_LEVEL: process.env.SHIPLINE_LOG_LEVEL ?? 'SILENT',
    AWS_REGION: region,
  };
  await createTable(dynamoDb, tableDefinition(REPOSITORY_ROOT, tableName));

  const start = new Date(scenario.world.start);
  const clock = new VirtualClock(new Date(start.getTime() - WARM_UP_SECONDS * 1000));
  installSandboxClients();
  let lambda = runtimes.get(REPOSITORY_ROOT);
  if (options.functionsFromDocument && options.serverlessDocument) {
    // A test's own document: its functions, loaded for this run (modules already imported are cached).
    lambda = new LambdaRuntime(declaredFunctionsOf(options.serverlessDocument, REPOSITORY_ROOT));
  } else if (!lambda) {
    lambda = new LambdaRuntime(readDeclaredFunctions(REPOSITORY_ROOT));
    runtimes.set(REPOSITORY_ROOT, lambda);
  }

  const versions = buildVersionCatalog(scenario);
  let world: SimulatedWorld | undefined;
  const index = executionIndex(() => world);
  const label = index.label;
  world = new SimulatedWorld({
    clock,
    lambda,
    region,
    account,
    versions,
    requestsPerMinute: scenario.world.requestsPerMinute,
    timing: scenarioTiming(scenario.world),
    random: new SeededRandom(options.seed ?? scenario.seed ?? DEFAULT_SEED),
    // In a world of several services, each entry says which one it concerns (its execution's, where known).
    onRecord: (entry) => {
      if (!options.onEntry) return;
      const service = entry.service ?? (entry.execution ? index.service(entry.execution) : undefined);
      options.onEntry(
        services.size > 1 && service ? { ...entry, service } : { ...entry, service: undefined },
        label,
      );
    },
  });
  world.cloudwatch.timing = { ...scenario.world.cloudwatch };
  if (options.series) world.traffic.series = new TrafficSeries();
  // Every command a function sends is authorized against that function's role, as on AWS.
  const serverlessDocument = options.serverlessDocument ?? readServerlessDocument(REPOSITORY_ROOT);
  const sandboxResources = {
    region,
    account,
    tableName,
    topicArn,
    releaseEventsTopicArn,
    stateMachineArn,
    config: options.roleConfig ?? config,
  };
  // The operator's CLI finds the pipeline by its stack, as on AWS (osls names it <service>-<stage>).
  const stack = 'shipline-sandbox';
  world.cloudformation.putStack({
    name: stack,
    outputs: {
      ReleaseTableName: tableName,
      NotificationsTopicArn: topicArn,
      ReleaseStateMachineArn: stateMachineArn,
      TriggerFunctionName: `${stack}-trigger`,
    },
  });
  const operatorScope = { region, account, stack };
  const operator = scenario.world.operator;
  if (operator?.arn) world.sts.callerArn = operator.arn;
  const iam = new IamEnforcer(
    resolveRolePolicies(serverlessDocument, sandboxResources),
    { region, account, stateMachineArn, tableName },
    {
      arn: world.sts.callerArn,
      statements: operator?.policy
        ? resolveStatements(operator.policy, operatorScope)
        : operatorPolicy(REPOSITORY_ROOT, operatorScope),
    },
  );
  // EventBridge rules scoped from shipline.yml (repositories, services, alarms), as the template holds them.
  world.eventPatterns = resolveEventPatterns(serverlessDocument, sandboxResources);
  // SNS subscriptions (`events: - sns: ...`): the release-events topic reaches its subscribed functions.
  world.snsSubscriptions = resolveSnsSubscriptions(serverlessDocument, sandboxResources);
  world.sns.topics.add(releaseEventsTopicArn);
  world.sns.internalTopics.add(releaseEventsTopicArn);
  // The template's other topics and its alarms on the pipeline's own AWS metrics (the execution-ends alarms).
  seedPipelineResources(world, serverlessDocument, sandboxResources);

  // Each function's environment, memory and timeout as the packaged template gives them.
  const functions = resolveFunctionConfigs(serverlessDocument, sandboxResources, { taskRoot, start });

  const running = world;
  return runInWorld({ world, clock, iam, env, functions, dynamoDb }, async () => {
    // Handler modules are imported (cold start) once per process, inside a world but with none of the
    // pipeline's variables: a module that read one at import would read it for every function. Only the
    // region, and the log level of the logger they build at import (the sandbox's output stays quiet).
    const imports = { AWS_REGION: region, SHIPLINE_LOG_LEVEL: env.SHIPLINE_LOG_LEVEL };
    const load =
      lambdaLoads.get(lambda) ??
      runInWorld({ world: running, clock, iam, env: imports, functions, dynamoDb }, () => lambda.load());
    lambdaLoads.set(lambda, load);
    await load;
    seedWorld(running, {
      scenario,
      config,
      services: services.values(),
      start,
      topicArn,
      stateMachineName,
      repositoryRoot: REPOSITORY_ROOT,
    });
    const deliveryProblems = [
      ...installDeliveryFaults(running, scenario.world),
      // A dead letter is an event a deployed function failed on: one of another function is never left.
      ...deliveryRuleProblems(
        scenario.expect?.deadLetters ?? [],
        [...running.lambda.functions.keys()],
        'expect.deadLetters',
      ),
    ];
    if (deliveryProblems.length > 0) throw new ScenarioError(deliveryProblems.join('\n'));
    await seedReleaseTable(
      running,
      new DynamoDbReleaseStore(createDynamoDbDocumentClient(), () => tableName),
      services.values(),
      start,
    );
    running.startMinuteTicks();
    const schedule = scheduleScenario(running, scenario, {
      serviceName,
      services,
      start,
      terminal: { region, stack, configPath: sourcePath },
    });
    const limit = start.getTime() + (parseDurationSeconds(scenario.until) ?? 21600) * 1000;
    const ended = await clock.run(
      () =>
        schedule.pending() === 0 &&
        running.pendingDeliveries === 0 &&
        running.sfn.open === 0 &&
        running.pendingAlarmActions === 0,
      limit,
    );
    if (ended !== 'done') {
      // The time limit (or a run with nothing left to wait for) ends what is still running, for good.
      const reason =
        ended === 'limit'
          ? `still running when the scenario's time limit (${scenario.until}) was reached`
          : 'still running with nothing left to wait for';
      running.sfn.abortOpen(reason);
      clock.abandon(reason);
    }

    const trigger = scenario.trigger;
    const triggerCommand =
      'cli' in trigger
        ? schedule.cliRuns.find((run) => run.t === 0 && run.command === trigger.cli)
        : undefined;
    const result = await summarise({
      scenario,
      world: running,
      versions,
      serviceName,
      services,
      tableName,
      start,
      triggerResults: schedule.triggerResults,
      requests: schedule.requests,
      ...(triggerCommand ? { triggerCommand } : {}),
      executions: index,
      wallStart,
    });
    const slack = summariseSlack(running, schedule.slackClicks.results, start);
    if (slack) result.slack = slack;
    result.cli = schedule.cliRuns;
    const expectations = scenario.expect ? checkExpectations(scenario.expect, result) : null;
    const serviceFailures = [
      ...checkServiceExpectations(scenario.expect?.services, result.services),
      ...checkSlackExpectations(scenario.expect?.slack, slack),
      ...checkCliExpectations(scenario.expect?.cli, result.cli, (at) => parseDurationSeconds(at) ?? -1),
    ];
    result.expectations = expectations && {
      passed: expectations.passed && serviceFailures.length === 0,
      failures: [...expectations.failures, ...serviceFailures],
    };
    return result;
  });
};
