import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EcsRollingTarget } from '../../lib/domain/types.ts';
import { deploymentFixture, TOPIC_ARN, V2_RELEASE_ID } from '../unit/fixtures.ts';
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
