import './polyfills.ts';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  createDynamoDbDocumentClient,
  DynamoDbReleaseStore,
} from '../lib/adapters/dynamodb-release-store.ts';
import { TASK_DEFINITION_TAGS } from '../lib/adapters/ecs-slot-deployer.ts';
import { systemClock, useClock } from '../lib/clock.ts';
import { describeIssues, findService, parseConfig, parseConfigText } from '../lib/config/load.ts';
import type { ShiplineConfig } from '../lib/config/schema.ts';
import { parseDurationSeconds } from '../lib/duration.ts';
import { ConfigError } from '../lib/errors.ts';
import type { ReleaseRecord } from '../lib/ports/release-store.ts';
import type { ExecutionRecord } from './aws/sfn.ts';
import { VersionCatalog } from './aws/traffic.ts';
import { SimulatedWorld, type TimelineEntry } from './aws/world.ts';
import { IamEnforcer } from './iam/enforce.ts';
import { readServerlessDocument, resolveEventPatterns, resolveRolePolicies } from './iam/policies.ts';
import { installSandboxClients, useIam, useWorld } from './intercept.ts';
import { LambdaRuntime, readDeclaredFunctions } from './lambda-runtime.ts';
import { createTable, startLocalDynamoDb, tableDefinition } from './local-dynamodb.ts';
import { type Scenario, scenarioSchema } from './scenario/schema.ts';
import { installDeliveryFaults, scenarioTiming } from './scenario/timing.ts';
import { VirtualClock } from './virtual-clock.ts';

/** The repository root: the sandbox runs the files that are deployed (serverless.yml, ASL, handlers). */
export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A scenario file that cannot be run as written (CLI exit code 2). */
export class ScenarioError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

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
    stateTransitions: number;
  }>;
  releases: ReleaseRecord[];
  timeline: Array<{ t: number; time: string; kind: string; text: string; execution?: string }>;
  notifications: Array<{ t: number; subject: string; message: Record<string, unknown> }>;
  /**
   * What each trigger invocation answered, in the order they ended: `started`, `duplicate`, `ignored`
   * (with its reason), or `error` (with the error's name and message; a retried event appears per attempt).
   */
  triggers: Array<{ t: number; status: string; reason?: string; executionName?: string }>;
  /** How many times the pipeline called each AWS API, e.g. `{ "ECS:UpdateService": 1 }` (DynamoDB excluded). */
  awsCalls: Record<string, number>;
  /** Events a function failed on after every retry, as they would wait in the dead-letter queue. */
  deadLetters: Array<{ t: number; fn: string; error: string; detailType: string }>;
  stateTransitions: number;
  rollbackReactionSeconds: number | null;
  virtualSeconds: number;
  wallMs: number;
  expectations: { passed: boolean; failures: string[] } | null;
}

/** Parses and validates a scenario file; errors name the bad field's path. */
export const loadScenario = (file: string): { scenario: Scenario; baseDir: string } => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ScenarioError(`cannot read scenario ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ScenarioError(`scenario ${file} is not valid YAML: ${(error as Error).message}`);
  }
  return { scenario: parseScenario(document, file), baseDir: path.dirname(path.resolve(file)) };
};

export const parseScenario = (document: unknown, source = 'scenario'): Scenario => {
  const result = scenarioSchema.safeParse(document);
  if (!result.success)
    throw new ScenarioError(`${source} is invalid:\n  ${describeIssues(result.error).join('\n  ')}`);
  return result.data;
};

/** `+01:05:00` from seconds. */
export const formatOffset = (seconds: number): string => {
  const s = Math.abs(Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${seconds < 0 ? '-' : '+'}${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
};

/**
 * Traffic flows, metrics are published and alarms evaluate for this long before the scenario's start,
 * so alarms begin the release with a metric history, as they would in a real account.
 */
export const WARM_UP_SECONDS = 15 * 60;

let runCounter = 0;

const ENV_KEYS = [
  'SHIPLINE_CONFIG_PATH',
  'SHIPLINE_TABLE',
  'SHIPLINE_TOPIC_ARN',
  'SHIPLINE_STATE_MACHINE_ARN',
  'SHIPLINE_DYNAMODB_ENDPOINT',
  'SHIPLINE_LOG_LEVEL',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
] as const;

const runtimes = new Map<string, LambdaRuntime>();

/** What `serverless package` does: the validated config written as the JSON the functions load. */
const packaged = (config: ShiplineConfig): { config: ShiplineConfig; configPath: string } => {
  const configPath = path.join(mkdtempSync(path.join(tmpdir(), 'shipline-')), 'shipline.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return { config, configPath };
};

const resolveConfig = (
  scenario: Scenario,
  baseDir: string,
): { config: ShiplineConfig; configPath: string } => {
  try {
    if (typeof scenario.config === 'string') {
      const configPath = path.resolve(baseDir, scenario.config);
      let text: string;
      try {
        text = readFileSync(configPath, 'utf8');
      } catch (error) {
        throw new ScenarioError(`config: cannot read ${configPath}: ${(error as Error).message}`);
      }
      return packaged(parseConfigText(text, configPath));
    }
    return packaged(parseConfig(scenario.config, 'scenario config'));
  } catch (error) {
    if (error instanceof ConfigError) throw new ScenarioError(error.message);
    throw error;
  }
};

const executionOutcome = (execution: ExecutionRecord): SandboxOutcome => {
  if (execution.status === 'SUCCEEDED') {
    const output = JSON.parse(execution.output ?? '{}') as {
      report?: { outcome?: string };
      ending?: { kind?: string; outcome?: string };
    };
    const ended = output.ending?.kind ?? output.report?.outcome;
    return ended === 'superseded' || ended === 'ignored' ? ended : 'promoted';
  }
  if (execution.error === 'ReleaseRolledBack') return 'rolled_back';
  if (execution.error === 'ScaleDownFailed') return 'promoted';
  return 'failed';
};

type RunOptions = {
  onEntry?: (entry: TimelineEntry, label: (execution?: string) => string) => void;
  /** The serverless document whose roles the sandbox enforces (default: serverless.yml on disk). */
  serverlessDocument?: unknown;
  /** The config the roles were packaged from (default: the run's own config, as one deploy would). */
  roleConfig?: ShiplineConfig;
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
  try {
    return await runPackaged(scenario, packagedConfig, options, wallStart);
  } finally {
    rmSync(path.dirname(packagedConfig.configPath), { recursive: true, force: true });
  }
};

const runPackaged = async (
  scenario: Scenario,
  { config, configPath }: { config: ShiplineConfig; configPath: string },
  options: RunOptions,
  wallStart: number,
): Promise<ScenarioResult> => {
  const serviceName = scenario.service ?? Object.keys(config.services)[0];
  const declared = serviceName ? findService(config, serviceName) : undefined;
  if (!serviceName || !declared)
    throw new ScenarioError(`service: "${scenario.service}" is not declared in the config`);
  // Own keys only: a version named `constructor` must not resolve to Object's.
  const serving = Object.hasOwn(scenario.versions, scenario.world.serving)
    ? scenario.versions[scenario.world.serving]
    : undefined;
  if (!serving)
    throw new ScenarioError(
      `world.serving: version "${scenario.world.serving}" is not declared under versions`,
    );
  const referenced = [
    ...('push' in scenario.trigger ? [scenario.trigger.push.version] : []),
    ...('manual' in scenario.trigger ? [scenario.trigger.manual.version] : []),
    ...scenario.events.flatMap((event) =>
      'push' in event ? [event.push.version] : 'manual' in event ? [event.manual.version] : [],
    ),
  ];
  for (const version of referenced) {
    if (!Object.hasOwn(scenario.versions, version))
      throw new ScenarioError(`version "${version}" is used but not declared under versions`);
  }

  const { region, account } = scenario.world;
  const endpoint = await startLocalDynamoDb();
  runCounter += 1;
  const tableName = `shipline-sandbox-${process.pid}-${runCounter}`;
  const topicArn = `arn:aws:sns:${region}:${account}:shipline-sandbox-notifications`;
  const stateMachineName = 'shipline-sandbox-release';
  const stateMachineArn = `arn:aws:states:${region}:${account}:stateMachine:${stateMachineName}`;
  const savedEnv = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));
  Object.assign(process.env, {
    SHIPLINE_CONFIG_PATH: configPath,
    SHIPLINE_TABLE: tableName,
    SHIPLINE_TOPIC_ARN: topicArn,
    SHIPLINE_STATE_MACHINE_ARN: stateMachineArn,
    SHIPLINE_DYNAMODB_ENDPOINT: endpoint,
    SHIPLINE_LOG_LEVEL: process.env.SHIPLINE_LOG_LEVEL ?? 'SILENT',
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: 'sandbox',
    AWS_SECRET_ACCESS_KEY: 'sandbox',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  await createTable(endpoint, tableDefinition(REPOSITORY_ROOT, tableName));

  const start = new Date(scenario.world.start);
  const clock = new VirtualClock(new Date(start.getTime() - WARM_UP_SECONDS * 1000));
  const previousClock = useClock(clock);
  installSandboxClients();
  let lambda = runtimes.get(REPOSITORY_ROOT);
  if (!lambda) {
    lambda = new LambdaRuntime(readDeclaredFunctions(REPOSITORY_ROOT));
    await lambda.load();
    runtimes.set(REPOSITORY_ROOT, lambda);
  }

  const versions = new VersionCatalog(
    Object.entries(scenario.versions).map(([name, v]) => ({
      name,
      digest: v.digest,
      errorRate: v.errorRate,
      latencyMs: v.latencyMs,
      failsToStart: v.failsToStart,
      changes: v.changes.map((c) => ({
        ...(c.after !== undefined ? { afterSeconds: parseDurationSeconds(c.after) ?? 0 } : {}),
        ...(c.atTrafficPercentAtLeast !== undefined
          ? { atTrafficPercentAtLeast: c.atTrafficPercentAtLeast }
          : {}),
        ...(c.errorRate !== undefined ? { errorRate: c.errorRate } : {}),
        ...(c.latencyMs !== undefined ? { latencyMs: c.latencyMs } : {}),
      })),
    })),
  );
  /** Executions are shown by the version they release (the tag in their input), not their hash name. */
  let world: SimulatedWorld | undefined;
  const label = (execution?: string): string => {
    if (!execution) return '';
    const record = [...(world?.sfn.executions.values() ?? [])].find((e) => e.name === execution);
    const request = record ? (JSON.parse(record.input) as { image?: { tag?: string; digest?: string } }) : {};
    return request.image?.tag ?? request.image?.digest?.slice(7, 19) ?? execution;
  };
  const target = declared.target;
  const ruleMatch = /listener-rule\/(app\/[^/]+\/[^/]+)\//.exec(target.listenerRuleArn);
  world = new SimulatedWorld({
    clock,
    lambda,
    region,
    account,
    container: target.container,
    versions,
    requestsPerMinute: scenario.world.requestsPerMinute,
    timing: scenarioTiming(scenario.world),
    loadBalancerDimension: ruleMatch?.[1] ?? 'app/sandbox/0000000000000000',
    onRecord: (entry) => options.onEntry?.(entry, label),
  });
  useWorld(world);
  // Every command a function sends is authorized against that function's role, as on AWS.
  const serverlessDocument = options.serverlessDocument ?? readServerlessDocument(REPOSITORY_ROOT);
  const sandboxResources = {
    region,
    account,
    tableName,
    topicArn,
    stateMachineArn,
    config: options.roleConfig ?? config,
  };
  useIam(
    new IamEnforcer(resolveRolePolicies(serverlessDocument, sandboxResources), {
      region,
      account,
      stateMachineArn,
    }),
  );
  // EventBridge rules scoped from shipline.yml (repositories, services, alarms), as the template holds them.
  world.eventPatterns = resolveEventPatterns(serverlessDocument, sandboxResources);

  try {
    // The initial world: the stable slot serves `serving` at 100%, the idle slot runs nothing.
    const repositoryUri = `${account}.dkr.ecr.${region}.amazonaws.com/${declared.image.repository}`;
    const baseDefinition = world.ecs.registerTaskDefinition(
      {
        family: serviceName,
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '512',
        memory: '1024',
        executionRoleArn: `arn:aws:iam::${account}:role/${serviceName}-execution`,
        containerDefinitions: [
          {
            name: target.container,
            image: `${repositoryUri}@${serving.digest}`,
            essential: true,
            portMappings: [{ containerPort: 8080 }],
          },
        ],
        tags: [
          ...Object.entries(scenario.world.taskDefinitionTags).map(([key, value]) => ({ key, value })),
          { key: TASK_DEFINITION_TAGS.version, value: scenario.world.serving },
        ],
      },
      { byAws: true },
    );
    const stableSlot = scenario.world.stableSlot;
    const idleSlot = stableSlot === 'blue' ? 'green' : 'blue';
    for (const slot of ['blue', 'green'] as const) {
      const desired = slot === stableSlot ? scenario.world.desiredCount : 0;
      world.ecs.createService(
        target.cluster,
        target.slots[slot].service,
        baseDefinition.taskDefinitionArn,
        desired,
        target.slots[slot].targetGroupArn,
      );
      world.elbv2.targetGroups.set(target.slots[slot].targetGroupArn, { name: slot });
    }
    world.elbv2.createRule(
      target.listenerRuleArn,
      [
        { TargetGroupArn: target.slots[stableSlot].targetGroupArn, Weight: 100 },
        { TargetGroupArn: target.slots[idleSlot].targetGroupArn, Weight: 0 },
      ],
      scenario.world.listenerRule.authenticate
        ? { authenticate: scenario.world.listenerRule.authenticate }
        : {},
    );
    for (const alarm of scenario.world.alarms) {
      const targetGroupArn = alarm.targetGroup ? target.slots[alarm.targetGroup].targetGroupArn : undefined;
      const since = new Date(start.getTime() - (parseDurationSeconds(alarm.stateSince) ?? 3600) * 1000);
      world.cloudwatch.putAlarm({
        AlarmName: alarm.name,
        ...(alarm.description ? { AlarmDescription: alarm.description } : {}),
        Namespace: alarm.namespace,
        MetricName: alarm.metric,
        Dimensions: [
          { Name: 'LoadBalancer', Value: world.loadBalancerDimension },
          ...(targetGroupArn
            ? [{ Name: 'TargetGroup', Value: targetGroupArn.slice(targetGroupArn.indexOf('targetgroup/')) }]
            : []),
        ],
        Statistic: alarm.statistic,
        Period: alarm.period,
        EvaluationPeriods: alarm.evaluationPeriods,
        DatapointsToAlarm: alarm.datapointsToAlarm ?? alarm.evaluationPeriods,
        Threshold: alarm.threshold,
        ComparisonOperator: alarm.comparison,
        TreatMissingData: alarm.treatMissingData,
        StateValue: alarm.initialState,
        StateReason: `initial state set by the scenario`,
        StateUpdatedTimestamp: since,
        StateTransitionedTimestamp: since,
      });
    }
    world.sns.topics.add(topicArn);
    for (const svc of Object.values(config.services))
      if (svc.notify.topicArn) world.sns.topics.add(svc.notify.topicArn);
    const asl = parseYaml(
      readFileSync(path.join(REPOSITORY_ROOT, 'statemachines/release.asl.yaml'), 'utf8'),
    ) as Record<string, unknown>;
    world.sfn.createStateMachine(stateMachineName, asl);
    for (const drop of scenario.world.dropEvents)
      world.droppedEvents.push({ detailType: drop.detailType, remaining: drop.times });
    const deliveryProblems = installDeliveryFaults(world, scenario.world);
    if (deliveryProblems.length > 0) throw new ScenarioError(deliveryProblems.join('\n'));
    for (const fault of scenario.faults) {
      if ('command' in fault)
        world.commandFaults.push({
          command: fault.command,
          error: fault.error,
          message: fault.message,
          remaining: fault.times,
          activeFrom:
            start.getTime() +
            (fault.after === undefined ? -Infinity : (parseDurationSeconds(fault.after) ?? 0) * 1000),
        });
      else
        world.sfn.stateFaults.push({
          state: fault.state,
          error: fault.error,
          cause: fault.cause,
          remaining: fault.times,
        });
    }
    world.startMinuteTicks();

    // Triggers: ECR pushes as EventBridge delivers them, raw events, manual requests to the trigger function.
    const triggerResults: Array<{ at: number; ok: boolean; value?: unknown; error?: Error }> = [];
    const onResult = (fn: string, result: { ok: true; value: unknown } | { ok: false; error: Error }) => {
      if (fn !== 'trigger') return;
      const at = clock.nowMillis;
      triggerResults.push(
        result.ok ? { at, ok: true, value: result.value } : { at, ok: false, error: result.error },
      );
    };
    const pushEvent = (push: { version: string; tag?: string }) => ({
      version: '0',
      id: randomUUID(),
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account,
      time: clock
        .now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [],
      detail: {
        result: 'SUCCESS',
        'repository-name': declared.image.repository,
        'image-digest': scenario.versions[push.version]?.digest,
        'action-type': 'PUSH',
        'image-tag': push.tag ?? push.version,
      },
    });
    let triggerEvent: Record<string, unknown> | undefined;
    const fire = (
      event: Record<string, unknown> | undefined,
      manual?: { version: string; requestedBy?: string },
    ) => {
      if (manual) {
        world.record('event', `manual deploy of ${manual.version}`);
        world.deliver(
          {
            service: serviceName,
            image: { digest: scenario.versions[manual.version]?.digest, tag: manual.version },
            ...(manual.requestedBy ? { requestedBy: manual.requestedBy } : {}),
          },
          { target: 'trigger', onResult },
        );
        return;
      }
      if (!event) return;
      const detail = event.detail as Record<string, unknown> | undefined;
      world.record(
        'event',
        `${String(event['detail-type'] ?? 'event')} ${String(detail?.['image-tag'] ?? '')} ${String(detail?.['image-digest'] ?? '(no digest)').slice(0, 19)}`.trim(),
      );
      let matched: number;
      try {
        matched = world.deliver(event, { onResult });
      } catch (error) {
        const refusal = error as Error;
        world.record('event', `EventBridge refused the event: ${refusal.name}: ${refusal.message}`);
        triggerResults.push({ at: clock.nowMillis, ok: false, error: refusal });
        return;
      }
      if (matched === 0) world.record('event', 'no EventBridge rule matched the event');
    };
    let pendingEvents = 1;
    clock.schedule(start.getTime(), () => {
      pendingEvents -= 1;
      const trigger = scenario.trigger;
      if ('push' in trigger) triggerEvent = pushEvent(trigger.push);
      else if ('event' in trigger) triggerEvent = trigger.event;
      fire(triggerEvent, 'manual' in trigger ? trigger.manual : undefined);
    });
    for (const event of scenario.events) {
      pendingEvents += 1;
      clock.schedule(start.getTime() + (parseDurationSeconds(event.at) ?? 0) * 1000, () => {
        pendingEvents -= 1;
        if ('push' in event) fire(pushEvent(event.push));
        else if ('event' in event) fire(event.event);
        else if ('manual' in event) fire(undefined, event.manual);
        else if ('duplicate' in event) fire(triggerEvent);
        else if ('alarm' in event) {
          const alarm = world.cloudwatch.alarms.get(event.alarm.name);
          if (!alarm)
            throw new ScenarioError(`events: alarm ${event.alarm.name} is not declared under world.alarms`);
          world.cloudwatch.changeState(alarm, event.alarm.state, event.alarm.reason);
        }
      });
    }
    const limit = start.getTime() + (parseDurationSeconds(scenario.until) ?? 21600) * 1000;
    const ended = await clock.run(
      () => pendingEvents === 0 && world.pendingDeliveries === 0 && world.sfn.open === 0,
      limit,
    );
    if (ended !== 'done') {
      // The time limit (or a run with nothing left to wait for) ends what is still running, for good.
      const reason =
        ended === 'limit'
          ? `still running when the scenario's time limit (${scenario.until}) was reached`
          : 'still running with nothing left to wait for';
      world.sfn.abortOpen(reason);
      clock.abandon(reason);
    }

    // What the run did, read back from the simulated account and the pipeline's own records.
    const store = new DynamoDbReleaseStore(createDynamoDbDocumentClient(), () => tableName);
    const releases = await store.listRecords(serviceName, 50);
    // In start order (the map keeps it; the sort is stable): two executions started in the same
    // millisecond are never ordered by name, which would be by digest.
    const executions = [...world.sfn.executions.values()].sort(
      (a, b) => a.startDate.getTime() - b.startDate.getTime(),
    );
    const newest = executions.at(-1);
    const newestRecord = newest ? releases.find((r) => r.releaseId === newest.name) : undefined;
    const failedTrigger = triggerResults.find((r) => !r.ok);
    const ignoredTrigger = triggerResults.find(
      (r) => r.ok && (r.value as { status?: string }).status === 'ignored',
    );
    let outcome: SandboxOutcome;
    let reason: string | null = null;
    if (!newest) {
      outcome = failedTrigger ? 'rejected' : 'ignored';
      reason = failedTrigger
        ? `${failedTrigger.error?.name}: ${failedTrigger.error?.message}`
        : ((ignoredTrigger?.value as { reason?: string } | undefined)?.reason ??
          'no EventBridge rule matched the event');
    } else {
      // An execution stopped at the time limit is ABORTED with that reason as its cause, unless its
      // release had already been promoted (only the warm period was cut short).
      outcome =
        newest.status === 'ABORTED' && newestRecord?.status === 'promoted'
          ? 'promoted'
          : executionOutcome(newest);
      reason =
        newest.status === 'ABORTED' && outcome !== 'promoted'
          ? (newest.cause ?? null)
          : (newestRecord?.reason ?? newest.cause ?? null);
    }
    const weights = world.elbv2.weightsOf(target.listenerRuleArn);
    const traffic: Record<string, number> = {};
    let servingVersion: string | null = null;
    for (const slot of ['blue', 'green'] as const) {
      const weight = Math.round(weights[target.slots[slot].targetGroupArn] ?? 0);
      const service = world.ecs.services.get(`${target.cluster}/${target.slots[slot].service}`);
      const version = service
        ? (versions.byImage(world.ecs.servingImage(service))?.name ?? 'nothing')
        : 'nothing';
      if (weight > 0) traffic[`${slot} (${version})`] = weight;
      if (weight === 100) servingVersion = version;
    }
    let rollbackReactionSeconds: number | null = null;
    if (outcome === 'rolled_back' && newest) {
      const watched = new Set([
        ...declared.alarms,
        ...target.slots.blue.alarms,
        ...target.slots.green.alarms,
      ]);
      const alarmAt = world.alarmTransitions.find(
        (t) => t.state === 'ALARM' && watched.has(t.alarm) && t.at >= newest.startDate.getTime(),
      )?.at;
      if (alarmAt !== undefined) {
        // The first weight change after the alarm that puts one slot back at 100% is the rollback.
        const restored = world.elbv2.changes.find(
          (c) =>
            c.at >= alarmAt &&
            c.ruleArn === target.listenerRuleArn &&
            Object.values(c.weights).some((w) => w === 100),
        );
        if (restored) rollbackReactionSeconds = (restored.at - alarmAt) / 1000;
      }
    }
    const result: ScenarioResult = {
      scenario: scenario.name,
      outcome,
      reason,
      service: serviceName,
      fromVersion: newestRecord?.fromVersion ?? null,
      toVersion: newestRecord?.toVersion ?? (newest ? label(newest.name) : null),
      servingVersion,
      traffic,
      listenerRuleActions: world.elbv2.actionTypesOf(target.listenerRuleArn),
      executions: executions.map((e) => ({
        name: e.name,
        version: label(e.name),
        status: e.status,
        outcome: e.status === 'ABORTED' ? 'failed' : executionOutcome(e),
        ...(e.error ? { error: e.error, cause: e.cause } : {}),
        stateTransitions: e.stateEntered,
      })),
      releases,
      timeline: world.timeline.map((entry) => {
        const t = (entry.at - start.getTime()) / 1000;
        return {
          t,
          time: formatOffset(t),
          kind: entry.kind,
          text: entry.text,
          ...(entry.execution ? { execution: label(entry.execution) } : {}),
        };
      }),
      notifications: world.sns.messages.map((m) => ({
        t: (m.at - start.getTime()) / 1000,
        subject: m.subject,
        message: JSON.parse(m.message) as Record<string, unknown>,
      })),
      triggers: triggerResults.map((r) => {
        const t = (r.at - start.getTime()) / 1000;
        if (!r.ok) return { t, status: 'error', reason: `${r.error?.name}: ${r.error?.message}` };
        const value = r.value as { status?: string; reason?: string; executionName?: string };
        return {
          t,
          status: String(value.status),
          ...(value.reason ? { reason: value.reason } : {}),
          ...(value.executionName ? { executionName: value.executionName } : {}),
        };
      }),
      awsCalls: world.commands.reduce<Record<string, number>>((counts, c) => {
        const key = `${c.service}:${c.command}`;
        counts[key] = (counts[key] ?? 0) + 1;
        return counts;
      }, {}),
      deadLetters: world.deadLetters.map((d) => ({
        t: (d.at - start.getTime()) / 1000,
        fn: d.fn,
        error: d.error,
        detailType: String(d.event['detail-type'] ?? 'event'),
      })),
      stateTransitions: executions.reduce((sum, e) => sum + e.stateEntered, 0),
      rollbackReactionSeconds,
      virtualSeconds: Math.max(0, (clock.nowMillis - start.getTime()) / 1000),
      wallMs: Math.round(performance.now() - wallStart),
      expectations: null,
    };
    result.expectations = scenario.expect ? checkExpectations(scenario.expect, result) : null;
    return result;
  } finally {
    useIam(undefined);
    useWorld(undefined);
    useClock(previousClock === clock ? systemClock : previousClock);
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
};

/** Compares a run with what the scenario expects; each failure says what differed. */
export const checkExpectations = (
  expect: NonNullable<Scenario['expect']>,
  result: ScenarioResult,
): { passed: boolean; failures: string[] } => {
  const failures: string[] = [];
  if (expect.outcome !== undefined && expect.outcome !== result.outcome) {
    failures.push(
      `outcome: expected ${expect.outcome}, got ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`,
    );
  }
  if (expect.servingVersion !== undefined && expect.servingVersion !== result.servingVersion) {
    failures.push(
      `servingVersion: expected ${expect.servingVersion}, got ${result.servingVersion ?? `none at 100% (${JSON.stringify(result.traffic)})`}`,
    );
  }
  if (expect.executions !== undefined && expect.executions !== result.executions.length) {
    failures.push(`executions: expected ${expect.executions}, got ${result.executions.length}`);
  }
  if (expect.notifications !== undefined) {
    const events = result.notifications.map((n) => String(n.message.event));
    if (JSON.stringify(events) !== JSON.stringify(expect.notifications)) {
      failures.push(
        `notifications: expected [${expect.notifications.join(', ')}], got [${events.join(', ')}]`,
      );
    }
  }
  if (expect.reasonContains !== undefined && !(result.reason ?? '').includes(expect.reasonContains)) {
    failures.push(`reason: expected it to contain "${expect.reasonContains}", got "${result.reason ?? ''}"`);
  }
  if (expect.maxRollbackReactionSeconds !== undefined) {
    if (
      result.rollbackReactionSeconds === null ||
      result.rollbackReactionSeconds > expect.maxRollbackReactionSeconds
    ) {
      failures.push(
        `rollbackReactionSeconds: expected at most ${expect.maxRollbackReactionSeconds}, got ${result.rollbackReactionSeconds ?? 'none'}`,
      );
    }
  }
  return { passed: failures.length === 0, failures };
};
