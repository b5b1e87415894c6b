import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EcsServiceReverter, EcsSlotDeployer } from '../../../lib/adapters/ecs-slot-deployer.ts';
import { parseConfig } from '../../../lib/config/load.ts';
import type { EcsRollingTarget } from '../../../lib/domain/types.ts';
import { TargetDriverByType } from '../../../lib/drivers/by-type.ts';
import { EcsAlbDriver } from '../../../lib/drivers/ecs-alb.ts';
import { EcsRollingDriver } from '../../../lib/drivers/ecs-rolling.ts';
import { TargetStateError } from '../../../lib/errors.ts';
import { V1_IMAGE, V2_IMAGE, V2_RELEASE_ID } from '../fixtures.ts';

const ecs = mockClient(ECSClient);

const TD_V1 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7';
const TD_V2 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:8';
const TD_V0 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:6';

const service = (() => {
  const parsed = parseConfig({
    services: {
      checkout: {
        image: { repository: 'checkout' },
        target: { type: 'ecs-rolling', cluster: 'prod', service: 'checkout', container: 'app' },
        alarms: ['checkout-5xx'],
        strategy: { type: 'all-at-once', bake: '10m' },
      },
    },
  }).services.checkout;
  if (!parsed) throw new Error('expected checkout');
  return parsed;
})();

const TARGET: EcsRollingTarget = {
  type: 'ecs-rolling',
  cluster: 'prod',
  container: 'app',
  service: 'checkout',
  desiredCount: 4,
  stableTaskDefinitionArn: TD_V1,
};

type Rollout = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
/** DescribeServices of `checkout`: its PRIMARY deployment first, then older ones still running. */
const described = (
  taskDefinition: string,
  primary: { id: string; state: Rollout; reason?: string },
  active: Array<{ id: string; taskDefinition: string }> = [],
) => ({
  services: [
    {
      serviceName: 'checkout',
      status: 'ACTIVE',
      taskDefinition,
      desiredCount: 4,
      runningCount: 4,
      deployments: [
        {
          id: primary.id,
          status: 'PRIMARY',
          taskDefinition,
          rolloutState: primary.state,
          rolloutStateReason: primary.reason,
        },
        ...active.map((d) => ({ ...d, status: 'ACTIVE', rolloutState: 'COMPLETED' as const })),
      ],
    },
  ],
  failures: [],
});

const definition = (arn: string, image: string, version: string) => ({
  taskDefinition: {
    taskDefinitionArn: arn,
    family: 'checkout',
    networkMode: 'awsvpc' as const,
    requiresCompatibilities: ['FARGATE' as const],
    cpu: '512',
    memory: '1024',
    containerDefinitions: [{ name: 'app', image, essential: true }],
  },
  tags: [{ key: 'shipline:version', value: version }],
});

describe('Class: EcsRollingDriver', () => {
  let driver: EcsRollingDriver;

  beforeEach(() => {
    ecs.reset();
    driver = new EcsRollingDriver({
      slots: new EcsSlotDeployer(new ECSClient({ region: 'us-east-1' })),
    });
  });

  describe('Method: snapshot', () => {
    it('reads the one service: its task definition is stable and serves all once its PRIMARY deployment completed alone', async () => {
      ecs.on(DescribeServicesCommand).resolves(described(TD_V1, { id: 'ecs-svc/1', state: 'COMPLETED' }));
      ecs.on(DescribeTaskDefinitionCommand).resolves(definition(TD_V1, V1_IMAGE, 'v1'));

      const snapshot = await driver.snapshot(service, async () => undefined);

      expect(ecs.commandCalls(DescribeServicesCommand)[0]?.args[0].input).toEqual({
        cluster: 'prod',
        services: ['checkout'],
      });
      expect(snapshot).toEqual({
        target: TARGET,
        servingImage: V1_IMAGE,
        servingVersion: 'v1',
        servesAll: true,
        alarms: [],
        planContext: {},
        details: { service: 'checkout', taskDefinition: TD_V1 },
        trafficSeen: {},
      });
    });

    it('does not serve all while a rollout runs, and takes the recorded stable revision as the one to return to', async () => {
      ecs
        .on(DescribeServicesCommand)
        .resolves(
          described(TD_V2, { id: 'ecs-svc/2', state: 'IN_PROGRESS' }, [
            { id: 'ecs-svc/1', taskDefinition: TD_V1 },
          ]),
        );
      ecs.on(DescribeTaskDefinitionCommand).resolves(definition(TD_V2, V2_IMAGE, 'v2'));

      const snapshot = await driver.snapshot(service, async () => ({
        service: 'checkout',
        stableVersion: 'v1',
        stableTaskDefinitionArn: TD_V0,
        latestRelease: 'r0',
        updatedAt: '2025-03-04T09:00:00Z',
      }));

      expect(snapshot.servesAll).toBe(false);
      expect(snapshot.target).toEqual({ ...TARGET, stableTaskDefinitionArn: TD_V0 });
    });

    it('refuses a service that runs no tasks', async () => {
      ecs.on(DescribeServicesCommand).resolves({
        services: [
          { ...described(TD_V1, { id: 'ecs-svc/1', state: 'COMPLETED' }).services[0], desiredCount: 0 },
        ],
      });
      ecs.on(DescribeTaskDefinitionCommand).resolves(definition(TD_V1, V1_IMAGE, 'v1'));

      await expect(driver.snapshot(service, async () => undefined)).rejects.toThrow(
        new TargetStateError('ECS service checkout runs no tasks (desiredCount 0): nothing to release from'),
      );
    });
  });

  describe('Method: deploy', () => {
    it('registers a revision copying the stable one with the digest, then updates the one service with the circuit breaker on and its rollback off', async () => {
      ecs.on(DescribeServicesCommand).resolves(described(TD_V1, { id: 'ecs-svc/1', state: 'COMPLETED' }));
      ecs.on(DescribeTaskDefinitionCommand).resolves(definition(TD_V1, V1_IMAGE, 'v1'));
      ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD_V2 } });
      ecs.on(UpdateServiceCommand).resolves({
        service: { deployments: [{ id: 'ecs-svc/2', status: 'PRIMARY' }] },
      });

      const rollout = await driver.deploy(TARGET, {
        imageUri: V2_IMAGE,
        version: 'v2',
        releaseId: V2_RELEASE_ID,
      });

      expect(rollout).toEqual({ taskDefinitionArn: TD_V2, deploymentId: 'ecs-svc/2' });
      expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input).toEqual({
        family: 'checkout',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '512',
        memory: '1024',
        containerDefinitions: [{ name: 'app', image: V2_IMAGE, essential: true }],
        tags: [
          { key: 'shipline:release', value: V2_RELEASE_ID },
          { key: 'shipline:version', value: 'v2' },
        ],
      });
      expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
        cluster: 'prod',
        service: 'checkout',
        taskDefinition: TD_V2,
        desiredCount: 4,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
      });
    });
  });

  describe('Method: readiness', () => {
    const rollout = { taskDefinitionArn: TD_V2, deploymentId: 'ecs-svc/2' };
    const at = async (primary: { id: string; state: Rollout; reason?: string }) => {
      ecs.on(DescribeServicesCommand).resolves(described(TD_V2, primary));
      ecs.on(DescribeTaskDefinitionCommand).resolves(definition(TD_V2, V2_IMAGE, 'v2'));
      return driver.readiness(TARGET, rollout, 'v2');
    };

    it('is ready when the rollout completed', async () => {
      expect(await at({ id: 'ecs-svc/2', state: 'COMPLETED' })).toEqual({
        state: 'ready',
        reason: 'checkout runs v2 on all its tasks',
      });
    });

    it('is in progress while the rollout runs', async () => {
      expect((await at({ id: 'ecs-svc/2', state: 'IN_PROGRESS' })).state).toBe('in-progress');
    });

    it('failed when the circuit breaker failed the rollout, naming the deployment and ECS reason', async () => {
      expect(
        await at({
          id: 'ecs-svc/2',
          state: 'FAILED',
          reason: 'ECS deployment circuit breaker: tasks failed to start.',
        }),
      ).toEqual({
        state: 'failed',
        reason:
          'ECS deployment ecs-svc/2 of checkout failed to become steady: ECS deployment circuit breaker: tasks failed to start.',
      });
    });

    it('replaced when another deployment is PRIMARY', async () => {
      expect((await at({ id: 'ecs-svc/3', state: 'IN_PROGRESS' })).state).toBe('replaced');
    });
  });

  describe('Method: setTraffic', () => {
    it('has nothing to move for all of the traffic, and refuses a share', async () => {
      await driver.setTraffic(TARGET, 100);
      await expect(driver.setTraffic(TARGET, 25)).rejects.toThrow(TargetStateError);
      expect(await driver.newVersionPercent(TARGET)).toBe(100);
      expect(ecs.calls()).toHaveLength(0);
    });
  });

  describe('Method: rollBack', () => {
    beforeEach(() => {
      driver = new EcsRollingDriver({
        slots: new EcsServiceReverter(new ECSClient({ region: 'us-east-1' })),
      });
    });

    it('updates the service back to the previous task definition with the count it has now (autoscaling may have scaled it out), and says it is rolling back in', async () => {
      ecs
        .on(DescribeServicesCommand)
        .resolves(
          described(TD_V2, { id: 'ecs-svc/2', state: 'FAILED' }, [
            { id: 'ecs-svc/1', taskDefinition: TD_V1 },
          ]),
        );
      ecs.on(UpdateServiceCommand).resolves({});

      const result = await driver.rollBack(TARGET);

      expect(ecs.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input)).toEqual([
        { cluster: 'prod', service: 'checkout', taskDefinition: TD_V1 },
      ]);
      expect(result).toEqual({
        note: `the previous task definition ${TD_V1} is rolling back in on checkout, task by task`,
      });
    });

    it('changes nothing when the service already runs the previous task definition (a retry)', async () => {
      ecs.on(DescribeServicesCommand).resolves(described(TD_V1, { id: 'ecs-svc/3', state: 'IN_PROGRESS' }));

      await driver.rollBack(TARGET);

      expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    });
  });

  describe('Method: retire', () => {
    it('scales nothing: no old tasks stay warm', async () => {
      await driver.retire(TARGET);
      expect(ecs.calls()).toHaveLength(0);
    });
  });

  describe('Method: trafficReport', () => {
    it('names the revision the service runs and the command that puts the previous one back', async () => {
      driver = new EcsRollingDriver({
        slots: new EcsServiceReverter(new ECSClient({ region: 'us-east-1' })),
      });
      ecs.on(DescribeServicesCommand).resolves(described(TD_V2, { id: 'ecs-svc/2', state: 'FAILED' }));

      expect(await driver.trafficReport(TARGET, 'us-east-1')).toEqual({
        newPercent: 100,
        description: `ECS service checkout runs task definition ${TD_V2}`,
        manualRollback: {
          service: 'checkout',
          previousTaskDefinition: TD_V1,
          command: `aws ecs update-service --region us-east-1 --cluster prod --service checkout --task-definition ${TD_V1}`,
        },
      });
    });
  });
});

describe('Class: TargetDriverByType', () => {
  it('hands each call to the driver of the target kind', async () => {
    ecs.reset();
    const slots = new EcsServiceReverter(new ECSClient({ region: 'us-east-1' }));
    const driver = new TargetDriverByType({
      'ecs-alb': new EcsAlbDriver({ slots }),
      'ecs-rolling': new EcsRollingDriver({ slots }),
    });
    expect(driver.names(TARGET).stableUnit).toBe('checkout');
    ecs.on(DescribeServicesCommand).resolves(described(TD_V1, { id: 'ecs-svc/1', state: 'COMPLETED' }));
    await driver.rollBack(TARGET);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });
});
