'use strict';
// IAM resources the roles are scoped to, computed from a validated Shipline config. Shared by
// serverless/variables.cjs (the deployed template) and the sandbox's IAM enforcement (sandbox/iam/).

/** `arn:aws:ecs:region:account:cluster/name` or a bare name -> its parts (a bare name is in the stack's account). */
const clusterParts = (cluster) => {
  const match = /^arn:([^:]+):ecs:([^:]+):(\d{12}):cluster\/(.+)$/.exec(cluster);
  if (match) return { partition: match[1], region: match[2], account: match[3], name: match[4] };
  return { name: cluster };
};

module.exports = {
  /** SNS topics the notifying functions may publish to: the pipeline's own and every service's `notify.topicArn`. */
  notifyTopics: (config) => {
    const declared = Object.values(config.services)
      .map((service) => service.notify.topicArn)
      .filter((arn) => typeof arn === 'string');
    return [{ Ref: 'NotificationsTopic' }, ...new Set(declared)];
  },
  /**
   * Every slot's ECS service ARN (`service/<cluster name>/<service name>`): a cluster given as an ARN
   * keeps its own partition, region and account; a name is in the stack's.
   */
  ecsServices: (config) => {
    const arns = [];
    for (const service of Object.values(config.services)) {
      const cluster = clusterParts(service.target.cluster);
      for (const slot of Object.values(service.target.slots)) {
        arns.push(
          cluster.account
            ? `arn:${cluster.partition}:ecs:${cluster.region}:${cluster.account}:service/${cluster.name}/${slot.service}`
            : {
                'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:service/${cluster.name}/${slot.service}`,
              },
        );
      }
    }
    return arns;
  },
  /** The listener rule each service shifts weights on (`target.listenerRuleArn`). */
  listenerRules: (config) => [
    ...new Set(Object.values(config.services).map((service) => service.target.listenerRuleArn)),
  ],
};
