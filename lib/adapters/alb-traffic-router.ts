import {
  type Action,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  type TargetGroupStickinessConfig,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { TargetStateError } from '../errors.ts';
import type { TrafficRoute, TrafficRouter, TrafficSplit } from '../ports/traffic-router.ts';
import { clientBase, customize } from './aws-clients.ts';

/**
 * An action as DescribeRules returned it, made acceptable to ModifyRule. DescribeRules never returns an
 * authenticate-oidc action's ClientSecret, and ModifyRule requires either the secret or
 * `UseExistingClientSecret: true` (not both) -- "If you are modifying a rule, you can omit this parameter
 * if you set UseExistingClientSecret to true" (ELBv2 API reference, AuthenticateOidcActionConfig).
 */
const resendable = (action: Action): Action => {
  if (action.Type !== 'authenticate-oidc' || !action.AuthenticateOidcConfig) return action;
  const { ClientSecret: _secret, ...config } = action.AuthenticateOidcConfig;
  return { ...action, AuthenticateOidcConfig: { ...config, UseExistingClientSecret: true } };
};

/** ALB weighted target groups on one listener rule (ModifyRule replaces the forward action atomically). */
export class AlbTrafficRouter implements TrafficRouter {
  public constructor(private readonly client: ElasticLoadBalancingV2Client) {}

  private async actions(route: TrafficRoute) {
    const { Rules } = await this.client.send(new DescribeRulesCommand({ RuleArns: [route.listenerRuleArn] }));
    const rule = Rules?.[0];
    if (!rule) throw new TargetStateError(`listener rule ${route.listenerRuleArn} does not exist`);
    const actions = rule.Actions ?? [];
    const forward = actions.find((action) => action.Type === 'forward');
    if (!forward) throw new TargetStateError(`listener rule ${route.listenerRuleArn} has no forward action`);
    return { actions, forward };
  }

  private async forwardAction(route: TrafficRoute) {
    return (await this.actions(route)).forward;
  }

  public async readWeights(route: TrafficRoute): Promise<Record<string, number>> {
    const forward = await this.forwardAction(route);
    const groups = forward.ForwardConfig?.TargetGroups ?? [];
    if (groups.length === 0 && forward.TargetGroupArn) return { [forward.TargetGroupArn]: 100 };
    const total = groups.reduce((sum, group) => sum + (group.Weight ?? 1), 0);
    const weights: Record<string, number> = {};
    for (const group of groups) {
      if (!group.TargetGroupArn) continue;
      weights[group.TargetGroupArn] = total === 0 ? 0 : Math.round(((group.Weight ?? 1) / total) * 100);
    }
    return weights;
  }

  public async setWeights(route: TrafficRoute, split: TrafficSplit): Promise<void> {
    const { actions, forward: current } = await this.actions(route);
    const stickiness: TargetGroupStickinessConfig = current.ForwardConfig?.TargetGroupStickinessConfig ?? {
      Enabled: false,
    };
    // ModifyRule replaces the whole action list: the rule's other actions (authenticate-oidc,
    // authenticate-cognito) are sent back with their Order, or the rule would lose them.
    const others = actions.filter((action) => action.Type !== 'forward').map(resendable);
    await this.client.send(
      new ModifyRuleCommand({
        RuleArn: route.listenerRuleArn,
        Actions: [
          ...others,
          {
            Type: 'forward',
            ...(others.length > 0 && current.Order !== undefined ? { Order: current.Order } : {}),
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: split.stable, Weight: 100 - split.canaryPercent },
                { TargetGroupArn: split.canary, Weight: split.canaryPercent },
              ],
              TargetGroupStickinessConfig: stickiness,
            },
          },
        ],
      }),
    );
  }
}

/** The router on a new ELBv2 client. */
export const createAlbTrafficRouter = (): AlbTrafficRouter =>
  new AlbTrafficRouter(customize(new ElasticLoadBalancingV2Client(clientBase()), 'ElasticLoadBalancingV2'));
