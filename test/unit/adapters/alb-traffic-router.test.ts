import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AlbTrafficRouter } from '../../../lib/adapters/alb-traffic-router.ts';
import { TargetStateError } from '../../../lib/errors.ts';
import type { TrafficRoute } from '../../../lib/ports/traffic-router.ts';
import { BLUE_TG, GREEN_TG, LISTENER_RULE_ARN } from '../fixtures.ts';

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const route: TrafficRoute = { kind: 'alb-listener-rule', listenerRuleArn: LISTENER_RULE_ARN };
const stickiness = { Enabled: true, DurationSeconds: 300 };

/** A listener rule as DescribeRules returns it: a path condition and a weighted forward action. */
const ruleForwarding = (
  groups: Array<{ TargetGroupArn: string; Weight?: number }>,
  stickinessConfig: { Enabled: boolean; DurationSeconds?: number } | null = stickiness,
) => ({
  Rules: [
    {
      RuleArn: LISTENER_RULE_ARN,
      Priority: '10',
      Conditions: [{ Field: 'path-pattern', Values: ['/checkout/*'] }],
      Actions: [
        {
          Type: 'forward' as const,
          Order: 1,
          ForwardConfig: {
            TargetGroups: groups,
            ...(stickinessConfig ? { TargetGroupStickinessConfig: stickinessConfig } : {}),
          },
        },
      ],
      IsDefault: false,
    },
  ],
});

describe('Class: AlbTrafficRouter', () => {
  let router: AlbTrafficRouter;

  beforeEach(() => {
    elbv2.reset();
    router = new AlbTrafficRouter(new ElasticLoadBalancingV2Client({ region: 'us-east-1' }));
  });

  describe('Method: readWeights', () => {
    it('describes the listener rule by its ARN', async () => {
      elbv2.on(DescribeRulesCommand).resolves(
        ruleForwarding([
          { TargetGroupArn: BLUE_TG, Weight: 100 },
          { TargetGroupArn: GREEN_TG, Weight: 0 },
        ]),
      );

      await router.readWeights(route);

      const calls = elbv2.commandCalls(DescribeRulesCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({ RuleArns: [LISTENER_RULE_ARN] });
    });

    it('returns the weights in percent', async () => {
      elbv2.on(DescribeRulesCommand).resolves(
        ruleForwarding([
          { TargetGroupArn: BLUE_TG, Weight: 75 },
          { TargetGroupArn: GREEN_TG, Weight: 25 },
        ]),
      );

      await expect(router.readWeights(route)).resolves.toEqual({ [BLUE_TG]: 75, [GREEN_TG]: 25 });
    });

    it('normalises weights that do not sum to 100', async () => {
      elbv2.on(DescribeRulesCommand).resolves(
        ruleForwarding([
          { TargetGroupArn: BLUE_TG, Weight: 3 },
          { TargetGroupArn: GREEN_TG, Weight: 1 },
        ]),
      );

      await expect(router.readWeights(route)).resolves.toEqual({ [BLUE_TG]: 75, [GREEN_TG]: 25 });
    });

    it('counts a target group without a weight as weight 1', async () => {
      elbv2
        .on(DescribeRulesCommand)
        .resolves(ruleForwarding([{ TargetGroupArn: BLUE_TG }, { TargetGroupArn: GREEN_TG }]));

      await expect(router.readWeights(route)).resolves.toEqual({ [BLUE_TG]: 50, [GREEN_TG]: 50 });
    });

    it('reports a single-target forward action as 100%', async () => {
      elbv2.on(DescribeRulesCommand).resolves({
        Rules: [{ RuleArn: LISTENER_RULE_ARN, Actions: [{ Type: 'forward', TargetGroupArn: BLUE_TG }] }],
      });

      await expect(router.readWeights(route)).resolves.toEqual({ [BLUE_TG]: 100 });
    });

    it('throws TargetStateError when the rule does not exist', async () => {
      elbv2.on(DescribeRulesCommand).resolves({ Rules: [] });

      await expect(router.readWeights(route)).rejects.toThrow(TargetStateError);
      await expect(router.readWeights(route)).rejects.toThrow(
        `listener rule ${LISTENER_RULE_ARN} does not exist`,
      );
    });

    it('throws TargetStateError when the rule has no forward action', async () => {
      elbv2.on(DescribeRulesCommand).resolves({
        Rules: [
          {
            RuleArn: LISTENER_RULE_ARN,
            Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503' } }],
          },
        ],
      });

      await expect(router.readWeights(route)).rejects.toThrow(
        `listener rule ${LISTENER_RULE_ARN} has no forward action`,
      );
    });
  });

  describe('Method: setWeights', () => {
    it('replaces the forward action with the two target groups weighted 100-p and p, keeping stickiness', async () => {
      elbv2.on(DescribeRulesCommand).resolves(
        ruleForwarding([
          { TargetGroupArn: BLUE_TG, Weight: 100 },
          { TargetGroupArn: GREEN_TG, Weight: 0 },
        ]),
      );
      elbv2.on(ModifyRuleCommand).resolves({});

      await router.setWeights(route, { stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 25 });

      const calls = elbv2.commandCalls(ModifyRuleCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({
        RuleArn: LISTENER_RULE_ARN,
        Actions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: BLUE_TG, Weight: 75 },
                { TargetGroupArn: GREEN_TG, Weight: 25 },
              ],
              TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
            },
          },
        ],
      });
    });

    it('reads the rule before modifying it', async () => {
      elbv2.on(DescribeRulesCommand).resolves(ruleForwarding([{ TargetGroupArn: BLUE_TG, Weight: 1 }]));
      elbv2.on(ModifyRuleCommand).resolves({});

      await router.setWeights(route, { stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 5 });

      expect(elbv2.calls().map((call) => call.args[0].constructor.name)).toEqual([
        'DescribeRulesCommand',
        'ModifyRuleCommand',
      ]);
    });

    it('disables stickiness when the rule had no stickiness config', async () => {
      elbv2.on(DescribeRulesCommand).resolves(ruleForwarding([{ TargetGroupArn: BLUE_TG }], null));
      elbv2.on(ModifyRuleCommand).resolves({});

      await router.setWeights(route, { stable: GREEN_TG, canary: BLUE_TG, canaryPercent: 0 });

      expect(elbv2.commandCalls(ModifyRuleCommand)[0]?.args[0].input).toEqual({
        RuleArn: LISTENER_RULE_ARN,
        Actions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: GREEN_TG, Weight: 100 },
                { TargetGroupArn: BLUE_TG, Weight: 0 },
              ],
              TargetGroupStickinessConfig: { Enabled: false },
            },
          },
        ],
      });
    });

    it('sends an authenticate-oidc action back first, in its order, with UseExistingClientSecret and no secret', async () => {
      const oidc = {
        Issuer: 'https://idp.example.com',
        AuthorizationEndpoint: 'https://idp.example.com/authorize',
        TokenEndpoint: 'https://idp.example.com/token',
        UserInfoEndpoint: 'https://idp.example.com/userinfo',
        ClientId: 'shop',
        Scope: 'openid',
        OnUnauthenticatedRequest: 'authenticate' as const,
      };
      const described = ruleForwarding([
        { TargetGroupArn: BLUE_TG, Weight: 100 },
        { TargetGroupArn: GREEN_TG, Weight: 0 },
      ]);
      const rule = described.Rules[0];
      const forward = rule?.Actions[0];
      if (!rule || !forward) throw new Error('fixture has a forward rule');
      // DescribeRules returns the OIDC action without its ClientSecret; the forward action comes second.
      const actions = [
        { Type: 'authenticate-oidc' as const, Order: 1, AuthenticateOidcConfig: oidc },
        { ...forward, Order: 2 },
      ];
      elbv2.on(DescribeRulesCommand).resolves({ Rules: [{ ...rule, Actions: actions }] });
      elbv2.on(ModifyRuleCommand).resolves({});

      await router.setWeights(route, { stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 5 });

      expect(elbv2.commandCalls(ModifyRuleCommand)[0]?.args[0].input).toEqual({
        RuleArn: LISTENER_RULE_ARN,
        Actions: [
          {
            Type: 'authenticate-oidc',
            Order: 1,
            AuthenticateOidcConfig: { ...oidc, UseExistingClientSecret: true },
          },
          {
            Type: 'forward',
            Order: 2,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: BLUE_TG, Weight: 95 },
                { TargetGroupArn: GREEN_TG, Weight: 5 },
              ],
              TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
            },
          },
        ],
      });
    });

    it('never sends a ClientSecret back, even one the rule description carried', async () => {
      const rule = ruleForwarding([{ TargetGroupArn: BLUE_TG, Weight: 1 }]).Rules[0];
      const forward = rule?.Actions[0];
      if (!rule || !forward) throw new Error('fixture has a forward rule');
      const oidc = {
        Issuer: 'https://idp.example.com',
        AuthorizationEndpoint: 'https://idp.example.com/authorize',
        TokenEndpoint: 'https://idp.example.com/token',
        UserInfoEndpoint: 'https://idp.example.com/userinfo',
        ClientId: 'shop',
      };
      elbv2.on(DescribeRulesCommand).resolves({
        Rules: [
          {
            ...rule,
            Actions: [
              {
                Type: 'authenticate-oidc',
                Order: 1,
                AuthenticateOidcConfig: { ...oidc, ClientSecret: 'leaked', UseExistingClientSecret: false },
              },
              { ...forward, Order: 2 },
            ],
          },
        ],
      });
      elbv2.on(ModifyRuleCommand).resolves({});

      await router.setWeights(route, { stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 5 });

      const sent = elbv2.commandCalls(ModifyRuleCommand)[0]?.args[0].input.Actions?.[0];
      expect(sent).toEqual({
        Type: 'authenticate-oidc',
        Order: 1,
        AuthenticateOidcConfig: { ...oidc, UseExistingClientSecret: true },
      });
    });

    it('modifies nothing when the rule is gone', async () => {
      elbv2.on(DescribeRulesCommand).resolves({ Rules: [] });

      await expect(
        router.setWeights(route, { stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 5 }),
      ).rejects.toThrow(TargetStateError);
      expect(elbv2.commandCalls(ModifyRuleCommand)).toHaveLength(0);
    });

    it('propagates an AWS error from ModifyRule', async () => {
      elbv2.on(DescribeRulesCommand).resolves(ruleForwarding([{ TargetGroupArn: BLUE_TG }]));
      const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      elbv2.on(ModifyRuleCommand).rejects(throttled);

      await expect(
        router.setWeights(route, { stable: BLUE_TG, canary: GREEN_TG, canaryPercent: 5 }),
      ).rejects.toThrow('Rate exceeded');
    });
  });
});
