import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EcsSlotDeployer } from '../../../lib/adapters/ecs-slot-deployer.ts';
import { TargetStateError } from '../../../lib/errors.ts';
import type { DeployImageInput } from '../../../lib/ports/slot-deployer.ts';
import { V1_IMAGE, V2_IMAGE, V2_RELEASE_ID } from '../fixtures.ts';

const ecs = mockClient(ECSClient);

const TD_V1 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7';
const TD_V2 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:8';
const TD_GREEN_OLD = 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:5';

/** The stable slot's task definition as DescribeTaskDefinition returns it (read-only fields included). */
const baseDefinition: TaskDefinition = {
  taskDefinitionArn: TD_V1,
  family: 'checkout',
  revision: 7,
  status: 'ACTIVE',
  taskRoleArn: 'arn:aws:iam::123456789012:role/checkout-task',
  executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  cpu: '512',
  memory: '1024',
  runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
  containerDefinitions: [
    {
      name: 'app',
      image: V1_IMAGE,
      essential: true,
      portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
      environment: [{ name: 'PORT', value: '8080' }],
    },
    { name: 'envoy', image: 'public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29', essential: true },
  ],
  volumes: [],
  placementConstraints: [],
  registeredAt: new Date('2025-01-01T00:00:00Z'),
  registeredBy: 'arn:aws:iam::123456789012:role/deployer',
  compatibilities: ['EC2', 'FARGATE'],
  requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.task-iam-role' }],
};

const serviceRunning = (taskDefinition: string, deploymentId = 'ecs-svc/1001') => ({
  services: [
    {
      serviceName: 'checkout-green',
      status: 'ACTIVE',
      taskDefinition,
      desiredCount: 4,
      runningCount: 3,
      deployments: [
        {
          id: deploymentId,
          status: 'PRIMARY',
          taskDefinition,
          rolloutState: 'IN_PROGRESS' as const,
          rolloutStateReason: 'ECS deployment ecs-svc/1001 in progress.',
        },
        {
          id: 'ecs-svc/0999',
          status: 'ACTIVE',
          taskDefinition: TD_GREEN_OLD,
          rolloutState: 'COMPLETED' as const,
        },
      ],
    },
  ],
  failures: [],
});

const deployInput: DeployImageInput = {
  cluster: 'prod',
  service: 'checkout-green',
  container: 'app',
  baseTaskDefinitionArn: TD_V1,
  imageUri: V2_IMAGE,
  version: 'v2',
  desiredCount: 4,
  releaseId: V2_RELEASE_ID,
};

describe('Class: EcsSlotDeployer', () => {
  let deployer: EcsSlotDeployer;

  beforeEach(() => {
    ecs.reset();
    deployer = new EcsSlotDeployer(new ECSClient({ region: 'us-east-1' }));
  });

  describe('Method: describeSlot', () => {
    it('reads the service, then its task definition with tags', async () => {
      ecs.on(DescribeServicesCommand).resolves(serviceRunning(TD_V1));
      ecs.on(DescribeTaskDefinitionCommand).resolves({
        taskDefinition: baseDefinition,
        tags: [
          { key: 'shipline:version', value: 'v1' },
          { key: 'team', value: 'payments' },
        ],
      });

      const status = await deployer.describeSlot('prod', 'checkout-blue', 'app');

      expect(ecs.commandCalls(DescribeServicesCommand)[0]?.args[0].input).toEqual({
        cluster: 'prod',
        services: ['checkout-blue'],
      });
      expect(ecs.commandCalls(DescribeTaskDefinitionCommand)[0]?.args[0].input).toEqual({
        taskDefinition: TD_V1,
        include: ['TAGS'],
      });
      expect(status).toEqual({
        service: 'checkout-blue',
        taskDefinitionArn: TD_V1,
        desiredCount: 4,
        runningCount: 3,
        image: V1_IMAGE,
        version: 'v1',
        deploymentCount: 2,
        deployment: {
          id: 'ecs-svc/1001',
          rolloutState: 'IN_PROGRESS',
          reason: 'ECS deployment ecs-svc/1001 in progress.',
        },
      });
    });

    it('leaves the version undefined when the task definition has no shipline:version tag', async () => {
      ecs.on(DescribeServicesCommand).resolves(serviceRunning(TD_V1));
      ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: baseDefinition });

      const status = await deployer.describeSlot('prod', 'checkout-blue', 'app');

      expect(status.version).toBeUndefined();
      expect(status.image).toBe(V1_IMAGE);
    });

    it('throws TargetStateError when the container is not in the task definition', async () => {
      ecs.on(DescribeServicesCommand).resolves(serviceRunning(TD_V1));
      ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: baseDefinition });

      await expect(deployer.describeSlot('prod', 'checkout-blue', 'web')).rejects.toThrow(
        new TargetStateError(`task definition ${TD_V1} has no container named "web"`),
      );
    });

    it('throws TargetStateError naming the failure when the service is missing', async () => {
      ecs.on(DescribeServicesCommand).resolves({
        services: [],
        failures: [
          { arn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/checkout-blue', reason: 'MISSING' },
        ],
      });

      await expect(deployer.describeSlot('prod', 'checkout-blue', 'app')).rejects.toThrow(
        new TargetStateError('ECS service checkout-blue in cluster prod: MISSING'),
      );
      expect(ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(0);
    });

    it('treats an INACTIVE service as missing', async () => {
      ecs.on(DescribeServicesCommand).resolves({
        services: [{ serviceName: 'checkout-blue', status: 'INACTIVE', taskDefinition: TD_V1 }],
      });

      await expect(deployer.describeSlot('prod', 'checkout-blue', 'app')).rejects.toThrow(TargetStateError);
    });
  });

  describe('Method: deployImage', () => {
    it('registers a copy of the base definition with only the container image replaced, then updates the service', async () => {
      ecs.on(DescribeServicesCommand).resolves(serviceRunning(TD_GREEN_OLD));
      ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: TD_GREEN_OLD }).resolves({
        taskDefinition: { ...baseDefinition, taskDefinitionArn: TD_GREEN_OLD, revision: 5 },
        tags: [{ key: 'shipline:release', value: 'checkout-older-release' }],
      });
      ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: TD_V1 }).resolves({
        taskDefinition: baseDefinition,
        tags: [{ key: 'shipline:version', value: 'v1' }],
      });
      ecs.on(RegisterTaskDefinitionCommand).resolves({
        taskDefinition: { ...baseDefinition, taskDefinitionArn: TD_V2, revision: 8 },
      });
      ecs.on(UpdateServiceCommand).resolves({
        service: {
          serviceName: 'checkout-green',
          deployments: [
            { id: 'ecs-svc/1002', status: 'PRIMARY', taskDefinition: TD_V2 },
            { id: 'ecs-svc/1001', status: 'ACTIVE', taskDefinition: TD_GREEN_OLD },
          ],
        },
      });

      const result = await deployer.deployImage(deployInput);

      expect(result).toEqual({ taskDefinitionArn: TD_V2, deploymentId: 'ecs-svc/1002' });
      const registrations = ecs.commandCalls(RegisterTaskDefinitionCommand);
      expect(registrations).toHaveLength(1);
      expect(registrations[0]?.args[0].input).toEqual({
        family: 'checkout',
        taskRoleArn: 'arn:aws:iam::123456789012:role/checkout-task',
        executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
        networkMode: 'awsvpc',
        containerDefinitions: [
          {
            name: 'app',
            image: V2_IMAGE,
            essential: true,
            portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
            environment: [{ name: 'PORT', value: '8080' }],
          },
          { name: 'envoy', image: 'public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29', essential: true },
        ],
        volumes: [],
        placementConstraints: [],
        requiresCompatibilities: ['FARGATE'],
        cpu: '512',
        memory: '1024',
        pidMode: undefined,
        ipcMode: undefined,
        proxyConfiguration: undefined,
        inferenceAccelerators: undefined,
        ephemeralStorage: undefined,
        runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
        tags: [
          { key: 'shipline:release', value: V2_RELEASE_ID },
          { key: 'shipline:version', value: 'v2' },
        ],
      });
      const updates = ecs.commandCalls(UpdateServiceCommand);
      expect(updates).toHaveLength(1);
      expect(updates[0]?.args[0].input).toEqual({
        cluster: 'prod',
        service: 'checkout-green',
        taskDefinition: TD_V2,
        desiredCount: 4,
      });
    });

    describe('tags copied from the stable revision', () => {
      const userTags = (count: number) =>
        Array.from({ length: count }, (_, i) => ({
          key: `team:tag-${String(i).padStart(2, '0')}`,
          value: `v${i}`,
        }));
      const registeredTags = async (
        baseTags: Array<{ key: string; value: string }>,
        warn?: (m: string) => void,
      ) => {
        ecs.on(DescribeServicesCommand).resolves(serviceRunning(TD_GREEN_OLD));
        ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: TD_GREEN_OLD }).resolves({
          taskDefinition: { ...baseDefinition, taskDefinitionArn: TD_GREEN_OLD },
          tags: [],
        });
        ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: TD_V1 }).resolves({
          taskDefinition: baseDefinition,
          tags: baseTags,
        });
        ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD_V2 } });
        ecs.on(UpdateServiceCommand).resolves({
          service: { deployments: [{ id: 'ecs-svc/1002', status: 'PRIMARY' }] },
        });
        const deployerWithWarnings = new EcsSlotDeployer(new ECSClient({ region: 'us-east-1' }), { warn });
        await deployerWithWarnings.deployImage(deployInput);
        return ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input.tags;
      };
      const releaseTags = [
        { key: 'shipline:release', value: V2_RELEASE_ID },
        { key: 'shipline:version', value: 'v2' },
      ];

      it('carries the team tags and never an aws:-prefixed one, warning which were left out', async () => {
        const warnings: string[] = [];
        const tags = await registeredTags(
          [
            { key: 'aws:cloudformation:stack-name', value: 'checkout-prod' },
            { key: 'AWS:Custom', value: 'x' },
            { key: 'team', value: 'payments' },
            { key: 'origin', value: 'aws:marketplace' },
            { key: 'shipline:version', value: 'v1' },
          ],
          (message) => warnings.push(message),
        );

        expect(tags).toEqual([{ key: 'team', value: 'payments' }, ...releaseTags]);
        expect(warnings).toEqual([
          `task definition ${TD_V1}: not copying AWS-reserved (aws:) tags aws:cloudformation:stack-name, AWS:Custom, origin`,
        ]);
      });

      it('sends at most 50 tags, keeping the release tags and the first 48 team tags by key', async () => {
        const warnings: string[] = [];
        const shuffled = userTags(55).reverse();
        const tags = await registeredTags(
          [{ key: 'aws:cloudformation:stack-name', value: 'checkout-prod' }, ...shuffled],
          (message) => warnings.push(message),
        );

        expect(tags).toHaveLength(50);
        expect(tags).toEqual([...userTags(48), ...releaseTags]);
        expect(warnings).toContain(
          `task definition ${TD_V1}: not copying tags team:tag-48, team:tag-49, team:tag-50, team:tag-51, team:tag-52, team:tag-53, team:tag-54 (ECS allows 50 tags, 2 are Shipline's)`,
        );
      });

      it('does not tag a version longer than an ECS tag value (256), warning, and keeps the release tag', async () => {
        const warnings: string[] = [];
        const version = `v-${'x'.repeat(298)}`;
        ecs.on(DescribeServicesCommand).resolves(serviceRunning(TD_GREEN_OLD));
        ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: baseDefinition, tags: [] });
        ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD_V2 } });
        ecs.on(UpdateServiceCommand).resolves({
          service: { deployments: [{ id: 'ecs-svc/1002', status: 'PRIMARY' }] },
        });
        await new EcsSlotDeployer(new ECSClient({ region: 'us-east-1' }), {
          warn: (message) => warnings.push(message),
        }).deployImage({ ...deployInput, version });

        expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input.tags).toEqual([
          { key: 'shipline:release', value: V2_RELEASE_ID },
        ]);
        expect(warnings).toEqual([
          `version ${version.slice(0, 40)}... is longer than the 256 characters of an ECS tag value; shipline:version is not set`,
        ]);
      });

      it('keeps 48 team tags whole, without a warning', async () => {
        const warnings: string[] = [];
        const tags = await registeredTags(userTags(48), (message) => warnings.push(message));

        expect(tags).toEqual([...userTags(48), ...releaseTags]);
        expect(warnings).toEqual([]);
      });
    });

    it('describes the current and the base task definition with tags', async () => {
      ecs.on(DescribeServicesCommand).resolves(serviceRunning(TD_GREEN_OLD));
      ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: baseDefinition, tags: [] });
      ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD_V2 } });
      ecs.on(UpdateServiceCommand).resolves({
        service: { deployments: [{ id: 'ecs-svc/1002', status: 'PRIMARY' }] },
      });

      await deployer.deployImage(deployInput);

      expect(ecs.commandCalls(DescribeTaskDefinitionCommand).map((call) => call.args[0].input)).toEqual([
        { taskDefinition: TD_GREEN_OLD, include: ['TAGS'] },
        { taskDefinition: TD_V1, include: ['TAGS'] },
      ]);
    });

    it('registers nothing on a retry whose current task definition carries the same release id', async () => {
      ecs.on(DescribeServicesCommand).resolves(serviceRunning(TD_V2, 'ecs-svc/1002'));
      ecs.on(DescribeTaskDefinitionCommand).resolves({
        taskDefinition: { ...baseDefinition, taskDefinitionArn: TD_V2 },
        tags: [
          { key: 'shipline:release', value: V2_RELEASE_ID },
          { key: 'shipline:version', value: 'v2' },
        ],
      });

      const result = await deployer.deployImage(deployInput);

      expect(result).toEqual({ taskDefinitionArn: TD_V2, deploymentId: 'ecs-svc/1002' });
      expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
      expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
      expect(ecs.commandCalls(DescribeTaskDefinitionCommand).map((call) => call.args[0].input)).toEqual([
        { taskDefinition: TD_V2, include: ['TAGS'] },
      ]);
    });

    it('throws TargetStateError and registers nothing when the base definition lacks the container', async () => {
      ecs.on(DescribeServicesCommand).resolves(serviceRunning(TD_GREEN_OLD));
      ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: baseDefinition, tags: [] });

      await expect(deployer.deployImage({ ...deployInput, container: 'web' })).rejects.toThrow(
        new TargetStateError(`task definition ${TD_V1} has no container named "web"`),
      );
      expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
      expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    });

    it('throws TargetStateError when UpdateService returns no PRIMARY deployment', async () => {
      ecs.on(DescribeServicesCommand).resolves(serviceRunning(TD_GREEN_OLD));
      ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: baseDefinition, tags: [] });
      ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD_V2 } });
      ecs.on(UpdateServiceCommand).resolves({ service: { deployments: [] } });

      await expect(deployer.deployImage(deployInput)).rejects.toThrow(
        new TargetStateError('UpdateService on checkout-green returned no PRIMARY deployment'),
      );
    });
  });

  describe('Method: scale', () => {
    it('updates only the desired count', async () => {
      ecs.on(UpdateServiceCommand).resolves({});

      await deployer.scale('prod', 'checkout-blue', 0);

      const calls = ecs.commandCalls(UpdateServiceCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({ cluster: 'prod', service: 'checkout-blue', desiredCount: 0 });
    });
  });
});
