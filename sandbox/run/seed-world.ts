import path from 'node:path';
import { TASK_DEFINITION_TAGS } from '../../lib/adapters/ecs-slot-deployer.ts';
import type { ShiplineConfig } from '../../lib/config/schema.ts';
import { parseDurationSeconds } from '../../lib/duration.ts';
import type { ReleaseStore } from '../../lib/ports/release-store.ts';
import { loadBalancerDimensionOf, VersionCatalog } from '../aws/traffic.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import type { Scenario } from '../scenario/schema.ts';
import { readYamlFile } from '../yaml-file.ts';
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
 * One service as the account holds it before the scenario starts: the stable slot runs `serving`, the idle
 * slot runs `idleServing` or nothing, the listener rule splits traffic by `weights` (default: 100% to the
 * stable slot), and its alarms are in their initial state.
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
  const baseDefinition = definitionOf(state.serving);
  const idleDefinition = state.idleServing !== undefined ? definitionOf(state.idleServing) : undefined;
  const stableSlot = state.stableSlot;
  const idleSlot = stableSlot === 'blue' ? 'green' : 'blue';
  for (const slot of ['blue', 'green'] as const) {
    const definition = slot === stableSlot ? baseDefinition : (idleDefinition ?? baseDefinition);
    const desired = slot === stableSlot || idleDefinition ? state.desiredCount : 0;
    world.ecs.createService(
      target.cluster,
      target.slots[slot].service,
      definition.taskDefinitionArn,
      desired,
      target.slots[slot].targetGroupArn,
      target.container,
    );
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
  const loadBalancer = loadBalancerDimensionOf(target.listenerRuleArn) ?? world.loadBalancerDimension;
  for (const alarm of state.alarms) {
    const targetGroupArn = alarm.targetGroup ? target.slots[alarm.targetGroup].targetGroupArn : undefined;
    const since = new Date(start.getTime() - (parseDurationSeconds(alarm.stateSince) ?? 3600) * 1000);
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

/**
 * The initial world: every service of the scenario, the topics, the state machine, and the faults the
 * scenario injects.
 */
export const seedWorld = (world: SimulatedWorld, options: SeedOptions): void => {
  const { scenario, config, start } = options;
  for (const plan of options.services) seedService(world, plan, scenario, start);
  world.sns.topics.add(options.topicArn);
  for (const svc of Object.values(config.services))
    if (svc.notify.topicArn) world.sns.topics.add(svc.notify.topicArn);
  const asl = readYamlFile(path.join(options.repositoryRoot, 'statemachines/release.asl.yaml')) as Record<
    string,
    unknown
  >;
  world.sfn.createStateMachine(options.stateMachineName, asl);
  for (const drop of scenario.world.dropEvents)
    world.droppedEvents.push({ detailType: drop.detailType, remaining: drop.times });
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
        startedAt: requestedAt,
        ...(entry.status !== 'in_progress' ? { endedAt: requestedAt } : {}),
        ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
      });
    }
    const promotedIndex = state.history.findLastIndex((entry) => entry.status === 'promoted');
    const promoted = state.history[promotedIndex];
    if (promoted) {
      const target = plan.declared.target;
      const stable = world.ecs.services.get(`${target.cluster}/${target.slots[state.stableSlot].service}`);
      await store.recordPromotion({
        service: name,
        stableSlot: state.stableSlot,
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
