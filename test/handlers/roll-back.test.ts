import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EcsRollingTarget } from '../../lib/domain/types.ts';
import {
  BLUE_TG,
  cursorAt,
  deploymentFixture,
  GREEN_TG,
  LISTENER_RULE_ARN,
  TOPIC_ARN,
  V2_RELEASE_ID,
} from '../unit/fixtures.ts';
import { lambdaContext, setHandlerEnvironment } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const sns = mockClient(SNSClient);
const context = lambdaContext('shipline-roll-back');

const TD_V1 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:7';
const TD_V2 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:8';
const target: EcsRollingTarget = {
  type: 'ecs-rolling',
  cluster: 'prod',
  container: 'app',
  service: 'api',
  desiredCount: 4,
  stableTaskDefinitionArn: TD_V1,
};
const deployment = deploymentFixture({ target, alarms: ['api-5xx'] });
const failure = {
  Error: 'SlotNotSteady',
  Cause: 'alarm api-5xx went to ALARM during the rollout, while the new tasks took production traffic',
};

const running = (taskDefinition: string) => ({
  services: [{ serviceName: 'api', status: 'ACTIVE', taskDefinition, desiredCount: 4 }],
  failures: [],
});

let handler: typeof import('../../functions/roll-back.ts')['handler'];

describe('Handler: roll-back, an ecs-rolling release', () => {
  beforeAll(async () => {
    setHandlerEnvironment();
    ({ handler } = await import('../../functions/roll-back.ts'));
  });

  beforeEach(() => {
    for (const client of [ddb, ecs, elbv2, sns]) client.reset();
    ddb.on(UpdateCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    ecs.on(UpdateServiceCommand).resolves({});
  });

  it('updates the one service back to the previous task definition and says it is rolling back in', async () => {
    ecs.on(DescribeServicesCommand).resolves(running(TD_V2));

    const result = await handler({ deployment, failure, releaseId: V2_RELEASE_ID }, context);

    expect(result).toMatchObject({ outcome: 'rolled_back', servingVersion: 'v1', reason: failure.Cause });
    expect(ecs.commandCalls(DescribeServicesCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      services: ['api'],
    });
    expect(ecs.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input)).toEqual([
      // No desiredCount: the service keeps the count it has now (autoscaling may have raised it since).
      { cluster: 'prod', service: 'api', taskDefinition: TD_V1 },
    ]);
    // A rolling service has no listener rule of its own to read or move.
    expect(elbv2.calls()).toHaveLength(0);
    const notification = sns
      .commandCalls(PublishCommand)
      .find((call) => call.args[0].input.TopicArn === TOPIC_ARN);
    const message = JSON.parse(String(notification?.args[0].input.Message));
    expect(message).toMatchObject({
      event: 'rolled_back',
      reason: failure.Cause,
      servingSlot: 'api',
      note: `the previous task definition ${TD_V1} is rolling back in on api, task by task`,
    });
  });

  it('changes nothing on the service when a retry finds it already running the previous task definition', async () => {
    ecs.on(DescribeServicesCommand).resolves(running(TD_V1));

    await handler({ deployment, failure, releaseId: V2_RELEASE_ID }, context);

    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });
});

describe('Handler: roll-back, an ecs-alb release', () => {
  beforeAll(async () => {
    setHandlerEnvironment();
    ({ handler } = await import('../../functions/roll-back.ts'));
  });

  /** Every AWS call of the rollback, in the order it was sent, across the clients. */
  const sent: string[] = [];
  const inOrder =
    <T>(name: string, output: T) =>
    () => {
      sent.push(name);
      return output;
    };

  beforeEach(() => {
    sent.length = 0;
    for (const client of [ddb, ecs, elbv2, sns]) client.reset();
    ddb.on(UpdateCommand).callsFake((input: { Key?: Record<string, unknown> }) => {
      sent.push(`dynamodb.Update ${String(input.Key?.sk ?? '')}`.trim());
      return {};
    });
    ddb.on(PutCommand).callsFake(inOrder('dynamodb.Put', {}));
    ddb.on(DeleteCommand).callsFake(inOrder('dynamodb.Delete', {}));
    sns.on(PublishCommand).callsFake(inOrder('sns.Publish', { MessageId: 'm-1' }));
    ecs.on(UpdateServiceCommand).callsFake(inOrder('ecs.UpdateService', {}));
    elbv2.on(DescribeRulesCommand).callsFake(
      inOrder('elbv2.DescribeRules', {
        Rules: [
          {
            RuleArn: LISTENER_RULE_ARN,
            Actions: [
              {
                Type: 'forward',
                ForwardConfig: {
                  TargetGroups: [
                    { TargetGroupArn: BLUE_TG, Weight: 95 },
                    { TargetGroupArn: GREEN_TG, Weight: 5 },
                  ],
                },
              },
            ],
          },
        ],
      }),
    );
    elbv2.on(ModifyRuleCommand).callsFake(inOrder('elbv2.ModifyRule', {}));
  });

  it('moves production traffic back before it records or publishes anything of the rollback', async () => {
    const deployment = deploymentFixture();
    const at5 = cursorAt(3, { shifts: [{ percent: 5, shiftedAt: '2025-03-04T10:05:00.000Z' }] });
    const bakeFailed = { Error: 'BakeFailed', Cause: 'alarm checkout-green-5xx went to ALARM at 5%' };

    const result = await handler(
      { deployment, failure: bakeFailed, cursor: at5, releaseId: V2_RELEASE_ID },
      context,
    );

    expect(result).toMatchObject({ outcome: 'rolled_back', servingVersion: 'v1' });
    const modified = sent.indexOf('elbv2.ModifyRule');
    expect(modified).toBeGreaterThan(-1);
    // Only the conditional write that makes this rollback the service's owner (the fence) and reads of
    // the rule come before traffic moves: no progress write, no release event, no notification.
    expect(sent.slice(0, modified).filter((call) => call !== 'elbv2.DescribeRules')).toEqual([
      'dynamodb.Update STATE',
    ]);
    expect(elbv2.commandCalls(ModifyRuleCommand)[0]?.args[0].input.Actions?.[0]?.ForwardConfig).toMatchObject(
      {
        TargetGroups: [
          { TargetGroupArn: BLUE_TG, Weight: 100 },
          { TargetGroupArn: GREEN_TG, Weight: 0 },
        ],
      },
    );
    expect(sent.slice(modified + 1)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^dynamodb\.Update /), 'sns.Publish']),
    );
  });
});
