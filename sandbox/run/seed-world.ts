import path from 'node:path';
import { TASK_DEFINITION_TAGS } from '../../lib/adapters/ecs-slot-deployer.ts';
import type { ShiplineConfig } from '../../lib/config/schema.ts';
import { parseDurationSeconds } from '../../lib/duration.ts';
import type { ReleaseStore } from '../../lib/ports/release-store.ts';
import { DEFAULT_DEPLOYMENT_CONFIGURATION, type DeploymentConfiguration } from '../aws/ecs.ts';
import { loadBalancerDimensionOf, VersionCatalog } from '../aws/traffic.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import { commandFaultError, type Scenario, type ServiceWorldState } from '../scenario/schema.ts';
import { readYamlFile } from '../yaml-file.ts';
import { ScenarioError } from './errors.ts';
import type { ServicePlan } from './validate.ts';

/** The scenario's versions as the traffic model plays them. */
export const buildVersionCatalog = (scenario: Scenario): VersionCatalog =>
  new VersionCatalog(
    Object.entries(scenario.versions).map(([name, v]) => ({
      name,
      digest: v.digest,
      errorRate: v.errorRate,
      latencyMs: v.latencyMs,
      ...(v.latencyP99Ms !== undefined ? { latencyP99Ms: v.latencyP99Ms } : {}),
      failsToStart: v.failsToStart,
      ...(v.httpStatus !== undefined ? { httpStatus: v.httpStatus } : {}),
      changes: v.changes.map((c) => ({
        ...(c.after !== undefined ? { afterSeconds: parseDurationSeconds(c.after) ?? 0 } : {}),
        ...(c.atTrafficPercentAtLeast !== undefined
          ? { atTrafficPercentAtLeast: c.atTrafficPercentAtLeast }
          : {}),
        ...(c.errorRate !== undefined ? { errorRate: c.errorRate } : {}),
        ...(c.latencyMs !== undefined ? { latencyMs: c.latencyMs } : {}),
        ...(c.latencyP99Ms !== undefined ? { latencyP99Ms: c.latencyP99Ms } : {}),
      })),
    })),
  );

export interface SeedOptions {
  scenario: Scenario;
  config: ShiplineConfig;
  services: Iterable<ServicePlan>;
  start: Date;
  topicArn: string;
  stateMachineName: string;
  repositoryRoot: string;
}

/**
 * The fields the sandbox reads from an `ecs-rolling` target (config vocabulary of issue 7: one ECS service,
 * no slots). The target group and listener rule are optional there: without them the world gives the service
 * its own (ALB metrics need a load balancer and a target group).
 */
export interface RollingTargetFields {
  type: 'ecs-rolling';
  cluster: string;
  service: string;
  container: string;
  targetGroupArn?: string;
  listenerRuleArn?: string;
  /** Alarms watched for this target besides the service's own. */
  alarms?: string[];
}

/** A rolling service's target group and listener rule: the config's, or the world's own for it. */
export const rollingRouting = (
  name: string,
  target: RollingTargetFields,
  region: string,
  account: string,
): { listenerRuleArn: string; targetGroupArn: string } => ({
  listenerRuleArn:
    target.listenerRuleArn ??
    `arn:aws:elasticloadbalancing:${region}:${account}:listener-rule/app/${name}/0000000000000000/0000000000000000/0000000000000000`,
  targetGroupArn:
    target.targetGroupArn ??
    `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/${target.service}/0000000000000000`,
});

/** Narrows a config target to the rolling kind (never on a config that declares no such kind). */
export const isRollingTarget = <T extends { type: string }>(
  target: T,
): target is Extract<T, { type: 'ecs-rolling' }> => target.type === 'ecs-rolling';

/**
 * One service as the account holds it before the scenario starts. Slots (`ecs-alb`): the stable slot runs
 * `serving`, the idle slot runs `idleServing` or nothing, the listener rule splits traffic by `weights`
 * (default: 100% to the stable slot). Rolling (`ecs-rolling`): one service runs `serving` with its
 * `deploymentConfiguration`, its target group takes all of the listener rule's traffic. Its alarms are in their
 * initial state.
 */
export const seedService = (
  world: SimulatedWorld,
  plan: ServicePlan,
  scenario: Scenario,
  start: Date,
): void => {
  const { region, account } = scenario.world;
  const { name, declared, state } = plan;
  const target = declared.target;
  const repositoryUri = `${account}.dkr.ecr.${region}.amazonaws.com/${declared.image.repository}`;
  // The repository holds every version's image, with the labels its configuration carries (OCI created),
  // tagged with the version's name as a push of it tags it (`v2`), so a deploy can name `<repository>:v2`.
  for (const [tag, version] of Object.entries(scenario.versions))
    world.ecr.putImage(
      declared.image.repository,
      version.digest,
      version.created ? { 'org.opencontainers.image.created': version.created } : {},
      { tags: [tag] },
    );
  // Its task definition family (the service's name) and alarms are its own on the timeline.
  world.resourceServices.set(world.ecs.familyArn(name), name);
  const definitionOf = (version: string) =>
    world.ecs.registerTaskDefinition(
      {
        family: name,
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '512',
        memory: '1024',
        executionRoleArn: `arn:aws:iam::${account}:role/${name}-execution`,
        containerDefinitions: [
          {
            name: target.container,
            image: `${repositoryUri}@${scenario.versions[version]?.digest}`,
            essential: true,
            portMappings: [{ containerPort: 8080 }],
          },
        ],
        tags: [
          ...Object.entries(state.taskDefinitionTags).map(([key, value]) => ({ key, value })),
          { key: TASK_DEFINITION_TAGS.version, value: version },
        ],
      },
      { byAws: true },
    );
  if (isRollingTarget(target)) {
    const rolling = target as unknown as RollingTargetFields;
    const { listenerRuleArn, targetGroupArn } = rollingRouting(name, rolling, region, account);
    seedRollingService(world, {
      name,
      cluster: rolling.cluster,
      service: rolling.service,
      container: rolling.container,
      targetGroupArn,
      listenerRuleArn,
      taskDefinitionArn: definitionOf(state.serving).taskDefinitionArn,
      state,
    });
    seedAlarms(world, plan, start, listenerRuleArn, (slot, index) => {
      throw new ScenarioError(
        `${plan.path}.alarms[${index}].targetGroup: ${name} is a rolling service with one target group; omit targetGroup ${slot}`,
      );
    });
    return;
  }
  const baseDefinition = definitionOf(state.serving);
  const idleDefinition = state.idleServing !== undefined ? definitionOf(state.idleServing) : undefined;
  const stableSlot = state.stableSlot;
  const idleSlot = stableSlot === 'blue' ? 'green' : 'blue';
  for (const slot of ['blue', 'green'] as const) {
    const definition = slot === stableSlot ? baseDefinition : (idleDefinition ?? baseDefinition);
    const desired = slot === stableSlot || idleDefinition ? state.desiredCount : 0;
    const serviceArn = world.ecs.createService(
      target.cluster,
      target.slots[slot].service,
      definition.taskDefinitionArn,
      desired,
      target.slots[slot].targetGroupArn,
      target.container,
    );
    world.resourceServices.set(serviceArn, name);
    world.elbv2.targetGroups.set(target.slots[slot].targetGroupArn, { name: slot });
  }
  const weights = state.weights ?? { [stableSlot]: 100, [idleSlot]: 0 };
  world.elbv2.createRule(
    target.listenerRuleArn,
    [
      { TargetGroupArn: target.slots[stableSlot].targetGroupArn, Weight: weights[stableSlot] ?? 100 },
      { TargetGroupArn: target.slots[idleSlot].targetGroupArn, Weight: weights[idleSlot] ?? 0 },
    ],
    state.listenerRule.authenticate ? { authenticate: state.listenerRule.authenticate } : {},
  );
  world.traffic.setRequestsPerMinute(target.listenerRuleArn, state.requestsPerMinute);
  world.resourceServices.set(target.listenerRuleArn, name);
  world.productionRules.set(name, target.listenerRuleArn);
  seedTestRoute(world, name, target, state, plan.path);
  seedAlarms(world, plan, start, target.listenerRuleArn, (slot) => target.slots[slot].targetGroupArn);
};

/** The service's alarms in their initial state; `targetGroupOf` resolves an alarm scoped to one slot. */
const seedAlarms = (
  world: SimulatedWorld,
  plan: ServicePlan,
  start: Date,
  listenerRuleArn: string,
  targetGroupOf: (slot: 'blue' | 'green', index: number) => string,
): void => {
  const loadBalancer = loadBalancerDimensionOf(listenerRuleArn) ?? world.loadBalancerDimension;
  for (const [index, alarm] of plan.state.alarms.entries()) {
    const targetGroupArn = alarm.targetGroup ? targetGroupOf(alarm.targetGroup, index) : undefined;
    const since = new Date(start.getTime() - (parseDurationSeconds(alarm.stateSince) ?? 3600) * 1000);
    world.claimResource(world.cloudwatch.alarmArn(alarm.name), plan.name);
    world.cloudwatch.putAlarm({
      AlarmName: alarm.name,
      ...(alarm.description ? { AlarmDescription: alarm.description } : {}),
      Namespace: alarm.namespace,
      MetricName: alarm.metric,
      Dimensions: [
        { Name: 'LoadBalancer', Value: loadBalancer },
        ...(targetGroupArn
          ? [{ Name: 'TargetGroup', Value: targetGroupArn.slice(targetGroupArn.indexOf('targetgroup/')) }]
          : []),
      ],
      ...(alarm.extendedStatistic !== undefined
        ? { ExtendedStatistic: alarm.extendedStatistic }
        : { Statistic: alarm.statistic ?? 'Sum' }),
      ...(alarm.evaluateLowSampleCountPercentile !== undefined
        ? { EvaluateLowSampleCountPercentile: alarm.evaluateLowSampleCountPercentile }
        : {}),
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
};

/** The test-route fields of a target (`ecs-alb` blue/green): read loosely, the config may not declare them. */
interface TestRouteTarget {
  testListenerRuleArn?: unknown;
  testUrl?: unknown;
  slots: Record<'blue' | 'green', { targetGroupArn: string }>;
}

/**
 * A service's test listener rule, when the config declares `target.testListenerRuleArn` (or the scenario
 * gives `testRoute.ruleArn`): it forwards to one slot (`testRoute.forwardsTo`, default the stable one) and is
 * reached at the host of `target.testUrl` (or `testRoute.host`), the only host of the service the world's DNS
 * resolves.
 */
export const seedTestRoute = (
  world: SimulatedWorld,
  name: string,
  target: TestRouteTarget,
  state: Pick<ServiceWorldState, 'testRoute' | 'stableSlot'>,
  /** Where the scenario describes the service (`world` or `world.services.<name>`), for errors. */
  where = `world.services.${name}`,
): void => {
  const ruleArn =
    state.testRoute?.ruleArn ??
    (typeof target.testListenerRuleArn === 'string' ? target.testListenerRuleArn : undefined);
  if (ruleArn === undefined) {
    if (state.testRoute !== undefined)
      throw new ScenarioError(
        `${where}.testRoute: ${name} has no test listener rule: set testRoute.ruleArn, or target.testListenerRuleArn in the config`,
      );
    return;
  }
  let host = state.testRoute?.host;
  if (host === undefined && typeof target.testUrl === 'string') {
    try {
      host = new URL(target.testUrl).hostname;
    } catch {
      host = undefined;
    }
  }
  const slot = state.testRoute?.forwardsTo ?? state.stableSlot;
  world.elbv2.createRule(ruleArn, [{ TargetGroupArn: target.slots[slot].targetGroupArn, Weight: 1 }], {
    test: true,
    ...(host ? { host } : {}),
  });
  world.resourceServices.set(ruleArn, name);
  if (host) world.testRoutes.add({ service: name, ruleArn, host });
};

/** A rolling service as the scenario describes it (`deploymentConfiguration`), for `SimulatedEcs.createService`. */
export const rollingDeploymentConfiguration = (
  state: Pick<ServiceWorldState, 'deploymentConfiguration'>,
): DeploymentConfiguration => {
  const given = state.deploymentConfiguration;
  if (!given) return structuredClone(DEFAULT_DEPLOYMENT_CONFIGURATION);
  return {
    minimumHealthyPercent: given.minimumHealthyPercent,
    maximumPercent: given.maximumPercent,
    deploymentCircuitBreaker: { ...given.circuitBreaker },
  };
};

/**
 * One ECS service updated in place (target `ecs-rolling`): steady on `taskDefinitionArn` with `desiredCount`
 * tasks behind one target group, which the production listener rule forwards all its traffic to.
 */
export const seedRollingService = (
  world: SimulatedWorld,
  options: {
    name: string;
    cluster: string;
    service: string;
    container: string;
    targetGroupArn: string;
    listenerRuleArn: string;
    taskDefinitionArn: string;
    state: Pick<ServiceWorldState, 'deploymentConfiguration' | 'desiredCount' | 'requestsPerMinute'>;
  },
): void => {
  const { name, state } = options;
  const serviceArn = world.ecs.createService(
    options.cluster,
    options.service,
    options.taskDefinitionArn,
    state.desiredCount,
    options.targetGroupArn,
    options.container,
    { rolling: true, deploymentConfiguration: rollingDeploymentConfiguration(state) },
  );
  world.resourceServices.set(serviceArn, name);
  world.elbv2.targetGroups.set(options.targetGroupArn, { name: options.service });
  world.elbv2.createRule(options.listenerRuleArn, [{ TargetGroupArn: options.targetGroupArn, Weight: 1 }]);
  world.traffic.setRequestsPerMinute(options.listenerRuleArn, state.requestsPerMinute);
  world.resourceServices.set(options.listenerRuleArn, name);
  world.productionRules.set(name, options.listenerRuleArn);
};

/** The user's smoke-test functions (`world.functions`), each testing a service of the world. */
export const seedFunctions = (world: SimulatedWorld, scenario: Scenario, defaultService: string): void => {
  for (const [name, fn] of Object.entries(scenario.world.functions))
    world.functions.functions.set(name, {
      name,
      service: fn.service ?? defaultService,
      answers: fn.answers,
      otherwise: fn.otherwise,
      ...(fn.error ? { error: fn.error } : {}),
      durationMs: fn.durationMs,
      timeoutSeconds: parseDurationSeconds(fn.timeout) ?? 3,
    });
};

/**
 * The initial world: every service of the scenario, the topics, the state machine, and the faults the
 * scenario injects.
 */
/** The world's secrets (SSM parameters, Secrets Manager secrets) and its Slack workspace. */
const seedSlack = (world: SimulatedWorld, scenario: Scenario, start: Date): void => {
  for (const [name, value] of Object.entries(scenario.world.parameters))
    world.ssm.parameters.set(name, value);
  for (const [name, value] of Object.entries(scenario.world.secrets))
    world.secretsManager.secrets.set(name, value);
  const slack = scenario.world.slack;
  if (!slack) return;
  const at = (duration: string | number) => start.getTime() + (parseDurationSeconds(duration) ?? 0) * 1000;
  world.slack.workspace = {
    team: slack.team,
    botToken: slack.botToken,
    signingSecret: slack.signingSecret,
    channels: slack.channels,
    users: slack.users,
    outages: slack.down.map((outage) => ({
      from: at(outage.from),
      until: outage.until === undefined ? Number.POSITIVE_INFINITY : at(outage.until),
      status: outage.status,
      retryAfterSeconds: parseDurationSeconds(outage.retryAfter) ?? 30,
    })),
  };
};

export const seedWorld = (world: SimulatedWorld, options: SeedOptions): void => {
  const { scenario, config, start } = options;
  const plans = [...options.services];
  for (const plan of plans) seedService(world, plan, scenario, start);
  const first = plans[0]?.name;
  if (first !== undefined) seedFunctions(world, scenario, first);
  world.sns.topics.add(options.topicArn);
  for (const svc of Object.values(config.services))
    if (svc.notify.topicArn) world.sns.topics.add(svc.notify.topicArn);
  const asl = readYamlFile(path.join(options.repositoryRoot, 'statemachines/release.asl.yaml')) as Record<
    string,
    unknown
  >;
  world.sfn.createStateMachine(options.stateMachineName, asl);
  seedSlack(world, scenario, start);
  for (const drop of scenario.world.dropEvents)
    world.droppedEvents.push({ detailType: drop.detailType, remaining: drop.times });
  for (const fault of scenario.faults) {
    if ('command' in fault)
      world.commandFaults.push({
        command: fault.command,
        error: commandFaultError(fault),
        message:
          fault.message ??
          (fault.responseLost
            ? 'the connection was reset after the request was sent: its response was lost (a fault the scenario injects)'
            : defaultFaultMessage(commandFaultError(fault))),
        remaining: fault.times,
        ...(fault.responseLost ? { responseLost: true } : {}),
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
};

/**
 * What the release table holds at the start, per service, written through the store's own API (so the
 * shapes are the pipeline's) at the warm-up's start, before any function runs: earlier release records;
 * for the newest promoted one, the service state its promotion recorded (stable slot and version, which
 * the next release reads when the listener rule is split); and a lock an earlier execution still holds.
 */
export const seedReleaseTable = async (
  world: SimulatedWorld,
  store: ReleaseStore,
  services: Iterable<ServicePlan>,
  start: Date,
): Promise<void> => {
  const now = world.clock.now();
  const before = (duration: string | number) =>
    new Date(start.getTime() - (parseDurationSeconds(duration) ?? 0) * 1000).toISOString();
  const digestOf = (version: string): string | undefined =>
    world.versions.versions.find((each) => each.name === version)?.digest;
  for (const plan of services) {
    const { name, state } = plan;
    for (const [index, entry] of state.history.entries()) {
      const requestedAt = before(entry.ago);
      await store.putRecord({
        service: name,
        releaseId: entry.releaseId ?? `history-${index}`,
        requestedAt,
        status: entry.status,
        ...(entry.fromVersion !== undefined ? { fromVersion: entry.fromVersion } : {}),
        toVersion: entry.toVersion,
        // The image the release pinned, as the pipeline records it (`shipline rollback` releases it again).
        ...(digestOf(entry.toVersion)
          ? { image: { digest: digestOf(entry.toVersion) as string, tag: entry.toVersion } }
          : {}),
        startedAt: requestedAt,
        ...(entry.status !== 'in_progress' ? { endedAt: requestedAt } : {}),
        ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
      });
    }
    const promotedIndex = state.history.findLastIndex((entry) => entry.status === 'promoted');
    const promoted = state.history[promotedIndex];
    if (promoted) {
      const target = plan.declared.target;
      // A rolling service has no slots: its state records the one service's task definition, as the
      // pipeline's promotion of it does (ServiceState.stableSlot: "a rolling service has none").
      const stable = isRollingTarget(target)
        ? world.ecs.services.get(`${target.cluster}/${target.service}`)
        : world.ecs.services.get(`${target.cluster}/${target.slots[state.stableSlot].service}`);
      await store.recordPromotion({
        service: name,
        ...(isRollingTarget(target) ? {} : { stableSlot: state.stableSlot }),
        stableVersion: promoted.toVersion,
        stableTaskDefinitionArn: stable?.taskDefinition ?? '',
        latestRelease: promoted.releaseId ?? `history-${promotedIndex}`,
        updatedAt: before(promoted.ago),
      });
    }
    if (state.lock) {
      const leaseEnd = start.getTime() + (parseDurationSeconds(state.lock.leaseRemaining) ?? 0) * 1000;
      const leaseSeconds = Math.round((leaseEnd - now.getTime()) / 1000);
      const taken = await store.acquireLock(
        name,
        state.lock.holder,
        before(state.lock.requestedAgo),
        leaseSeconds,
      );
      if (!taken.acquired) throw new Error(`the release table already holds a lock for ${name}`);
    }
  }
};

/**
 * What an injected AWS error says when the scenario gives no message: the service's own words for
 * throttling ("Rate exceeded") and DynamoDB's throughput error, else words naming the injected error, so a
 * timeline never shows an access denial as "Rate exceeded".
 */
export const defaultFaultMessage = (error: string): string => {
  if (/Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/.test(error)) return 'Rate exceeded';
  if (error === 'ProvisionedThroughputExceededException')
    // DynamoDB's own message (DynamoDB API Reference, Common errors / ProvisionedThroughputExceededException).
    return 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.';
  if (/AccessDenied|Unauthorized|AuthorizationError/.test(error))
    return `${error}: not authorized to perform this call (a fault the scenario injects)`;
  return `${error} (a fault the scenario injects)`;
};
