import { SimulatedAwsError } from './errors.ts';
import type { SimulatedWorld } from './world.ts';

export interface ForwardTarget {
  TargetGroupArn: string;
  Weight: number;
}

interface Rule {
  RuleArn: string;
  Priority: string;
  Conditions: unknown[];
  targets: ForwardTarget[];
  stickiness: { Enabled: boolean; DurationSeconds?: number };
}

/** A weight change as applied, for the timeline and for reaction-time accounting. */
export interface WeightChange {
  at: number;
  ruleArn: string;
  weights: Record<string, number>;
}

/** ALB listener rules forwarding to weighted target groups (ModifyRule replaces the actions atomically). */
export class SimulatedElbv2 {
  public readonly rules = new Map<string, Rule>();
  public readonly targetGroups = new Map<string, { name: string }>();
  public readonly changes: WeightChange[] = [];

  public constructor(private readonly world: SimulatedWorld) {}

  public createRule(ruleArn: string, targets: ForwardTarget[]): void {
    this.rules.set(ruleArn, {
      RuleArn: ruleArn,
      Priority: '10',
      Conditions: [{ Field: 'host-header', Values: ['shop.example.com'] }],
      targets,
      stickiness: { Enabled: false },
    });
  }

  public weightsOf(ruleArn: string): Record<string, number> {
    const rule = this.rules.get(ruleArn);
    const total = rule?.targets.reduce((sum, t) => sum + t.Weight, 0) ?? 0;
    return Object.fromEntries(
      (rule?.targets ?? []).map((t) => [t.TargetGroupArn, total === 0 ? 0 : (t.Weight / total) * 100]),
    );
  }

  private rule(arn: unknown): Rule {
    const rule = this.rules.get(String(arn));
    if (!rule)
      throw new SimulatedAwsError('RuleNotFoundException', `One or more rules not found: ${String(arn)}`);
    return rule;
  }

  public handle(command: string, input: Record<string, unknown>): unknown {
    switch (command) {
      case 'DescribeRules': {
        const arns = (input.RuleArns as string[] | undefined) ?? [];
        return {
          Rules: arns.map((arn) => {
            const rule = this.rule(arn);
            return {
              RuleArn: rule.RuleArn,
              Priority: rule.Priority,
              Conditions: structuredClone(rule.Conditions),
              IsDefault: false,
              Actions: [
                {
                  Type: 'forward',
                  Order: 1,
                  ForwardConfig: {
                    TargetGroups: rule.targets.map((t) => ({ ...t })),
                    TargetGroupStickinessConfig: { ...rule.stickiness },
                  },
                },
              ],
            };
          }),
        };
      }
      case 'ModifyRule': {
        const rule = this.rule(input.RuleArn);
        const actions = (input.Actions as Array<Record<string, unknown>> | undefined) ?? [];
        const forward = actions.find((a) => a.Type === 'forward');
        const config = forward?.ForwardConfig as
          | { TargetGroups?: ForwardTarget[]; TargetGroupStickinessConfig?: Rule['stickiness'] }
          | undefined;
        const targets = config?.TargetGroups ?? [];
        if (targets.length === 0)
          throw new SimulatedAwsError(
            'ValidationError',
            'A forward action requires at least one target group',
          );
        for (const target of targets) {
          if (!this.targetGroups.has(target.TargetGroupArn))
            throw new SimulatedAwsError(
              'TargetGroupNotFoundException',
              `Target group ${target.TargetGroupArn} not found`,
            );
          if (!Number.isInteger(target.Weight) || target.Weight < 0 || target.Weight > 999)
            throw new SimulatedAwsError('ValidationError', `Weight must be 0-999, got ${target.Weight}`);
        }
        if (targets.every((t) => t.Weight === 0))
          throw new SimulatedAwsError(
            'ValidationError',
            'At least one target group must have a weight greater than 0',
          );
        this.world.traffic.accumulate();
        rule.targets = targets.map((t) => ({ TargetGroupArn: t.TargetGroupArn, Weight: t.Weight }));
        if (config?.TargetGroupStickinessConfig) rule.stickiness = config.TargetGroupStickinessConfig;
        const weights = this.weightsOf(rule.RuleArn);
        this.changes.push({ at: this.world.clock.nowMillis, ruleArn: rule.RuleArn, weights });
        this.world.record(
          'traffic',
          Object.entries(weights)
            .map(([arn, weight]) => `${this.targetGroups.get(arn)?.name ?? arn} ${Math.round(weight)}%`)
            .join(' / '),
        );
        return { Rules: [{ RuleArn: rule.RuleArn }] };
      }
      default:
        return undefined;
    }
  }
}
