import type { EcsAlbTarget } from './types.ts';

/** Weights of the two slots as read from the listener rule, in percent; undefined when they could not be read. */
export interface SlotWeights {
  stable: number;
  canary: number;
}

/** What traffic looks like now, in words a person acts on. Says "split" only when both slots get traffic. */
export const describeTraffic = (target: EcsAlbTarget, weights: SlotWeights | undefined): string => {
  const { stable, canary } = target;
  if (!weights) {
    return `the weights could not be read: traffic may be split between ${stable.name} and ${canary.name}; check the listener rule`;
  }
  if (weights.stable > 0 && weights.canary > 0) {
    return `traffic is split: ${stable.name} ${weights.stable}% / ${canary.name} ${weights.canary}%`;
  }
  if (weights.canary === 0) {
    return `traffic is back on the stable slot (${stable.name} 100%) but the new slot ${canary.service} may still run tasks`;
  }
  return `traffic is all on the new slot (${canary.name} ${weights.canary}%), not on the stable slot ${stable.name}`;
};

/**
 * What a person needs to finish a rollback by hand: the listener rule, both target groups, the weights
 * now, and the exact AWS CLI commands. ModifyRule replaces ALL actions of the rule, so any other action
 * (e.g. authenticate-oidc before the forward) must be passed again in the same call.
 */
export const manualRollback = (target: EcsAlbTarget, region: string, weights: SlotWeights | undefined) => {
  const actions = JSON.stringify([
    {
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: target.stable.targetGroupArn, Weight: 100 },
          { TargetGroupArn: target.canary.targetGroupArn, Weight: 0 },
        ],
      },
    },
  ]);
  return {
    listenerRuleArn: target.listenerRuleArn,
    targetGroups: {
      stable: { slot: target.stable.name, targetGroupArn: target.stable.targetGroupArn },
      canary: { slot: target.canary.name, targetGroupArn: target.canary.targetGroupArn },
    },
    weightsNow: weights
      ? { [target.stable.name]: weights.stable, [target.canary.name]: weights.canary }
      : 'unknown',
    manualSteps: [
      `aws elbv2 describe-rules --rule-arns ${target.listenerRuleArn} --region ${region}`,
      `aws elbv2 modify-rule --rule-arn ${target.listenerRuleArn} --actions '${actions}' --region ${region}`,
      'modify-rule replaces every action of the rule: if describe-rules shows other actions (e.g. authenticate-oidc), pass them again in --actions, each with its "Order" and the forward last (with the next Order); give an authenticate-oidc action "UseExistingClientSecret": true, since describe-rules never returns its ClientSecret',
      `aws ecs update-service --cluster ${target.cluster} --service ${target.canary.service} --desired-count 0 --region ${region}`,
    ],
  };
};
