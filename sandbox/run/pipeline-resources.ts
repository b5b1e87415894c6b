import type { ComparisonOperator, Statistic, TreatMissingData } from '../aws/cloudwatch.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import { type SandboxResources, type TemplateResource, templateResolver } from '../iam/policies.ts';

/**
 * The namespaces of the metrics the simulated account publishes to CloudWatch on its own, for alarms of the
 * pipeline's template: Step Functions' execution counts. The template's other alarms are not modeled: the
 * failed-events alarm reads AWS/SQS, which the sandbox does not publish (its dead letters are in the run's
 * result), and the notifications-lost alarm is a Metrics Insights query, which it does not evaluate.
 */
const MODELED_NAMESPACES: ReadonlySet<string> = new Set(['AWS/States']);

/**
 * Creates in the world what serverless.yml's `resources` declare for the pipeline beyond its table and its
 * notification and release-events topics: every other SNS topic (internal: what it receives is no
 * notification people read) and every alarm on a metric the sandbox publishes, with its actions. The alarms
 * start OK, as alarms deployed with the stack long before the run (with no datapoint, `notBreaching`).
 */
export const seedPipelineResources = (
  world: SimulatedWorld,
  document: unknown,
  resources: SandboxResources,
): void => {
  const resolve = templateResolver(document, resources);
  const declared =
    (document as { resources?: { Resources?: Record<string, TemplateResource> } }).resources?.Resources ?? {};
  for (const [id, resource] of Object.entries(declared)) {
    if (resource.Type !== 'AWS::SNS::Topic') continue;
    const topicArn = String(resolve({ Ref: id }));
    if (topicArn === resources.topicArn || world.sns.topics.has(topicArn)) continue;
    world.sns.topics.add(topicArn);
    world.sns.internalTopics.add(topicArn);
  }
  const now = world.clock.now();
  for (const resource of Object.values(declared)) {
    if (resource.Type !== 'AWS::CloudWatch::Alarm') continue;
    const properties = resolve(resource.Properties ?? {}) as Record<string, unknown>;
    if (typeof properties.Namespace !== 'string' || !MODELED_NAMESPACES.has(properties.Namespace)) continue;
    const evaluationPeriods = Number(properties.EvaluationPeriods);
    const actions = (name: string) =>
      Array.isArray(properties[name]) ? { [name]: (properties[name] as unknown[]).map(String) } : {};
    world.cloudwatch.putAlarm({
      AlarmName: String(properties.AlarmName),
      ...(properties.AlarmDescription !== undefined
        ? { AlarmDescription: String(properties.AlarmDescription) }
        : {}),
      Namespace: properties.Namespace,
      MetricName: String(properties.MetricName),
      Dimensions: ((properties.Dimensions as Array<{ Name: string; Value: string }> | undefined) ?? []).map(
        (d) => ({ Name: String(d.Name), Value: String(d.Value) }),
      ),
      ...(properties.ExtendedStatistic !== undefined
        ? { ExtendedStatistic: String(properties.ExtendedStatistic) }
        : { Statistic: properties.Statistic as Statistic }),
      Period: Number(properties.Period),
      EvaluationPeriods: evaluationPeriods,
      DatapointsToAlarm: Number(properties.DatapointsToAlarm ?? evaluationPeriods),
      Threshold: Number(properties.Threshold),
      ComparisonOperator: properties.ComparisonOperator as ComparisonOperator,
      TreatMissingData: (properties.TreatMissingData ?? 'missing') as TreatMissingData,
      StateValue: 'OK',
      StateReason: 'created with the pipeline stack',
      StateUpdatedTimestamp: now,
      StateTransitionedTimestamp: now,
      ...actions('AlarmActions'),
      ...actions('OKActions'),
      ...actions('InsufficientDataActions'),
    });
  }
};
