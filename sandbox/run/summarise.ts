import {
  createDynamoDbDocumentClient,
  DynamoDbReleaseStore,
} from '../../lib/adapters/dynamodb-release-store.ts';
import { assessReleases, DORA_NAMESPACE, doraFigures } from '../../lib/domain/dora.ts';
import type { ReleaseEventMessage } from '../../lib/domain/progress.ts';
import type { ReleaseRecord } from '../../lib/ports/release-store.ts';
import type { ExecutionRecord } from '../aws/sfn.ts';
import type { VersionCatalog } from '../aws/traffic.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import { releaseEventsTopicOf } from '../iam/policies.ts';
import type { SandboxOutcome, ScenarioResult } from '../run-scenario.ts';
import { detection } from '../scenario/detection.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { CliRun } from './cli.ts';
import type { ServiceRequests, TriggerResult } from './schedule.ts';
import { isRollingTarget, type RollingTargetFields, rollingRouting } from './seed-world.ts';
import { type ServiceTimeSeries, serviceTimeSeries } from './time-series.ts';
import { unusedFaults } from './unused-faults.ts';
import type { ServicePlan } from './validate.ts';

/** `+01:05:00` from seconds. */
export const formatOffset = (seconds: number): string => {
  const s = Math.abs(Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${seconds < 0 ? '-' : '+'}${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
};

/** How an execution ended, as a release outcome. */
export const executionOutcome = (execution: ExecutionRecord): SandboxOutcome => {
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

/** Each execution's label and service, read once from its input. */
export interface ExecutionIndex {
  /** Executions are shown by the version they release (the tag in their input), not their hash name. */
  label: (execution?: string) => string;
  /** The service an execution releases (its input's `service`). */
  service: (execution: string) => string | undefined;
}

/** Indexes executions by name as they start: the timeline asks once per entry, and a fleet has thousands. */
export const executionIndex = (world: () => SimulatedWorld | undefined): ExecutionIndex => {
  const known = new Map<string, { label: string; service?: string }>();
  let indexed = 0;
  const lookup = (execution: string) => {
    const executions = world()?.sfn.executions;
    if (!known.has(execution) && executions && executions.size !== indexed) {
      // Only executions started since the last miss are new; the map keeps start order.
      let i = 0;
      for (const record of executions.values()) {
        if (i++ < indexed) continue;
        const request = JSON.parse(record.input) as {
          service?: unknown;
          image?: { tag?: string; digest?: string };
        };
        known.set(record.name, {
          label: request.image?.tag ?? request.image?.digest?.slice(7, 19) ?? record.name,
          ...(typeof request.service === 'string' ? { service: request.service } : {}),
        });
      }
      indexed = executions.size;
    }
    return known.get(execution);
  };
  return {
    label: (execution) => (execution ? (lookup(execution)?.label ?? execution) : ''),
    service: (execution) => lookup(execution)?.service,
  };
};

export interface SummaryInput {
  scenario: Scenario;
  world: SimulatedWorld;
  versions: VersionCatalog;
  /** The scenario's own service: the top-level fields of the result describe it. */
  serviceName: string;
  services: ReadonlyMap<string, ServicePlan>;
  tableName: string;
  start: Date;
  triggerResults: TriggerResult[];
  /** What was sent to each service's trigger (see `Schedule.requests`). */
  requests: ReadonlyMap<string, ServiceRequests>;
  /** The command that started the run (`trigger: { cli }`), once it exited. */
  triggerCommand?: CliRun;
  executions: ExecutionIndex;
  wallStart: number;
}

/**
 * The note of the cursor a succeeded execution ended with: what its last cursor-returning step said (after a
 * bake, why it passed, e.g. an inconclusive bake the service treats as passed).
 */
const lastNoteOf = (output: string | undefined): { lastNote?: string } => {
  if (output === undefined) return {};
  const note = (JSON.parse(output) as { cursor?: { note?: unknown } } | null)?.cursor?.note;
  return typeof note === 'string' ? { lastNote: note } : {};
};

/** What the run did to one service: the same fields the result has at its top level for the scenario's service. */
export interface ServiceResult {
  outcome: SandboxOutcome;
  reason: string | null;
  fromVersion: string | null;
  toVersion: string | null;
  servingVersion: string | null;
  traffic: Record<string, number>;
  /** The listener rule's action types at the end, in order. */
  listenerRuleActions: string[];
  notifications: ScenarioResult['notifications'];
  executions: ScenarioResult['executions'];
  releases: ReleaseRecord[];
  stateTransitions: number;
  rollbackReactionSeconds: number | null;
  /** Seconds from regression onset to the first watched alarm's ALARM (see sandbox/scenario/detection.ts). */
  detectionSeconds: number | null;
  /** Requests the released version served while regressed. */
  exposedRequests: number;
  /**
   * How many times the pipeline changed the production listener rule's weights (ModifyRule on it): 0 when a
   * release failed before moving production traffic, 1 for a blue/green swap, 2 for a swap and its swap back.
   */
  productionWeightChanges: number;
  /**
   * Each slot's ECS service at the end (ecs-alb only): the version its tasks run and its desired and running
   * task counts, e.g. the old slot a stopped release left warm (`desiredCount` > 0 with 0% of the traffic).
   */
  slots?: Record<
    'blue' | 'green',
    { service: string; version: string; desiredCount: number; runningCount: number }
  >;
  /**
   * Over virtual time: each version's traffic share, per minute its requests, errors and response time, the
   * watched alarms' transitions and where each release ended. Only in a run that records them (`shipline
   * simulate --json` or `--report`; `runScenario(..., { series: true })`).
   */
  series?: ServiceTimeSeries;
}

interface ServiceInputs {
  executions: ExecutionRecord[];
  triggerResults: TriggerResult[];
  notifications: ScenarioResult['notifications'];
  requests: ServiceRequests;
  /** The scenario's own service, when a command started the run: that command. */
  triggerCommand: CliRun | undefined;
  /** The scenario's `until`, for a trigger the run ended before. */
  until: string;
}

/**
 * Why a service has no release: the trigger refused or ignored what it was sent, the command that started
 * the run started none, no rule matched its events, the run ended before the trigger answered, or nothing
 * was sent to it at all.
 */
const withoutRelease = (inputs: ServiceInputs): { outcome: SandboxOutcome; reason: string } => {
  const failed = inputs.triggerResults.find((r) => !r.ok);
  if (failed) return { outcome: 'rejected', reason: `${failed.error?.name}: ${failed.error?.message}` };
  const answers = inputs.triggerResults.map((r) => (r.value ?? {}) as { status?: string; reason?: string });
  const ignored = answers.find((answer) => answer.status === 'ignored');
  if (ignored) return { outcome: 'ignored', reason: ignored.reason ?? 'the trigger ignored the event' };
  const [answer] = answers;
  if (answer)
    return {
      outcome: 'failed',
      reason: `the trigger answered ${answer.status ?? 'without a status'}${answer.reason ? ` (${answer.reason})` : ''} and no release started before the run ended at until (${inputs.until})`,
    };
  const command = inputs.triggerCommand;
  if (command) {
    const said = command.stderr.split('\n').find((line) => line.trim() !== '');
    return {
      outcome: command.exitCode === 0 ? 'ignored' : 'rejected',
      reason: `shipline ${command.command} exited ${command.exitCode} without starting a release${said ? `: ${said.replace(/^shipline: /, '')}` : ''}`,
    };
  }
  const { sent, unmatched } = inputs.requests;
  if (sent > 0 && unmatched === sent)
    return { outcome: 'ignored', reason: 'no EventBridge rule matched the event' };
  if (sent > 0)
    return {
      outcome: 'failed',
      reason: `the trigger had not answered when the run ended at until (${inputs.until})`,
    };
  return { outcome: 'ignored', reason: 'nothing was pushed or requested for this service' };
};

/**
 * What serves a service at the end, per target kind: the listener rule, the traffic per slot (or, on a rolling
 * service, per version by running tasks), the version serving all of it, the watched alarms, and when the
 * pipeline reacted to an alarm by rolling back (a slot back at 100%; on a rolling service, its next
 * UpdateService).
 */
export const routeOf = (
  plan: ServicePlan,
  world: SimulatedWorld,
  versions: VersionCatalog,
): {
  listenerRuleArn: string;
  traffic: Record<string, number>;
  servingVersion: string | null;
  watched: string[];
  rollbackAfter: (at: number) => number | undefined;
} => {
  const { declared } = plan;
  const target = declared.target;
  const traffic: Record<string, number> = {};
  let servingVersion: string | null = null;
  if (isRollingTarget(target)) {
    const rolling = target as unknown as RollingTargetFields;
    const { listenerRuleArn } = rollingRouting(plan.name, rolling, world.region, world.account);
    const service = world.ecs.services.get(`${rolling.cluster}/${rolling.service}`);
    const shares = service ? world.ecs.servingShares(service) : [];
    const tasks = shares.reduce((sum, share) => sum + share.tasks, 0);
    for (const share of shares) {
      const version = versions.byImage(share.image)?.name ?? 'nothing';
      traffic[`${rolling.service} (${version})`] = Math.round((share.tasks / tasks) * 100);
      if (share.tasks === tasks) servingVersion = version;
    }
    return {
      listenerRuleArn,
      traffic,
      servingVersion,
      watched: [...declared.alarms, ...(rolling.alarms ?? [])],
      rollbackAfter: (at) =>
        world.commands.find(
          (c) =>
            c.at >= at &&
            c.command === 'UpdateService' &&
            String((c.input as { service?: unknown }).service)
              .split('/')
              .at(-1) === rolling.service,
        )?.at,
    };
  }
  const weights = world.elbv2.weightsOf(target.listenerRuleArn);
  for (const slot of ['blue', 'green'] as const) {
    const weight = Math.round(weights[target.slots[slot].targetGroupArn] ?? 0);
    const service = world.ecs.services.get(`${target.cluster}/${target.slots[slot].service}`);
    const version = service
      ? (versions.byImage(world.ecs.servingImage(service))?.name ?? 'nothing')
      : 'nothing';
    if (weight > 0) traffic[`${slot} (${version})`] = weight;
    if (weight === 100) servingVersion = version;
  }
  return {
    listenerRuleArn: target.listenerRuleArn,
    traffic,
    servingVersion,
    watched: [...declared.alarms, ...target.slots.blue.alarms, ...target.slots.green.alarms],
    // The first weight change after the alarm that puts one slot back at 100% is the rollback.
    rollbackAfter: (at) =>
      world.elbv2.changes.find(
        (c) =>
          c.at >= at &&
          c.ruleArn === target.listenerRuleArn &&
          Object.values(c.weights).some((w) => w === 100),
      )?.at,
  };
};

/** Each slot's ECS service at the end, for an ecs-alb service (a rolling one has none). */
const slotsOf = (
  plan: ServicePlan,
  world: SimulatedWorld,
  versions: VersionCatalog,
): Pick<ServiceResult, 'slots'> => {
  const target = plan.declared.target;
  if (isRollingTarget(target)) return {};
  const slot = (name: 'blue' | 'green') => {
    const declared = target.slots[name];
    const service = world.ecs.services.get(`${target.cluster}/${declared.service}`);
    return {
      service: declared.service,
      version: service ? (versions.byImage(world.ecs.servingImage(service))?.name ?? 'nothing') : 'nothing',
      desiredCount: service?.desiredCount ?? 0,
      runningCount: service?.runningCount ?? 0,
    };
  };
  return { slots: { blue: slot('blue'), green: slot('green') } };
};

const summariseService = async (
  plan: ServicePlan,
  inputs: ServiceInputs,
  context: {
    world: SimulatedWorld;
    versions: VersionCatalog;
    store: DynamoDbReleaseStore;
    label: (e?: string) => string;
    start: Date;
  },
): Promise<ServiceResult> => {
  const { world, versions, store, label, start } = context;
  const { executions } = inputs;
  const releases = await store.listRecords(plan.name, 50);
  const newest = executions.at(-1);
  const newestRecord = newest ? releases.find((r) => r.releaseId === newest.name) : undefined;
  let outcome: SandboxOutcome;
  let reason: string | null = null;
  if (!newest) {
    ({ outcome, reason } = withoutRelease(inputs));
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
  const route = routeOf(plan, world, versions);
  const { traffic, servingVersion } = route;
  let rollbackReactionSeconds: number | null = null;
  if (outcome === 'rolled_back' && newest) {
    const watched = new Set(route.watched);
    const alarmAt = world.alarmTransitions.find(
      (t) => t.state === 'ALARM' && watched.has(t.alarm) && t.at >= newest.startDate.getTime(),
    )?.at;
    if (alarmAt !== undefined) {
      const reactedAt = route.rollbackAfter(alarmAt);
      if (reactedAt !== undefined) rollbackReactionSeconds = (reactedAt - alarmAt) / 1000;
    }
  }
  const detected = detection({
    world,
    fromVersion: newestRecord?.fromVersion ?? null,
    toVersion: newestRecord?.toVersion ?? (newest ? label(newest.name) : null),
    watched: route.watched,
    since: newest?.startDate.getTime() ?? start.getTime(),
    listenerRuleArn: route.listenerRuleArn,
  });
  return {
    outcome,
    reason,
    fromVersion: newestRecord?.fromVersion ?? null,
    toVersion: newestRecord?.toVersion ?? (newest ? label(newest.name) : null),
    servingVersion,
    traffic,
    listenerRuleActions: world.elbv2.actionTypesOf(route.listenerRuleArn),
    notifications: inputs.notifications,
    executions: executions.map((e) => ({
      name: e.name,
      version: label(e.name),
      status: e.status,
      outcome: e.status === 'ABORTED' ? 'failed' : executionOutcome(e),
      ...(e.error ? { error: e.error, cause: e.cause } : {}),
      ...lastNoteOf(e.output),
      stateTransitions: e.stateEntered,
    })),
    releases,
    stateTransitions: executions.reduce((sum, e) => sum + e.stateEntered, 0),
    rollbackReactionSeconds,
    detectionSeconds: detected.detectionSeconds,
    exposedRequests: detected.exposedRequests,
    productionWeightChanges: world.elbv2.changes.filter((c) => c.ruleArn === route.listenerRuleArn).length,
    ...slotsOf(plan, world, versions),
    ...(world.traffic.series
      ? {
          series: serviceTimeSeries({
            series: world.traffic.series,
            world,
            listenerRuleArn: route.listenerRuleArn,
            watched: route.watched,
            executions: executions.map((e) => ({
              record: e,
              version: label(e.name),
              outcome: e.status === 'ABORTED' ? 'failed' : executionOutcome(e),
            })),
            releases,
            start: start.getTime(),
          }),
        }
      : {}),
  };
};

/**
 * What the run did, read back from the simulated account and the pipeline's own records: per service,
 * and at the top level for the scenario's own service. In a world of one service, everything the run saw
 * (every execution, trigger and notification) is that service's, whatever it names.
 */
export const summarise = async (input: SummaryInput): Promise<ScenarioResult> => {
  const { scenario, world, versions, serviceName, services, start, triggerResults } = input;
  const { label } = input.executions;
  const clock = world.clock;
  const store = new DynamoDbReleaseStore(createDynamoDbDocumentClient(), () => input.tableName);
  // In start order (the map keeps it; the sort is stable): two executions started in the same
  // millisecond are never ordered by name, which would be by digest.
  const executions = [...world.sfn.executions.values()].sort(
    (a, b) => a.startDate.getTime() - b.startDate.getTime(),
  );
  const serviceOf = input.executions.service;
  const notifications = world.sns.messages.map((m) => ({
    t: (m.at - start.getTime()) / 1000,
    subject: m.subject,
    message: JSON.parse(m.message) as Record<string, unknown>,
  }));
  // Grouped once by service (a fleet has a thousand): in a world of one service, everything is its own.
  const single = services.size === 1;
  const group = <T>(items: readonly T[], serviceOfItem: (item: T) => unknown): Map<unknown, T[]> => {
    const groups = new Map<unknown, T[]>();
    for (const item of items) {
      const key = single ? serviceName : serviceOfItem(item);
      const list = groups.get(key) ?? [];
      list.push(item);
      groups.set(key, list);
    }
    return groups;
  };
  const executionsBy = group(executions, (e) => serviceOf(e.name));
  // Raw events name no service: they count for the scenario's own.
  const triggersBy = group(triggerResults, (r) => r.service ?? serviceName);
  const notificationsBy = group(notifications, (n) => n.message.service);
  const perService: Record<string, ServiceResult> = {};
  for (const plan of services.values()) {
    perService[plan.name] = await summariseService(
      plan,
      {
        executions: executionsBy.get(plan.name) ?? [],
        triggerResults: triggersBy.get(plan.name) ?? [],
        notifications: notificationsBy.get(plan.name) ?? [],
        requests: single
          ? [...input.requests.values()].reduce(
              (sum, each) => ({ sent: sum.sent + each.sent, unmatched: sum.unmatched + each.unmatched }),
              { sent: 0, unmatched: 0 },
            )
          : (input.requests.get(plan.name) ?? { sent: 0, unmatched: 0 }),
        triggerCommand: plan.name === serviceName ? input.triggerCommand : undefined,
        until: String(scenario.until),
      },
      { world, versions, store, label, start },
    );
  }
  const own = perService[serviceName];
  if (!own) throw new Error(`the scenario's service ${serviceName} was not summarised`);
  return {
    scenario: scenario.name,
    outcome: own.outcome,
    reason: own.reason,
    service: serviceName,
    fromVersion: own.fromVersion,
    toVersion: own.toVersion,
    servingVersion: own.servingVersion,
    traffic: own.traffic,
    listenerRuleActions: own.listenerRuleActions,
    executions: own.executions,
    releases: own.releases,
    timeline: world.timeline.map((entry) => {
      const t = (entry.at - start.getTime()) / 1000;
      const service = entry.service ?? (entry.execution ? serviceOf(entry.execution) : undefined);
      return {
        t,
        time: formatOffset(t),
        kind: entry.kind,
        text: entry.text,
        ...(entry.execution ? { execution: label(entry.execution) } : {}),
        ...(service ? { service } : {}),
      };
    }),
    notifications: own.notifications,
    // The release-events topic's messages (the pipeline's other internal topic carries alarm notifications).
    releaseEvents: world.sns.internalMessages
      .filter((m) => m.topicArn === releaseEventsTopicOf(world))
      .map((m) => ({
        t: (m.at - start.getTime()) / 1000,
        message: JSON.parse(m.message) as ReleaseEventMessage,
      })),
    triggers: triggerResults.map((r) => {
      const t = (r.at - start.getTime()) / 1000;
      const service = r.service !== undefined ? { service: r.service } : {};
      if (!r.ok) return { t, status: 'error', reason: `${r.error?.name}: ${r.error?.message}`, ...service };
      const value = r.value as { status?: string; reason?: string; executionName?: string };
      return {
        t,
        status: String(value.status),
        ...(value.reason ? { reason: value.reason } : {}),
        ...(value.executionName ? { executionName: value.executionName } : {}),
        ...service,
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
    stateTransitions: own.stateTransitions,
    rollbackReactionSeconds: own.rollbackReactionSeconds,
    detectionSeconds: own.detectionSeconds,
    exposedRequests: own.exposedRequests,
    productionWeightChanges: own.productionWeightChanges,
    virtualSeconds: Math.max(0, (clock.nowMillis - start.getTime()) / 1000),
    wallMs: Math.round(performance.now() - input.wallStart),
    seed: world.random.seed,
    services: perService,
    dora: Object.fromEntries(
      Object.entries(perService).map(([name, result]) => [
        name,
        doraFigures(assessReleases(result.releases), {
          from: start.toISOString(),
          to: new Date(Math.max(clock.nowMillis, start.getTime() + 1000)).toISOString(),
        }),
      ]),
    ),
    doraMetrics: world.cloudwatch.published
      .filter((point) => point.namespace === DORA_NAMESPACE)
      .map((point) => ({
        t: (point.at - start.getTime()) / 1000,
        metric: point.metric,
        service: point.dimensions.service ?? '',
        environment: point.dimensions.environment ?? '',
        value: point.value,
      })),
    cli: [],
    unusedFaults: unusedFaults(scenario, world),
    expectations: null,
  };
};
