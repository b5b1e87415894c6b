import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Tag,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { TargetStateError } from '../errors.ts';
import type {
  DeployImageInput,
  DeployImageResult,
  ServiceReverter,
  SlotDeployer,
  SlotReader,
  SlotScaler,
  SlotStatus,
} from '../ports/slot-deployer.ts';
import { clientBase, customize } from './aws-clients.ts';

/** Tags Shipline records on the task definition revisions it registers. */
export const TASK_DEFINITION_TAGS = { release: 'shipline:release', version: 'shipline:version' } as const;

const tagValue = (tags: Tag[] | undefined, key: string): string | undefined =>
  tags?.find((tag) => tag.key === key)?.value;

/**
 * ECS tag limits (API reference, Tag): at most 50 tags per resource; the `aws:` prefix, in any case, is
 * reserved for AWS "for either keys or values" (CloudFormation's `aws:cloudformation:*` tags are read back
 * by DescribeTaskDefinition but refused by RegisterTaskDefinition).
 */
export const MAX_TASK_DEFINITION_TAGS = 50;
const MAX_TAG_VALUE_LENGTH = 256;
const isReserved = (text: string | undefined): boolean => text?.toLowerCase().startsWith('aws:') ?? false;

/**
 * The stable revision's user tags that the new revision can carry: Shipline's own and AWS-reserved tags
 * removed, then, if the release tags would push the total over 50, the keys last in sort order dropped
 * (sorted so the same tags are dropped on every release, whatever order DescribeTaskDefinition gave).
 */
export const carriedTags = (
  tags: Tag[] | undefined,
  releaseTagCount: number,
): { kept: Tag[]; reserved: Tag[]; overLimit: Tag[] } => {
  const user = (tags ?? []).filter((tag) => !tag.key?.startsWith('shipline:'));
  const reserved = user.filter((tag) => isReserved(tag.key) || isReserved(tag.value));
  const allowed = user
    .filter((tag) => !reserved.includes(tag))
    .sort((a, b) => ((a.key ?? '') < (b.key ?? '') ? -1 : (a.key ?? '') > (b.key ?? '') ? 1 : 0));
  const room = Math.max(0, MAX_TASK_DEFINITION_TAGS - releaseTagCount);
  return { kept: allowed.slice(0, room), reserved, overLimit: allowed.slice(room) };
};

/** Where the adapter reports what it had to leave out (the function's logger). */
export interface EcsSlotDeployerOptions {
  warn?: (message: string) => void;
}

/** The fields of a described task definition that RegisterTaskDefinition accepts back. */
const registerableFields = (
  definition: TaskDefinition,
): Omit<RegisterTaskDefinitionCommandInput, 'family'> => ({
  taskRoleArn: definition.taskRoleArn,
  executionRoleArn: definition.executionRoleArn,
  networkMode: definition.networkMode,
  containerDefinitions: definition.containerDefinitions,
  volumes: definition.volumes,
  placementConstraints: definition.placementConstraints,
  requiresCompatibilities: definition.requiresCompatibilities,
  cpu: definition.cpu,
  memory: definition.memory,
  pidMode: definition.pidMode,
  ipcMode: definition.ipcMode,
  proxyConfiguration: definition.proxyConfiguration,
  inferenceAccelerators: definition.inferenceAccelerators,
  ephemeralStorage: definition.ephemeralStorage,
  runtimePlatform: definition.runtimePlatform,
  enableFaultInjection: definition.enableFaultInjection,
});

/**
 * Reads ECS services as deployment slots. Functions that only read a slot (prepare-release) use it
 * instead of the deployer: esbuild keeps every method of a class it bundles, and deployImage brings
 * RegisterTaskDefinition and its schemas.
 */
export class EcsSlotReader implements SlotReader {
  public constructor(protected readonly client: ECSClient) {}

  protected async service(cluster: string, service: string) {
    const response = await this.client.send(new DescribeServicesCommand({ cluster, services: [service] }));
    const found = response.services?.[0];
    if (!found || found.status === 'INACTIVE') {
      const reason = response.failures?.[0]?.reason ?? 'not found';
      throw new TargetStateError(`ECS service ${service} in cluster ${cluster}: ${reason}`);
    }
    return found;
  }

  protected async taskDefinition(arn: string) {
    const response = await this.client.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }),
    );
    if (!response.taskDefinition) throw new TargetStateError(`task definition ${arn} not found`);
    return { definition: response.taskDefinition, tags: response.tags };
  }

  public async describeSlot(cluster: string, service: string, container: string): Promise<SlotStatus> {
    const found = await this.service(cluster, service);
    if (!found.taskDefinition) throw new TargetStateError(`ECS service ${service} has no task definition`);
    const { definition, tags } = await this.taskDefinition(found.taskDefinition);
    const image = definition.containerDefinitions?.find((c) => c.name === container)?.image;
    if (!image) {
      throw new TargetStateError(
        `task definition ${found.taskDefinition} has no container named "${container}"`,
      );
    }
    const primary = found.deployments?.find((deployment) => deployment.status === 'PRIMARY');
    return {
      service,
      taskDefinitionArn: found.taskDefinition,
      desiredCount: found.desiredCount ?? 0,
      runningCount: found.runningCount ?? 0,
      image,
      version: tagValue(tags, TASK_DEFINITION_TAGS.version),
      deploymentCount: found.deployments?.length ?? 0,
      deployment: primary?.id
        ? {
            id: primary.id,
            rolloutState: (primary.rolloutState ?? 'IN_PROGRESS') as 'IN_PROGRESS' | 'COMPLETED' | 'FAILED',
            reason: primary.rolloutStateReason,
          }
        : undefined,
    };
  }
}

/** ECS services as deployment slots. */
export class EcsSlotDeployer extends EcsSlotReader implements SlotDeployer {
  public constructor(
    client: ECSClient,
    private readonly options: EcsSlotDeployerOptions = {},
  ) {
    super(client);
  }

  public async deployImage(input: DeployImageInput): Promise<DeployImageResult> {
    const current = await this.service(input.cluster, input.service);
    // A retried step finds the revision it registered before, instead of registering another.
    if (current.taskDefinition) {
      const { tags } = await this.taskDefinition(current.taskDefinition);
      const primary = current.deployments?.find((deployment) => deployment.status === 'PRIMARY');
      if (tagValue(tags, TASK_DEFINITION_TAGS.release) === input.releaseId && primary?.id) {
        return { taskDefinitionArn: current.taskDefinition, deploymentId: primary.id };
      }
    }
    const { definition, tags: baseTags } = await this.taskDefinition(input.baseTaskDefinitionArn);
    // The team's own tags carry over to the new revision; Shipline's are set for this release.
    // ECR tags run to 300 characters, ECS tag values to 256: a longer version is not tagged (the release
    // record keeps it; describeSlot then reports no version and the stored stable version is used).
    const versionFits = input.version.length <= MAX_TAG_VALUE_LENGTH;
    if (!versionFits)
      this.options.warn?.(
        `version ${input.version.slice(0, 40)}... is longer than the ${MAX_TAG_VALUE_LENGTH} characters of an ECS tag value; ${TASK_DEFINITION_TAGS.version} is not set`,
      );
    const releaseTags: Tag[] = [
      { key: TASK_DEFINITION_TAGS.release, value: input.releaseId },
      ...(versionFits ? [{ key: TASK_DEFINITION_TAGS.version, value: input.version }] : []),
    ];
    const { kept, reserved, overLimit } = carriedTags(baseTags, releaseTags.length);
    const keys = (tags: Tag[]) => tags.map((tag) => tag.key).join(', ');
    if (reserved.length > 0)
      this.options.warn?.(
        `task definition ${input.baseTaskDefinitionArn}: not copying AWS-reserved (aws:) tags ${keys(reserved)}`,
      );
    if (overLimit.length > 0)
      this.options.warn?.(
        `task definition ${input.baseTaskDefinitionArn}: not copying tags ${keys(overLimit)} (ECS allows ${MAX_TASK_DEFINITION_TAGS} tags, ${releaseTags.length} are Shipline's)`,
      );
    const containers = definition.containerDefinitions ?? [];
    if (!containers.some((container) => container.name === input.container)) {
      throw new TargetStateError(
        `task definition ${input.baseTaskDefinitionArn} has no container named "${input.container}"`,
      );
    }
    const registered = await this.client.send(
      new RegisterTaskDefinitionCommand({
        family: definition.family,
        ...registerableFields(definition),
        containerDefinitions: containers.map((container) =>
          container.name === input.container ? { ...container, image: input.imageUri } : container,
        ),
        tags: [...kept, ...releaseTags],
      }),
    );
    const taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn;
    if (!taskDefinitionArn)
      throw new TargetStateError('RegisterTaskDefinition returned no task definition ARN');
    const updated = await this.client.send(
      new UpdateServiceCommand({
        cluster: input.cluster,
        service: input.service,
        taskDefinition: taskDefinitionArn,
        desiredCount: input.desiredCount,
        // Only the circuit breaker is given: the fields of deploymentConfiguration left out keep the service's
        // values (its minimumHealthyPercent and maximumPercent stay the team's). `rollback: false` because the
        // pipeline decides: it rolls back on a FAILED deployment as on an alarm, and says why.
        ...(input.circuitBreaker
          ? { deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } } }
          : {}),
      }),
    );
    const primary = updated.service?.deployments?.find((deployment) => deployment.status === 'PRIMARY');
    if (!primary?.id)
      throw new TargetStateError(`UpdateService on ${input.service} returned no PRIMARY deployment`);
    return { taskDefinitionArn, deploymentId: primary.id };
  }

  public async scale(cluster: string, service: string, desiredCount: number): Promise<void> {
    await scaleService(this.client, cluster, service, desiredCount);
  }

  public async runningTaskDefinition(cluster: string, service: string): Promise<string> {
    return runningTaskDefinition(this.client, cluster, service);
  }

  public async revertTo(cluster: string, service: string, taskDefinitionArn: string): Promise<void> {
    await revertService(this.client, cluster, service, taskDefinitionArn);
  }
}

const scaleService = async (client: ECSClient, cluster: string, service: string, desiredCount: number) => {
  await client.send(new UpdateServiceCommand({ cluster, service, desiredCount }));
};

const runningTaskDefinition = async (client: ECSClient, cluster: string, service: string) => {
  const response = await client.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const found = response.services?.[0];
  if (!found?.taskDefinition || found.status === 'INACTIVE') {
    const reason = response.failures?.[0]?.reason ?? 'not found';
    throw new TargetStateError(`ECS service ${service} in cluster ${cluster}: ${reason}`);
  }
  return found.taskDefinition;
};

// No desiredCount: UpdateService leaves the count as it is when it is omitted, and a rollback often comes
// during an incident, after Application Auto Scaling scaled the service out since the release read it.
const revertService = async (client: ECSClient, cluster: string, service: string, taskDefinition: string) => {
  await client.send(new UpdateServiceCommand({ cluster, service, taskDefinition }));
};

/**
 * Only scales slots. Functions that never deploy or read a slot (roll-back, scale-down) use it instead
 * of the deployer: esbuild keeps every method of a class it bundles, and the deployer's methods bring
 * the task-definition commands and their large schemas.
 */
export class EcsSlotScaler implements SlotScaler {
  public constructor(private readonly client: ECSClient) {}

  public async scale(cluster: string, service: string, desiredCount: number): Promise<void> {
    await scaleService(this.client, cluster, service, desiredCount);
  }
}

/**
 * Points a rolling service back at its previous revision (roll-back): DescribeServices and UpdateService
 * only, so the functions that merely scale (scale-down) bundle no DescribeServices.
 */
export class EcsServiceReverter implements ServiceReverter {
  public constructor(private readonly client: ECSClient) {}

  public async runningTaskDefinition(cluster: string, service: string): Promise<string> {
    return runningTaskDefinition(this.client, cluster, service);
  }

  public async revertTo(cluster: string, service: string, taskDefinitionArn: string): Promise<void> {
    await revertService(this.client, cluster, service, taskDefinitionArn);
  }
}

/** The deployer on a new ECS client. */
export const createEcsSlotDeployer = (options: EcsSlotDeployerOptions = {}): EcsSlotDeployer =>
  new EcsSlotDeployer(customize(new ECSClient(clientBase()), 'ECS'), options);

/** The scaler on a new ECS client. */
export const createEcsSlotScaler = (): EcsSlotScaler =>
  new EcsSlotScaler(customize(new ECSClient(clientBase()), 'ECS'));

/** The reverter on a new ECS client. */
export const createEcsServiceReverter = (): EcsServiceReverter =>
  new EcsServiceReverter(customize(new ECSClient(clientBase()), 'ECS'));

/** The reader on a new ECS client. */
export const createEcsSlotReader = (): EcsSlotReader =>
  new EcsSlotReader(customize(new ECSClient(clientBase()), 'ECS'));
