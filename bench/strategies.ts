import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { addClientCustomizer, type CustomizableClient } from '../lib/adapters/aws-clients.ts';
import { currentWorld } from '../sandbox/context.ts';
import { currentFunction } from '../sandbox/iam/enforce.ts';
import { LambdaRuntime } from '../sandbox/lambda-runtime.ts';
import { stopLocalDynamoDb } from '../sandbox/local-dynamodb.ts';
import { REPOSITORY_ROOT, runScenario } from '../sandbox/run-scenario.ts';
import type { Scenario } from '../sandbox/scenario/schema.ts';
import { healthyCanary } from './scenarios.ts';

/**
 * Cost per release of each strategy and target: what Step Functions, Lambda, DynamoDB, CloudWatch and SNS
 * bill for one healthy release run in the sandbox, at three bake lengths. A release must cost the same
 * whatever its bake length (the bake waits on a task token, not a polling loop): `flatnessProblems` says
 * where it does not.
 *
 * AWS list prices, us-east-1, on-demand. The free tiers are IGNORED (Step Functions 4,000 transitions a
 * month, Lambda 1M requests and 400,000 GB-seconds a month, the first 1M SNS publishes; DynamoDB's applies to
 * provisioned capacity and storage, not to on-demand requests): a fleet releasing all day outgrows them,
 * and a per-release price is only comparable without them. Storage, logs, data transfer and the ECS tasks
 * themselves are the service's own running cost, not the release's, and are not counted.
 */
export const PRICES_USD = {
  /**
   * Step Functions Standard: "$0.025 per 1,000 state transitions"; US East (N. Virginia) "$0.0250" per
   * 1,000 (https://aws.amazon.com/step-functions/pricing/). Retries count as transitions too.
   */
  stepFunctionsPerTransition: 0.025 / 1000,
  /**
   * Lambda requests: "$0.20 / 1M", the same on x86_64 and arm64
   * (https://git.mcrn.ar/mariano/lambda_local_runner/src/branch/main/docs/lambdas-md/lambda-13-cost.md,
   * quoting https://aws.amazon.com/lambda/pricing/).
   */
  lambdaPerRequest: 0.2 / 1_000_000,
  /**
   * Lambda duration on arm64 (serverless.yml `provider.architecture: arm64`), US East: "First 7.5 Billion
   * GB-seconds per month: $0.0000133334 per GB-second" (https://cloudchipr.com/blog/aws-lambda-pricing). The
   * duration is "rounded up to the nearest 1 ms" and includes "initialization code that is declared outside
   * of the handler" (https://aws.amazon.com/lambda/pricing/).
   */
  lambdaArmPerGbSecond: 0.0000133334,
  /**
   * DynamoDB on-demand, US East: "Write Request Units (WRU): $0.625 per million write request units"
   * (https://airbyte.com/data-engineering-resources/dynamodb-pricing). One WRU writes up to 1 KB
   * (https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/dynamodb.html).
   */
  dynamoDbPerWriteUnit: 0.625 / 1_000_000,
  /**
   * DynamoDB on-demand, US East: "Read Request Units (RRU): $0.125 per million read request units" (same
   * page). One RRU is a strongly consistent read up to 4 KB, half an RRU an eventually consistent one.
   */
  dynamoDbPerReadUnit: 0.125 / 1_000_000,
  /**
   * CloudWatch API requests (DescribeAlarms and the other alarm reads the pipeline makes): $0.01 per 1,000
   * requests, as for GetMetricData, "AWS charges $0.01 per 1,000 metric requests for GetMetricData"
   * (https://support.site24x7.com/portal/en/kb/articles/aws-cloudwatch-metrics-cost-calculation). The
   * pipeline sends no GetMetricData.
   */
  cloudWatchPerRequest: 0.01 / 1000,
  /**
   * SNS standard topic: "$0.50 per million publishes for Standard topics"
   * (https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/). Deliveries to the
   * topic's subscribers (email $2 per 100,000, HTTP $0.60 per million) depend on who subscribes: not counted.
   */
  snsPerPublish: 0.5 / 1_000_000,
} as const;

/** What one release used, counted in the sandbox. */
export interface ReleaseUsage {
  /** Every state entered by the release's execution, as Step Functions Standard bills them. */
  stateTransitions: number;
  /** Invocations of the pipeline's own functions (a user's smoke-test function is the user's bill). */
  lambdaInvocations: number;
  /** Sum over invocations of memory (GB) x billed duration (virtual ms rounded up to 1 ms) / 1000. */
  lambdaGbSeconds: number;
  /** DynamoDB request units the pipeline's functions consumed (on-demand: WRU and RRU). */
  dynamoDbWriteUnits: number;
  dynamoDbReadUnits: number;
  /** AWS API calls of the pipeline's functions, `Service:Command` -> count (DynamoDB included). */
  awsCalls: Record<string, number>;
}

/** The cost of one release in USD, per line of the bill and in total. */
export interface ReleaseCost {
  stepFunctions: number;
  lambdaRequests: number;
  lambdaDuration: number;
  dynamoDb: number;
  cloudWatch: number;
  sns: number;
  total: number;
}

/** Prices a release's usage at the list prices above (ECS, ELB and Step Functions API calls carry no charge). */
export const releaseCost = (usage: ReleaseUsage, prices: typeof PRICES_USD = PRICES_USD): ReleaseCost => {
  const calls = (service: string) =>
    Object.entries(usage.awsCalls)
      .filter(([key]) => key.startsWith(`${service}:`))
      .reduce((sum, [, count]) => sum + count, 0);
  const parts = {
    stepFunctions: usage.stateTransitions * prices.stepFunctionsPerTransition,
    lambdaRequests: usage.lambdaInvocations * prices.lambdaPerRequest,
    lambdaDuration: usage.lambdaGbSeconds * prices.lambdaArmPerGbSecond,
    dynamoDb:
      usage.dynamoDbWriteUnits * prices.dynamoDbPerWriteUnit +
      usage.dynamoDbReadUnits * prices.dynamoDbPerReadUnit,
    cloudWatch: calls('CloudWatch') * prices.cloudWatchPerRequest,
    sns: (usage.awsCalls['SNS:Publish'] ?? 0) * prices.snsPerPublish,
  };
  return { ...parts, total: Object.values(parts).reduce((sum, value) => sum + value, 0) };
};

/** Calls per AWS service, e.g. `{ ECS: 5, DynamoDB: 30 }`, from `Service:Command` counts. */
export const callsByService = (awsCalls: Record<string, number>): Record<string, number> => {
  const byService: Record<string, number> = {};
  for (const [key, count] of Object.entries(awsCalls)) {
    const service = key.split(':')[0] ?? key;
    byService[service] = (byService[service] ?? 0) + count;
  }
  return Object.fromEntries(Object.entries(byService).sort(([a], [b]) => a.localeCompare(b)));
};

/** Each function's memory (MB) as deployed: its own `memorySize`, else the provider's (Lambda's default 128). */
export const functionMemoryMb = (serverlessDocument: unknown): Map<string, number> => {
  const document = serverlessDocument as {
    provider?: { memorySize?: number };
    functions?: Record<string, { memorySize?: number }>;
  };
  const fallback = document.provider?.memorySize ?? 128;
  return new Map(
    Object.entries(document.functions ?? {}).map(([key, fn]) => [key, fn.memorySize ?? fallback]),
  );
};

/**
 * The duration price above is arm64's: a serverless.yml that deploys another architecture (or none, which
 * Lambda runs as x86_64) would be priced wrong, so the bench refuses it.
 */
export const checkPricedArchitecture = (serverlessDocument: unknown): void => {
  const architecture = (serverlessDocument as { provider?: { architecture?: string } }).provider
    ?.architecture;
  if (architecture !== 'arm64')
    throw new Error(
      `bench/strategies.ts prices Lambda duration for arm64, but serverless.yml provider.architecture is ${architecture ?? 'not set (x86_64)'}: update PRICES_USD.lambdaArmPerGbSecond`,
    );
};

/** DynamoDB commands that read (RRU); every other data command writes (WRU). */
const READ_COMMANDS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

interface Meter {
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  dynamoDbWriteUnits: number;
  dynamoDbReadUnits: number;
  dynamoDbCalls: Record<string, number>;
}

const emptyMeter = (): Meter => ({
  lambdaInvocations: 0,
  lambdaGbSeconds: 0,
  dynamoDbWriteUnits: 0,
  dynamoDbReadUnits: 0,
  dynamoDbCalls: {},
});

let meter = emptyMeter();
let installed = false;
/** Off outside `measureRelease`: the other bench rows (wall times) run unmetered. */
let metering = false;

type Next = (args: { input: Record<string, unknown> }) => Promise<{ output?: Record<string, unknown> }>;

/**
 * Counts what the pipeline's functions use while the bench runs: each Lambda invocation and its virtual
 * duration, and the DynamoDB request units each command consumed (the local DynamoDB answers
 * `ReturnConsumedCapacity: TOTAL` as DynamoDB does). Must run before the first sandbox run of the process:
 * handler modules build their SDK clients when first loaded, and a customizer only reaches clients built
 * after it. The sandbox itself is untouched: the runtime's `invoke` is wrapped, a client customizer added.
 */
export const installUsageMeter = (): void => {
  if (installed) return;
  const document: unknown = parse(readFileSync(path.join(REPOSITORY_ROOT, 'serverless.yml'), 'utf8'));
  checkPricedArchitecture(document);
  installed = true;
  const memory = functionMemoryMb(document);
  const invoke = LambdaRuntime.prototype.invoke;
  LambdaRuntime.prototype.invoke = async function metered(this: LambdaRuntime, key, event) {
    if (!metering) return invoke.call(this, key, event);
    const clock = currentWorld()?.clock;
    const started = clock?.nowMillis ?? 0;
    try {
      return await invoke.call(this, key, event);
    } finally {
      // Lambda bills a failed invocation as a successful one: request and duration.
      const billedMs = Math.max(1, Math.ceil((clock?.nowMillis ?? 0) - started));
      meter.lambdaInvocations += 1;
      meter.lambdaGbSeconds += ((memory.get(key) ?? 128) / 1024) * (billedMs / 1000);
    }
  };
  addClientCustomizer((client: CustomizableClient, clientName: string) => {
    if (clientName !== 'DynamoDB') return;
    const middleware =
      (next: Next, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
        // Seeding the table before a run is the sandbox's, not the release's: only functions' calls count.
        if (!metering || currentFunction.getStore() === undefined) return next(args);
        const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        meter.dynamoDbCalls[`DynamoDB:${command}`] = (meter.dynamoDbCalls[`DynamoDB:${command}`] ?? 0) + 1;
        const reads = READ_COMMANDS.has(command);
        args.input.ReturnConsumedCapacity = 'TOTAL';
        try {
          const result = await next(args);
          const consumed = result.output?.ConsumedCapacity as
            | { CapacityUnits?: number }
            | Array<{ CapacityUnits?: number }>
            | undefined;
          const units = [consumed ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
          if (reads) meter.dynamoDbReadUnits += units;
          else meter.dynamoDbWriteUnits += units;
          return result;
        } catch (error) {
          // A write refused by its condition still consumes write units, at least one.
          if (!reads) meter.dynamoDbWriteUnits += 1;
          throw error;
        }
      };
    (client.middlewareStack.add as unknown as (mw: unknown, options: Record<string, unknown>) => void)(
      middleware,
      { step: 'initialize', name: 'shiplineBenchUsageMeter' },
    );
  });
};

/** Bake lengths every strategy is measured at; transitions and cost must not depend on them. */
export const BAKES = ['1m', '10m', '60m'] as const;

type Config = Record<string, unknown>;
type ServiceConfig = {
  target: Record<string, unknown>;
  strategy: Record<string, unknown>;
  alarms?: string[];
};

const TEST_RULE_ARN =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/prod-web/50dc6c495c0c9188/f2f7dc8efc522ab2/1111222233334444';

/** One strategy on one target, measured by a healthy release at each bake length. */
export interface StrategyCase {
  name: string;
  /** The healthy release with this bake (for linear: the interval between steps). */
  scenario: (bake: string) => Scenario;
}

/** The healthy canary example with its checkout service reshaped by `reshape` (a copy of the inline config). */
const variant = (
  name: string,
  reshape: (service: ServiceConfig, bake: string) => void,
  world: (scenario: Scenario) => Partial<Scenario['world']> = () => ({}),
): StrategyCase => ({
  name,
  scenario: (bake) => {
    const { scenario } = healthyCanary();
    const config = structuredClone(scenario.config) as Config;
    const service = (config.services as Record<string, ServiceConfig>).checkout as ServiceConfig;
    reshape(service, bake);
    return {
      ...scenario,
      name: `${name} (bake ${bake})`,
      config,
      world: { ...scenario.world, ...world(scenario) },
      // Four 60-minute intervals of linear, the deploy and the warm period fit with room to spare.
      until: '12h',
      expect: { outcome: 'promoted', servingVersion: 'v2', executions: 1 },
    };
  },
});

/** The strategies and targets of issue 7, each as a healthy release of the example's checkout service. */
export const STRATEGY_CASES: readonly StrategyCase[] = [
  variant('canary 5/25/100 (ecs-alb)', (service, bake) => {
    service.strategy = { type: 'canary', steps: [5, 25, 100], bake };
  }),
  variant('linear 25% every interval (ecs-alb)', (service, bake) => {
    service.strategy = { type: 'linear', stepPercent: 25, interval: bake };
  }),
  variant('all-at-once (ecs-alb)', (service, bake) => {
    service.strategy = { type: 'all-at-once', bake };
  }),
  variant(
    'blue-green, http + Lambda check, no pause (ecs-alb)',
    (service, bake) => {
      service.target.testListenerRuleArn = TEST_RULE_ARN;
      service.target.testUrl = 'https://test.checkout.example.com';
      service.strategy = {
        type: 'blue-green',
        bake,
        checks: [
          { name: 'health', http: { path: '/health' } },
          { name: 'login-smoke', lambda: 'checkout-smoke-test' },
        ],
      };
    },
    () => ({ testRoute: {}, functions: { 'checkout-smoke-test': parseFunction() } }),
  ),
  variant(
    'all-at-once (ecs-rolling)',
    (service, bake) => {
      const { cluster, container, taskRoleArns } = service.target;
      service.target = {
        type: 'ecs-rolling',
        cluster,
        service: 'checkout',
        container,
        taskRoleArns,
        steadyTimeout: '20m',
      };
      // One service, one target group: one 5xx alarm where the slots had one each; two alarms watched, as elsewhere.
      service.alarms = ['checkout-5xx', 'checkout-latency-p99'];
      service.strategy = { type: 'all-at-once', bake };
    },
    (scenario) => ({
      deploymentConfiguration: {
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        circuitBreaker: { enable: true, rollback: false },
      },
      alarms: scenario.world.alarms
        .filter((alarm) => alarm.targetGroup !== 'green')
        .map(({ targetGroup, ...alarm }) => (targetGroup ? { ...alarm, name: 'checkout-5xx' } : alarm)),
    }),
  ),
];

/** A smoke-test function that passes every version (the schema's defaults). */
const parseFunction = (): Scenario['world']['functions'][string] => ({
  answers: {},
  otherwise: { passed: true },
  durationMs: 500,
  timeout: 3,
});

/** One strategy at one bake length: what its release used and cost, or why it could not be measured. */
export interface StrategyRun {
  strategy: string;
  bake: string;
  usage?: ReleaseUsage;
  cost?: ReleaseCost;
  notMeasured?: string;
}

/** Runs one healthy release and meters it; a run that fails or does not promote says why. */
export const measureRelease = async (strategy: StrategyCase, bake: string): Promise<StrategyRun> => {
  installUsageMeter();
  meter = emptyMeter();
  const { baseDir } = healthyCanary();
  let result: Awaited<ReturnType<typeof runScenario>>;
  metering = true;
  try {
    result = await runScenario(strategy.scenario(bake), baseDir);
  } catch (error) {
    return { strategy: strategy.name, bake, notMeasured: firstLine(error) };
  } finally {
    metering = false;
  }
  if (result.outcome !== 'promoted' || result.executions.length !== 1)
    return {
      strategy: strategy.name,
      bake,
      notMeasured: `expected one promoted release, got ${result.outcome} (${result.executions.length} executions): ${result.reason ?? ''}`,
    };
  const usage: ReleaseUsage = {
    stateTransitions: result.stateTransitions,
    lambdaInvocations: meter.lambdaInvocations,
    lambdaGbSeconds: meter.lambdaGbSeconds,
    dynamoDbWriteUnits: meter.dynamoDbWriteUnits,
    dynamoDbReadUnits: meter.dynamoDbReadUnits,
    awsCalls: Object.fromEntries(
      Object.entries({ ...result.awsCalls, ...meter.dynamoDbCalls }).sort(([a], [b]) => a.localeCompare(b)),
    ),
  };
  return { strategy: strategy.name, bake, usage, cost: releaseCost(usage) };
};

const firstLine = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error))
    .split('\n')[0]
    ?.slice(0, 160) ?? 'unknown error';

/** Every strategy at every bake length, one release after another. */
export const measureStrategies = async (
  cases: readonly StrategyCase[] = STRATEGY_CASES,
): Promise<StrategyRun[]> => {
  const runs: StrategyRun[] = [];
  for (const strategy of cases) for (const bake of BAKES) runs.push(await measureRelease(strategy, bake));
  return runs;
};

/**
 * Strategies whose state transitions differ across bake lengths (measured runs only): the bench fails on
 * any, since a bake that costs more the longer it lasts is a polling loop in disguise.
 */
export const flatnessProblems = (runs: readonly StrategyRun[]): string[] => {
  const byStrategy = new Map<string, StrategyRun[]>();
  for (const run of runs) byStrategy.set(run.strategy, [...(byStrategy.get(run.strategy) ?? []), run]);
  const problems: string[] = [];
  for (const [strategy, measured] of byStrategy) {
    const counts = measured.filter((r) => r.usage).map((r) => `${r.bake}: ${r.usage?.stateTransitions}`);
    const distinct = new Set(measured.filter((r) => r.usage).map((r) => r.usage?.stateTransitions));
    if (distinct.size > 1)
      problems.push(`${strategy}: state transitions differ across bake lengths (${counts.join(', ')})`);
  }
  return problems;
};

/** USD with enough digits for a fraction of a cent. */
export const formatUsd = (usd: number): string => `$${usd.toFixed(6)}`;

/** A bench table row (bench/run.ts prints them). */
export interface StrategyRow {
  measure: string;
  value: string;
  target: string;
  pass?: boolean;
  pending?: boolean;
}

/**
 * Four rows per strategy: transitions at each bake length (target: flat), Lambda invocations and billed
 * GB-seconds, AWS API calls by service, and the cost per release. A strategy with no measured run says
 * "not measured" and why; one measured at some bake lengths only names the others.
 */
export const strategyRows = (runs: readonly StrategyRun[]): StrategyRow[] => {
  const rows: StrategyRow[] = [];
  const strategies = [...new Set(runs.map((r) => r.strategy))];
  for (const strategy of strategies) {
    const own = runs.filter((r) => r.strategy === strategy);
    const measured = own.filter((r): r is StrategyRun & { usage: ReleaseUsage; cost: ReleaseCost } =>
      Boolean(r.usage && r.cost),
    );
    const missing = own.filter((r) => r.notMeasured);
    if (measured.length === 0) {
      rows.push({
        measure: `${strategy}: cost per release`,
        value: `not measured: ${missing[0]?.notMeasured ?? 'no run'}`,
        target: 'flat in bake length',
        pending: true,
      });
      continue;
    }
    const bakes = measured.map((r) => r.bake).join(' / ');
    const per = (format: (r: (typeof measured)[number]) => string) => measured.map(format).join(' / ');
    const flat = new Set(measured.map((r) => r.usage.stateTransitions)).size === 1;
    const gaps = missing.map((r) => `; not measured at ${r.bake}: ${r.notMeasured}`).join('');
    rows.push(
      {
        measure: `${strategy}: state transitions, bake ${bakes}`,
        value: `${per((r) => String(r.usage.stateTransitions))}${gaps}`,
        target: 'flat in bake length',
        pass: flat,
        ...(missing.length > 0 ? { pending: true } : {}),
      },
      {
        measure: `${strategy}: Lambda invocations, billed GB-s, bake ${bakes}`,
        value: per((r) => `${r.usage.lambdaInvocations}, ${r.usage.lambdaGbSeconds.toFixed(2)}`),
        target: '',
      },
      {
        measure: `${strategy}: AWS API calls by service at bake ${measured[0]?.bake}; total, bake ${bakes}`,
        value: `${Object.entries(callsByService(measured[0]?.usage.awsCalls ?? {}))
          .map(([service, count]) => `${service} ${count}`)
          .join(', ')}; ${per((r) => String(Object.values(r.usage.awsCalls).reduce((a, b) => a + b, 0)))}`,
        target: '',
      },
      {
        measure: `${strategy}: cost per release (USD, us-east-1 list prices), bake ${bakes}`,
        value: per((r) => formatUsd(r.cost.total)),
        target: '',
      },
    );
  }
  return rows;
};

/** Formats rows as the bench's table (bench/run.ts prints the same columns). */
export const formatTable = (rows: readonly StrategyRow[]): string => {
  const table = [
    ['measure', 'value', 'target', ''],
    ...rows.map((r) => [
      r.measure,
      r.value,
      r.target,
      r.pending ? 'PENDING' : r.pass === undefined ? '' : r.pass ? 'ok' : 'MISSED',
    ]),
  ];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length))) ?? [];
  return table.map((row) => `${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}\n`).join('');
};

/**
 * `node --import tsx bench/strategies.ts`: this section alone (the whole bench takes minutes), printed, not
 * written to bench/results.json; exits non-zero when a strategy's transitions depend on its bake length.
 */
const runAlone = async (): Promise<void> => {
  installUsageMeter();
  const runs = await measureStrategies();
  await stopLocalDynamoDb();
  process.stdout.write(formatTable(strategyRows(runs)));
  const problems = flatnessProblems(runs);
  if (problems.length > 0) {
    process.stderr.write(`\ntransitions must be flat in bake length\n  ${problems.join('\n  ')}\n`);
    process.exitCode = 1;
  }
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runAlone();
