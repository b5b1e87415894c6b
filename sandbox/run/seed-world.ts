import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { TASK_DEFINITION_TAGS } from '../../lib/adapters/ecs-slot-deployer.ts';
import type { ServiceConfig, ShiplineConfig } from '../../lib/config/schema.ts';
import { parseDurationSeconds } from '../../lib/duration.ts';
import { loadBalancerDimensionOf, VersionCatalog } from '../aws/traffic.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import type { Scenario } from '../scenario/schema.ts';

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
  serviceName: string;
  declared: ServiceConfig;
  serving: Scenario['versions'][string];
  start: Date;
  topicArn: string;
  stateMachineName: string;
  repositoryRoot: string;
}

/**
 * The initial world, as the account holds it before the scenario starts: the stable slot serves `serving`
 * at 100%, the idle slot runs nothing; the alarms in their initial state; the topics; the state machine;
 * and the faults the scenario injects.
 */
export const seedWorld = (world: SimulatedWorld, options: SeedOptions): void => {
  const { scenario, config, serviceName, declared, serving, start } = options;
  const { region, account } = scenario.world;
  const target = declared.target;
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
      target.container,
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
        {
          Name: 'LoadBalancer',
          Value: loadBalancerDimensionOf(target.listenerRuleArn) ?? world.loadBalancerDimension,
        },
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
  world.sns.topics.add(options.topicArn);
  for (const svc of Object.values(config.services))
    if (svc.notify.topicArn) world.sns.topics.add(svc.notify.topicArn);
  const asl = parseYaml(
    readFileSync(path.join(options.repositoryRoot, 'statemachines/release.asl.yaml'), 'utf8'),
  ) as Record<string, unknown>;
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
