import { cloneData } from './clone.ts';
import { SimulatedAwsError } from './errors.ts';
import type { Elbv2Context } from './services.ts';

export interface ForwardTarget {
  TargetGroupArn: string;
  Weight: number;
}

type RuleAction = Record<string, unknown> & { Type: string; Order?: number };

interface Rule {
  RuleArn: string;
  Priority: string;
  Conditions: unknown[];
  /** The rule's actions other than forward (e.g. authenticate-oidc, with its ClientSecret), in order. */
  others: RuleAction[];
  forwardOrder: number;
  targets: ForwardTarget[];
  stickiness: { Enabled: boolean; DurationSeconds?: number };
}

/** Options of a simulated listener rule. */
export interface RuleOptions {
  /** Authenticate users with an OIDC IdP before forwarding (an authenticate-oidc action of Order 1). */
  authenticate?: 'oidc';
  /**
   * A test listener rule (blue/green): it carries only the requests the pipeline's checks send through it,
   * never production load, and its requests are never production traffic (see `SimulatedTestRoutes`).
   */
  test?: boolean;
  /** The rule's priority (default 10; a test rule defaults to 20: two rules of a listener never share one). */
  priority?: string;
  /** The host the rule matches (default shop.example.com, or the test route's host). */
  host?: string;
}

/** The OIDC settings a sandbox rule authenticates with; the secret never leaves the simulated ALB. */
const SANDBOX_OIDC = {
  Issuer: 'https://idp.example.com',
  AuthorizationEndpoint: 'https://idp.example.com/authorize',
  TokenEndpoint: 'https://idp.example.com/token',
  UserInfoEndpoint: 'https://idp.example.com/userinfo',
  ClientId: 'shipline-sandbox',
  ClientSecret: 'sandbox-client-secret',
  SessionCookieName: 'AWSELBAuthSessionCookie',
  Scope: 'openid',
  SessionTimeout: 604800,
  OnUnauthenticatedRequest: 'authenticate',
};

/** A copy of an action as DescribeRules shows it: never an OIDC ClientSecret. */
const described = (action: RuleAction): RuleAction => {
  const config = action.AuthenticateOidcConfig as Record<string, unknown> | undefined;
  if (!config) return cloneData(action);
  const { ClientSecret: _secret, ...rest } = config;
  return { ...cloneData(action), AuthenticateOidcConfig: cloneData(rest) };
};

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
  /** Test listener rules: ModifyRule and DescribeRules treat them as any rule; traffic gives them no load. */
  public readonly testRules = new Set<string>();

  public constructor(private readonly world: Elbv2Context) {}

  public createRule(ruleArn: string, targets: ForwardTarget[], options: RuleOptions = {}): void {
    const others: RuleAction[] =
      options.authenticate === 'oidc'
        ? [{ Type: 'authenticate-oidc', Order: 1, AuthenticateOidcConfig: { ...SANDBOX_OIDC } }]
        : [];
    this.rules.set(ruleArn, {
      RuleArn: ruleArn,
      Priority: options.priority ?? (options.test ? '20' : '10'),
      Conditions: [{ Field: 'host-header', Values: [options.host ?? 'shop.example.com'] }],
      others,
      forwardOrder: others.length + 1,
      targets,
      stickiness: { Enabled: false },
    });
    if (options.test) this.testRules.add(ruleArn);
  }

  public weightsOf(ruleArn: string): Record<string, number> {
    const rule = this.rules.get(ruleArn);
    const total = rule?.targets.reduce((sum, t) => sum + t.Weight, 0) ?? 0;
    return Object.fromEntries(
      (rule?.targets ?? []).map((t) => [t.TargetGroupArn, total === 0 ? 0 : (t.Weight / total) * 100]),
    );
  }

  /** The rule's action types in order, e.g. `['authenticate-oidc', 'forward']`. */
  public actionTypesOf(ruleArn: string): string[] {
    const rule = this.rules.get(ruleArn);
    return rule ? [...rule.others.map((a) => a.Type), 'forward'] : [];
  }

  private rule(arn: unknown): Rule {
    const rule = this.rules.get(String(arn));
    if (!rule)
      throw new SimulatedAwsError('RuleNotFoundException', `One or more rules not found: ${String(arn)}`);
    return rule;
  }

  /**
   * Checks a ModifyRule action list as ELBv2 does and returns the non-forward actions as the rule will
   * keep them. An authenticate-oidc action needs its ClientSecret or `UseExistingClientSecret: true`, never
   * both ("If you are modifying a rule, you can omit this parameter if you set UseExistingClientSecret to
   * true", API reference AuthenticateOidcActionConfig); a rule with several actions needs an Order on each
   * ("required for rules with multiple actions", API reference Action), the forward action last.
   */
  private validatedOthers(rule: Rule, actions: Array<Record<string, unknown>>): RuleAction[] {
    const forwards = actions.filter((a) => a.Type === 'forward');
    if (forwards.length !== 1)
      throw new SimulatedAwsError('ValidationError', 'A rule must have exactly one forward action');
    if (actions.length > 1) {
      for (const action of actions) {
        const order = action.Order;
        if (typeof order !== 'number' || !Number.isInteger(order) || order < 1 || order > 50000)
          throw new SimulatedAwsError(
            'ValidationError',
            `An Order between 1 and 50000 is required on every action of a rule with multiple actions (${String(action.Type)})`,
          );
      }
      const forwardOrder = Number(forwards[0]?.Order);
      if (actions.some((a) => a.Type !== 'forward' && Number(a.Order) >= forwardOrder))
        throw new SimulatedAwsError(
          'ValidationError',
          'The forward action must be the last action of the rule',
        );
    }
    const existingSecret = rule.others
      .map((a) => (a.AuthenticateOidcConfig as { ClientSecret?: string } | undefined)?.ClientSecret)
      .find((secret) => secret !== undefined);
    return actions
      .filter((a) => a.Type !== 'forward')
      .map((action) => {
        const kept = cloneData(action) as RuleAction;
        if (action.Type !== 'authenticate-oidc') return kept;
        const config = action.AuthenticateOidcConfig as Record<string, unknown> | undefined;
        if (!config)
          throw new SimulatedAwsError(
            'ValidationError',
            'An authenticate-oidc action requires an AuthenticateOidcConfig',
          );
        const { ClientSecret: secret, UseExistingClientSecret: useExisting, ...rest } = config;
        if (secret !== undefined && useExisting === true)
          throw new SimulatedAwsError(
            'ValidationError',
            'AuthenticateOidcConfig: ClientSecret cannot be specified when UseExistingClientSecret is true',
          );
        if (secret === undefined && useExisting !== true)
          throw new SimulatedAwsError(
            'ValidationError',
            'AuthenticateOidcConfig: ClientSecret is required unless UseExistingClientSecret is true',
          );
        if (secret === undefined && existingSecret === undefined)
          throw new SimulatedAwsError(
            'ValidationError',
            'AuthenticateOidcConfig: UseExistingClientSecret is true but the rule has no existing client secret',
          );
        return { ...kept, AuthenticateOidcConfig: { ...rest, ClientSecret: secret ?? existingSecret } };
      });
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
              Conditions: cloneData(rule.Conditions),
              IsDefault: false,
              Actions: [
                ...rule.others.map(described),
                {
                  Type: 'forward',
                  Order: rule.forwardOrder,
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
        const others = this.validatedOthers(rule, actions);
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
        this.world.traffic.accumulate(rule.RuleArn);
        rule.others = others;
        rule.forwardOrder = Number(forward?.Order ?? others.length + 1);
        rule.targets = targets.map((t) => ({ TargetGroupArn: t.TargetGroupArn, Weight: t.Weight }));
        if (config?.TargetGroupStickinessConfig) rule.stickiness = config.TargetGroupStickinessConfig;
        const weights = this.weightsOf(rule.RuleArn);
        this.changes.push({ at: this.world.clock.nowMillis, ruleArn: rule.RuleArn, weights });
        const split = Object.entries(weights)
          .map(([arn, weight]) => `${this.targetGroups.get(arn)?.name ?? arn} ${Math.round(weight)}%`)
          .join(' / ');
        // A test rule carries only the pipeline's checks: said so, never read as a production shift.
        this.world.record(
          'traffic',
          this.testRules.has(rule.RuleArn) ? `test rule: ${split}` : split,
          undefined,
          this.world.serviceOf(rule.RuleArn),
        );
        return { Rules: [{ RuleArn: rule.RuleArn }] };
      }
      default:
        return undefined;
    }
  }
}
