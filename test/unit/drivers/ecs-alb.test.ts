import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AlbTrafficRouter } from '../../../lib/adapters/alb-traffic-router.ts';
import { EcsSlotReader, EcsSlotScaler } from '../../../lib/adapters/ecs-slot-deployer.ts';
import { EcsAlbDriver } from '../../../lib/drivers/ecs-alb.ts';
import { ALB_TARGET, BLUE_TG, deploymentFixture, GREEN_TG, LISTENER_RULE_ARN } from '../fixtures.ts';

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const ecs = mockClient(ECSClient);
const { target } = deploymentFixture();

/** The listener rule forwarding `blue`% to blue and `green`% to green. */
const rule = (blue: number, green: number) => ({
  Rules: [
    {
      RuleArn: LISTENER_RULE_ARN,
      Actions: [
        {
          Type: 'forward' as const,
          Order: 1,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: BLUE_TG, Weight: blue },
              { TargetGroupArn: GREEN_TG, Weight: green },
            ],
            TargetGroupStickinessConfig: { Enabled: false },
          },
        },
      ],
    },
  ],
});

/** ModifyRule's input that forwards `green`% to the new slot (green), the rest to the stable one. */
const forwarding = (green: number) => ({
  RuleArn: LISTENER_RULE_ARN,
  Actions: [
    {
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: BLUE_TG, Weight: 100 - green },
          { TargetGroupArn: GREEN_TG, Weight: green },
        ],
        TargetGroupStickinessConfig: { Enabled: false },
      },
    },
  ],
});

describe('Class: EcsAlbDriver', () => {
  let driver: EcsAlbDriver;

  beforeEach(() => {
    elbv2.reset();
    ecs.reset();
    const ecsClient = new ECSClient({ region: 'us-east-1' });
    driver = new EcsAlbDriver({
      router: new AlbTrafficRouter(new ElasticLoadBalancingV2Client({ region: 'us-east-1' })),
      slots: {
        describeSlot: (...args) => new EcsSlotReader(ecsClient).describeSlot(...args),
        scale: (...args) => new EcsSlotScaler(ecsClient).scale(...args),
      },
    });
    ecs.on(UpdateServiceCommand).resolves({});
    elbv2.on(ModifyRuleCommand).resolves({});
  });

  describe('Method: setTraffic', () => {
    it('moves the weights of the listener rule in one ModifyRule: the new slot gets the percent', async () => {
      elbv2.on(DescribeRulesCommand).resolves(rule(100, 0));

      await driver.setTraffic(target, 25);

      expect(elbv2.commandCalls(ModifyRuleCommand).map((call) => call.args[0].input)).toEqual([
        forwarding(25),
      ]);
    });
  });

  describe('Method: deploy', () => {
    const deployed: string[] = [];
    const deployWith = () =>
      new EcsAlbDriver({
        router: new AlbTrafficRouter(new ElasticLoadBalancingV2Client({ region: 'us-east-1' })),
        slots: {
          deployImage: async (input) => {
            deployed.push(input.service);
            return { taskDefinitionArn: 'arn:td:3', deploymentId: 'ecs-svc/3' };
          },
        },
      });
    const release = { imageUri: 'registry/checkout@sha256:3', version: 'v3', releaseId: 'checkout-v3' };

    beforeEach(() => {
      deployed.length = 0;
    });

    it('takes a new slot still taking production traffic (a split left behind) out of it before deploying', async () => {
      elbv2.on(DescribeRulesCommand).resolves(rule(75, 25));

      await deployWith().deploy(target, release);

      expect(elbv2.commandCalls(ModifyRuleCommand).map((call) => call.args[0].input)).toEqual([
        forwarding(0),
      ]);
      expect(deployed).toEqual(['checkout-green']);
    });

    it('leaves the listener rule alone when the new slot takes no production traffic', async () => {
      elbv2.on(DescribeRulesCommand).resolves(rule(100, 0));

      await deployWith().deploy(target, release);

      expect(elbv2.commandCalls(ModifyRuleCommand)).toEqual([]);
      expect(deployed).toEqual(['checkout-green']);
    });
  });

  describe('Method: newVersionPercent', () => {
    it("reads the new slot's weight from the listener rule", async () => {
      elbv2.on(DescribeRulesCommand).resolves(rule(75, 25));

      await expect(driver.newVersionPercent(target)).resolves.toBe(25);
      expect(elbv2.commandCalls(DescribeRulesCommand)[0]?.args[0].input).toEqual({
        RuleArns: [LISTENER_RULE_ARN],
      });
    });
  });

  describe('Method: rollBack', () => {
    it('puts all traffic back on the stable slot, then scales the new slot to 0', async () => {
      elbv2.on(DescribeRulesCommand).resolves(rule(75, 25));

      await driver.rollBack(target);

      expect(elbv2.commandCalls(ModifyRuleCommand).map((call) => call.args[0].input)).toEqual([
        forwarding(0),
      ]);
      expect(ecs.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input)).toEqual([
        { cluster: 'prod', service: 'checkout-green', desiredCount: 0 },
      ]);
    });

    it('leaves the listener rule alone on a retry after traffic was restored, and still scales', async () => {
      elbv2.on(DescribeRulesCommand).resolves(rule(100, 0));

      await driver.rollBack(target);

      expect(elbv2.commandCalls(ModifyRuleCommand)).toHaveLength(0);
      expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    });
  });

  describe('Method: setTestTraffic', () => {
    const TEST_RULE = `${LISTENER_RULE_ARN}-test`;
    const withTestRule = { ...target, testListenerRuleArn: TEST_RULE };

    it('forwards the whole test listener rule to the new slot, and back to the stable one', async () => {
      elbv2.on(DescribeRulesCommand).resolves(rule(100, 0));

      await driver.setTestTraffic(withTestRule, true);
      await driver.setTestTraffic(withTestRule, false);

      expect(elbv2.commandCalls(ModifyRuleCommand).map((call) => call.args[0].input)).toEqual([
        { ...forwarding(100), RuleArn: TEST_RULE },
        { ...forwarding(0), RuleArn: TEST_RULE },
      ]);
      expect(elbv2.commandCalls(DescribeRulesCommand)[0]?.args[0].input).toEqual({ RuleArns: [TEST_RULE] });
    });

    it('puts the test route back on the stable slot when rolling back, and production stays untouched', async () => {
      elbv2.on(DescribeRulesCommand, { RuleArns: [LISTENER_RULE_ARN] }).resolves(rule(100, 0));
      elbv2.on(DescribeRulesCommand, { RuleArns: [TEST_RULE] }).resolves(rule(0, 100));

      await driver.rollBack(withTestRule);

      expect(elbv2.commandCalls(ModifyRuleCommand).map((call) => call.args[0].input)).toEqual([
        { ...forwarding(0), RuleArn: TEST_RULE },
      ]);
      expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    });
  });

  describe('Method: rollBack, when the test route cannot be put back', () => {
    it('has already restored production and scaled the new slot to 0 when the test listener rule fails', async () => {
      const TEST_RULE = `${LISTENER_RULE_ARN}-test`;
      elbv2.on(DescribeRulesCommand, { RuleArns: [LISTENER_RULE_ARN] }).resolves(rule(0, 100));
      elbv2
        .on(DescribeRulesCommand, { RuleArns: [TEST_RULE] })
        .rejects(Object.assign(new Error('One or more rules not found'), { name: 'RuleNotFoundException' }));

      await expect(driver.rollBack({ ...ALB_TARGET, testListenerRuleArn: TEST_RULE })).rejects.toThrow(
        'One or more rules not found',
      );

      expect(elbv2.commandCalls(ModifyRuleCommand).map((call) => call.args[0].input)).toEqual([
        forwarding(0),
      ]);
      expect(ecs.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input)).toEqual([
        { cluster: 'prod', service: 'checkout-green', desiredCount: 0 },
      ]);
    });
  });

  describe('Method: retire', () => {
    it('scales the old (stable) slot to 0', async () => {
      await driver.retire(target);

      expect(ecs.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input)).toEqual([
        { cluster: 'prod', service: 'checkout-blue', desiredCount: 0 },
      ]);
      expect(elbv2.calls()).toHaveLength(0);
    });
  });

  describe('Method: readiness', () => {
    const rollout = {
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:8',
      deploymentId: 'ecs-svc/1002',
    };
    const greenService = (rolloutState: string, runningCount: number, id = 'ecs-svc/1002') => ({
      services: [
        {
          serviceName: 'checkout-green',
          status: 'ACTIVE',
          taskDefinition: rollout.taskDefinitionArn,
          desiredCount: 4,
          runningCount,
          deployments: [{ id, status: 'PRIMARY', rolloutState }],
        },
      ],
    });

    it('is ready when the deployment completed with every task running', async () => {
      ecs
        .onAnyCommand()
        .callsFake((input: { taskDefinition?: string }) =>
          input.taskDefinition
            ? { taskDefinition: { containerDefinitions: [{ name: 'app', image: 'checkout@sha256:x' }] } }
            : greenService('COMPLETED', 4),
        );

      await expect(driver.readiness(target, rollout, 'v2')).resolves.toEqual({
        state: 'ready',
        reason: 'checkout-green is steady on v2',
      });
      expect(ecs.commandCalls(DescribeServicesCommand)[0]?.args[0].input).toEqual({
        cluster: 'prod',
        services: ['checkout-green'],
      });
    });

    it('fails a completed deployment that runs fewer tasks than the stable slot', async () => {
      ecs
        .onAnyCommand()
        .callsFake((input: { taskDefinition?: string }) =>
          input.taskDefinition
            ? { taskDefinition: { containerDefinitions: [{ name: 'app', image: 'checkout@sha256:x' }] } }
            : greenService('COMPLETED', 1),
        );

      await expect(driver.readiness(target, rollout, 'v2')).resolves.toEqual({
        state: 'failed',
        reason: 'new slot checkout-green runs 1 of 4 tasks',
      });
    });
  });

  describe('Method: names', () => {
    it('speaks of slots and their ECS services', () => {
      expect(driver.names(target)).toEqual({
        newPlace: 'green',
        stablePlace: 'blue',
        newUnit: 'checkout-green',
        stableUnit: 'checkout-blue',
      });
    });
  });

  describe('Built without a port', () => {
    it('says which one it lacks instead of calling AWS', async () => {
      await expect(new EcsAlbDriver({}).retire(target)).rejects.toThrow(
        'the ecs-alb driver was built without ECS scale',
      );
    });
  });
});
