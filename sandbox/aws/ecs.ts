import { cloneData } from './clone.ts';
import { SimulatedAwsError } from './errors.ts';
import type { EcsContext } from './services.ts';
import { circuitBreakerThreshold, taskHealthySeconds, taskUnhealthySeconds } from './timing.ts';

interface TaskDefinition {
  taskDefinitionArn: string;
  family: string;
  revision: number;
  containerDefinitions: Array<{ name: string; image: string; [key: string]: unknown }>;
  tags: Array<{ key: string; value: string }>;
  [key: string]: unknown;
}

interface Deployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  desiredCount: number;
  runningCount: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  rolloutStateReason: string;
  createdAt: Date;
  updatedAt: Date;
  /** Rolling update: tasks launched and not yet healthy (they count against maximumPercent). */
  pendingCount?: number;
  /** Rolling update: tasks of this deployment that failed their health checks (the circuit breaker counts them). */
  failedTasks?: number;
}

/** A rolling update's deployment configuration, as UpdateService takes it and DescribeServices shows it. */
export interface DeploymentConfiguration {
  minimumHealthyPercent: number;
  maximumPercent: number;
  deploymentCircuitBreaker: { enable: boolean; rollback: boolean };
}

/**
 * ECS's defaults for a REPLICA service with the rolling update (ECS) deployment controller: minimumHealthyPercent
 * 100 and maximumPercent 200 (API reference, DeploymentConfiguration); the circuit breaker is off unless set.
 */
export const DEFAULT_DEPLOYMENT_CONFIGURATION: DeploymentConfiguration = {
  minimumHealthyPercent: 100,
  maximumPercent: 200,
  deploymentCircuitBreaker: { enable: false, rollback: false },
};

export interface SimulatedService {
  serviceName: string;
  serviceArn: string;
  clusterArn: string;
  cluster: string;
  desiredCount: number;
  runningCount: number;
  taskDefinition: string;
  targetGroupArn: string;
  /** The container whose image is the service's version (the config's `target.container`). */
  container: string;
  deployments: Deployment[];
  /**
   * One service updated in place by rolling updates (target `ecs-rolling`): tasks are replaced in batches
   * bounded by `deploymentConfiguration`, and the target group's traffic is split across the versions by their
   * registered healthy tasks. Slot services (blue/green) keep the one-batch model (see `rollOut`).
   */
  rolling: boolean;
  deploymentConfiguration: DeploymentConfiguration;
  /** Rolling update: old tasks deregistered and draining (still RUNNING, so they count against maximumPercent). */
  drainingCount: number;
  /** The task definition of the last deployment that COMPLETED (what a circuit-breaker rollback returns to). */
  lastCompletedTaskDefinition: string;
  /** That deployment's id: a circuit-breaker rollback's reason names the deployment it rolls back to. */
  lastCompletedDeploymentId: string;
}

/**
 * ECS: task definitions with revisions and tags, services whose deployments take simulated time to
 * become steady (or fail, circuit breaker), and "ECS Deployment State Change" events on EventBridge.
 */
export class SimulatedEcs {
  private readonly taskDefinitions = new Map<string, TaskDefinition>();
  private readonly revisions = new Map<string, number>();
  public readonly services = new Map<string, SimulatedService>();
  private deploymentSeq = 1000;

  public constructor(private readonly world: EcsContext) {}

  private arn(kind: string, name: string): string {
    return `arn:aws:ecs:${this.world.region}:${this.world.account}:${kind}/${name}`;
  }

  /** The ARN of a task definition family (without revision): the world knows which service it belongs to. */
  public familyArn(family: string): string {
    return this.arn('task-definition', family);
  }

  /** A timeline entry about one ECS service, naming the scenario service it belongs to (when the world knows). */
  private note(service: Pick<SimulatedService, 'serviceArn'>, text: string): void {
    this.world.record('ecs', text, undefined, this.world.serviceOf(service.serviceArn));
  }

  /**
   * ECS tag restrictions (API reference, Tag): at most 50 tags, unique keys, key 1-128 and value at most
   * 256 characters, and no `aws:` prefix in any case on a key or a value ("reserved for AWS use").
   */
  private validateTags(tags: unknown): void {
    if (tags === undefined) return;
    const list = tags as Array<{ key?: string; value?: string }>;
    const invalid = (message: string) => new SimulatedAwsError('InvalidParameterException', message);
    if (list.length > 50)
      throw invalid(`Too many tags: ${list.length} were given, the maximum is 50 tags per resource.`);
    const seen = new Set<string>();
    for (const tag of list) {
      const key = tag.key ?? '';
      const value = tag.value ?? '';
      if (key.length < 1 || key.length > 128)
        throw invalid(`Tag key "${key.slice(0, 40)}" must be 1 to 128 characters long.`);
      if (value.length > 256) throw invalid(`The value of tag "${key}" must be at most 256 characters long.`);
      if (key.toLowerCase().startsWith('aws:') || value.toLowerCase().startsWith('aws:'))
        throw invalid(`Tag "${key}": the aws: prefix is reserved for AWS use.`);
      if (seen.has(key)) throw invalid(`Duplicate tag key "${key}".`);
      seen.add(key);
    }
  }

  public registerTaskDefinition(
    input: Record<string, unknown>,
    options: { byAws?: boolean } = {},
  ): TaskDefinition {
    // Task definitions the world starts with (e.g. created by CloudFormation) may carry aws: tags.
    if (!options.byAws) this.validateTags(input.tags);
    const family = String(input.family);
    const revision = (this.revisions.get(family) ?? 0) + 1;
    this.revisions.set(family, revision);
    const { tags, family: _family, ...rest } = input;
    const definition: TaskDefinition = {
      ...rest,
      family,
      revision,
      taskDefinitionArn: this.arn('task-definition', `${family}:${revision}`),
      containerDefinitions: cloneData(input.containerDefinitions) as TaskDefinition['containerDefinitions'],
      tags: (tags as TaskDefinition['tags'] | undefined) ?? [],
    };
    this.taskDefinitions.set(definition.taskDefinitionArn, definition);
    return definition;
  }

  /** Creates a service already steady on `taskDefinitionArn` (the initial world); returns its ARN. */
  public createService(
    cluster: string,
    name: string,
    taskDefinitionArn: string,
    desiredCount: number,
    targetGroupArn: string,
    container: string,
    options: { rolling?: boolean; deploymentConfiguration?: DeploymentConfiguration } = {},
  ): string {
    const at = this.world.clock.now();
    const serviceArn = this.arn('service', `${cluster}/${name}`);
    this.services.set(`${cluster}/${name}`, {
      serviceName: name,
      serviceArn,
      clusterArn: this.arn('cluster', cluster),
      cluster,
      desiredCount,
      runningCount: desiredCount,
      taskDefinition: taskDefinitionArn,
      targetGroupArn,
      container,
      rolling: options.rolling ?? false,
      deploymentConfiguration: cloneData(options.deploymentConfiguration ?? DEFAULT_DEPLOYMENT_CONFIGURATION),
      drainingCount: 0,
      lastCompletedTaskDefinition: taskDefinitionArn,
      lastCompletedDeploymentId: `ecs-svc/${this.deploymentSeq}`,
      deployments: [
        {
          id: `ecs-svc/${this.deploymentSeq++}`,
          status: 'PRIMARY',
          taskDefinition: taskDefinitionArn,
          desiredCount,
          runningCount: desiredCount,
          rolloutState: 'COMPLETED',
          rolloutStateReason: 'ECS deployment completed.',
          createdAt: at,
          updatedAt: at,
        },
      ],
    });
    return serviceArn;
  }

  /** By ARN, `family:revision` or `family` (its latest revision): map lookups, never a scan of them all. */
  private resolveTaskDefinition(reference: string): TaskDefinition {
    const direct = this.taskDefinitions.get(reference);
    if (direct) return direct;
    const revisioned = /^(.+):(\d+)$/.exec(reference);
    const [family, revision] = revisioned
      ? [revisioned[1] ?? '', Number(revisioned[2])]
      : [reference, this.revisions.get(reference)];
    const found =
      revision === undefined
        ? undefined
        : this.taskDefinitions.get(this.arn('task-definition', `${family}:${revision}`));
    if (found) return found;
    throw new SimulatedAwsError('ClientException', `Unable to describe task definition ${reference}.`);
  }

  private service(cluster: unknown, name: unknown): SimulatedService {
    const clusterName =
      String(cluster ?? 'default')
        .split('/')
        .at(-1) ?? 'default';
    const found = this.services.get(`${clusterName}/${String(name).split('/').at(-1)}`);
    if (!found) throw new SimulatedAwsError('ServiceNotFoundException', `Service not found: ${String(name)}`);
    return found;
  }

  /** The image a service's tasks run (what its target group serves), or undefined when no task runs. */
  public servingImage(service: SimulatedService): string | undefined {
    if (service.runningCount === 0) return undefined;
    // Once the new tasks are healthy the old ones are deregistered (draining): the new deployment serves.
    const steady =
      service.deployments.find((d) => d.status === 'PRIMARY' && d.runningCount > 0) ??
      service.deployments.find((d) => d.rolloutState === 'COMPLETED' && d.runningCount > 0);
    if (!steady) return undefined;
    return this.imageOf(steady.taskDefinition, service.container);
  }

  /**
   * The images the target group's registered tasks run, with how many tasks run each: a request reaches one
   * of them. A rolling update registers new tasks as they become healthy and deregisters old ones as they are
   * stopped, so both versions serve during it; outside one (and on slot services) one image serves.
   */
  public servingShares(service: SimulatedService): Array<{ image: string; tasks: number }> {
    if (!service.rolling) {
      const image = this.servingImage(service);
      return image ? [{ image, tasks: Math.max(1, service.runningCount) }] : [];
    }
    const shares: Array<{ image: string; tasks: number }> = [];
    for (const deployment of service.deployments) {
      if (deployment.runningCount <= 0) continue;
      const image = this.imageOf(deployment.taskDefinition, service.container);
      if (image) shares.push({ image, tasks: deployment.runningCount });
    }
    return shares;
  }

  public imageOf(taskDefinitionArn: string, container: string): string | undefined {
    return this.resolveTaskDefinition(taskDefinitionArn).containerDefinitions.find(
      (c) => c.name === container,
    )?.image;
  }

  private describe(service: SimulatedService) {
    return {
      serviceName: service.serviceName,
      serviceArn: service.serviceArn,
      clusterArn: service.clusterArn,
      status: 'ACTIVE',
      desiredCount: service.desiredCount,
      runningCount: service.runningCount,
      pendingCount: Math.max(0, service.desiredCount - service.runningCount),
      taskDefinition: service.taskDefinition,
      loadBalancers: [{ targetGroupArn: service.targetGroupArn, containerName: 'app', containerPort: 8080 }],
      deploymentConfiguration: service.rolling
        ? cloneData(service.deploymentConfiguration)
        : { deploymentCircuitBreaker: { enable: true, rollback: false } },
      deployments: service.deployments.map(({ pendingCount, failedTasks, ...d }) => ({
        ...d,
        ...(service.rolling ? { pendingCount: pendingCount ?? 0, failedTasks: failedTasks ?? 0 } : {}),
      })),
    };
  }

  public handle(command: string, input: Record<string, unknown>): unknown {
    switch (command) {
      case 'DescribeServices': {
        const names = (input.services as string[]) ?? [];
        const services = [];
        const failures = [];
        for (const name of names) {
          try {
            services.push(this.describe(this.service(input.cluster, name)));
          } catch {
            failures.push({
              arn: this.arn('service', `${String(input.cluster)}/${name}`),
              reason: 'MISSING',
            });
          }
        }
        return { services, failures };
      }
      case 'DescribeTaskDefinition': {
        const definition = this.resolveTaskDefinition(String(input.taskDefinition));
        const { tags, ...taskDefinition } = definition;
        const include = (input.include as string[] | undefined) ?? [];
        return {
          taskDefinition: cloneData(taskDefinition),
          ...(include.includes('TAGS') ? { tags: cloneData(tags) } : {}),
        };
      }
      case 'RegisterTaskDefinition': {
        const definition = this.registerTaskDefinition(input);
        this.world.record(
          'ecs',
          `registered ${definition.family}:${definition.revision} (${definition.containerDefinitions.map((c) => c.image).join(', ')})`,
          undefined,
          this.world.serviceOf(this.familyArn(definition.family)),
        );
        const { tags, ...taskDefinition } = definition;
        return { taskDefinition: cloneData(taskDefinition), tags: cloneData(tags) };
      }
      case 'UpdateService':
        return { service: this.describe(this.updateService(input)) };
      default:
        return undefined;
    }
  }

  /**
   * Checks and applies UpdateService's `deploymentConfiguration` as ECS does: whole percentages,
   * minimumHealthyPercent 0-100, maximumPercent at least 100 for a REPLICA service (the upper limit of tasks
   * RUNNING or PENDING during a deployment, API reference DeploymentConfiguration), the circuit breaker with
   * both `enable` and `rollback` (both required, API reference DeploymentCircuitBreaker). Fields left out keep
   * the service's current values.
   */
  private applyDeploymentConfiguration(service: SimulatedService, input: unknown): void {
    if (input === undefined) return;
    const given = input as Partial<{
      minimumHealthyPercent: unknown;
      maximumPercent: unknown;
      deploymentCircuitBreaker: { enable?: unknown; rollback?: unknown };
    }>;
    const invalid = (message: string) => new SimulatedAwsError('InvalidParameterException', message);
    const next = cloneData(service.deploymentConfiguration);
    if (given.minimumHealthyPercent !== undefined) {
      const value = given.minimumHealthyPercent;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 100)
        throw invalid(
          `deploymentConfiguration.minimumHealthyPercent must be an integer from 0 to 100, got ${String(value)}.`,
        );
      next.minimumHealthyPercent = value;
    }
    if (given.maximumPercent !== undefined) {
      const value = given.maximumPercent;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 100)
        throw invalid(
          `deploymentConfiguration.maximumPercent must be an integer of at least 100 for a REPLICA service, got ${String(value)}.`,
        );
      next.maximumPercent = value;
    }
    const breaker = given.deploymentCircuitBreaker;
    if (breaker !== undefined) {
      if (typeof breaker.enable !== 'boolean' || typeof breaker.rollback !== 'boolean')
        throw invalid(
          'deploymentConfiguration.deploymentCircuitBreaker requires both enable and rollback (booleans).',
        );
      next.deploymentCircuitBreaker = { enable: breaker.enable, rollback: breaker.rollback };
    }
    service.deploymentConfiguration = next;
  }

  private updateService(input: Record<string, unknown>): SimulatedService {
    const service = this.service(input.cluster, input.service);
    // ECS checks the configuration on every service; only a rolling service's deployments use it here.
    this.applyDeploymentConfiguration(service, input.deploymentConfiguration);
    const now = this.world.clock.now();
    const desired = input.desiredCount === undefined ? service.desiredCount : Number(input.desiredCount);
    const taskDefinition = input.taskDefinition
      ? this.resolveTaskDefinition(String(input.taskDefinition)).taskDefinitionArn
      : service.taskDefinition;
    this.world.traffic.accumulate(service.targetGroupArn);
    if (taskDefinition !== service.taskDefinition || input.forceNewDeployment === true) {
      for (const d of service.deployments) d.status = 'ACTIVE';
      const deployment: Deployment = {
        id: `ecs-svc/${this.deploymentSeq++}`,
        status: 'PRIMARY',
        taskDefinition,
        desiredCount: desired,
        runningCount: 0,
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: 'ECS deployment in progress.',
        createdAt: now,
        updatedAt: now,
      };
      service.deployments.unshift(deployment);
      service.taskDefinition = taskDefinition;
      service.desiredCount = desired;
      this.note(service, `${service.serviceName}: deployment ${deployment.id} started (${desired} tasks)`);
      this.world.emitEvent('aws.ecs', 'ECS Deployment State Change', [service.serviceArn], {
        eventType: 'INFO',
        eventName: 'SERVICE_DEPLOYMENT_IN_PROGRESS',
        deploymentId: deployment.id,
        updatedAt: now.toISOString(),
        reason: `ECS deployment ${deployment.id} in progress.`,
      });
      if (service.rolling) {
        // A newer deployment replaces the one rolling out: its launched tasks are abandoned, its healthy ones
        // are now old tasks to replace.
        for (const d of service.deployments.slice(1)) d.pendingCount = 0;
        deployment.pendingCount = 0;
        deployment.failedTasks = 0;
        this.rollingStep(service);
      } else this.rollOut(service, deployment);
    } else if (desired !== service.desiredCount) {
      service.desiredCount = desired;
      for (const d of service.deployments) if (d.status === 'PRIMARY') d.desiredCount = desired;
      this.note(service, `${service.serviceName}: scaled to ${desired} tasks`);
      const apply = () => {
        this.world.traffic.accumulate(service.targetGroupArn);
        service.runningCount = service.desiredCount;
        for (const d of service.deployments)
          if (d.status === 'PRIMARY') d.runningCount = service.desiredCount;
      };
      // Draining to zero is immediate for traffic purposes; scaling up takes task start time.
      if (desired < service.runningCount) apply();
      else
        this.world.clock.schedule(
          this.world.clock.nowMillis + taskHealthySeconds(this.world.timing) * 1000,
          apply,
        );
    }
    return service;
  }

  /**
   * A deployment replaces the service's tasks as ECS does, in virtual time with a timer per phase (never per
   * task): the new tasks launch together and are healthy once started and past one health check
   * (`taskHealthySeconds`); then the old tasks are deregistered and drain for the target group's
   * deregistration delay before they stop, and only then is the deployment COMPLETED (steady state).
   * Tasks that never pass their health check are marked unhealthy and replaced, wave after wave, until the
   * failed ones reach the circuit breaker's threshold (half the desired count, at least 3, at most 200):
   * the deployment is then FAILED. Nothing happens for a deployment a newer one has replaced.
   */
  private rollOut(service: SimulatedService, deployment: Deployment): void {
    const { clock, timing } = this.world;
    const image = this.imageOf(deployment.taskDefinition, service.container) ?? '';
    const current = () => service.deployments[0] === deployment;
    const finish = (state: 'COMPLETED' | 'FAILED', reason: string, text: string) => {
      const at = clock.now();
      deployment.rolloutState = state;
      deployment.rolloutStateReason = reason;
      deployment.updatedAt = at;
      this.note(service, `${service.serviceName}: deployment ${deployment.id} ${text}`);
      this.world.emitEvent('aws.ecs', 'ECS Deployment State Change', [service.serviceArn], {
        eventType: state === 'FAILED' ? 'ERROR' : 'INFO',
        eventName: state === 'FAILED' ? 'SERVICE_DEPLOYMENT_FAILED' : 'SERVICE_DEPLOYMENT_COMPLETED',
        deploymentId: deployment.id,
        updatedAt: at.toISOString(),
        reason: state === 'FAILED' ? reason : `ECS deployment ${deployment.id} completed.`,
      });
    };
    // A service scaled to 0 launches nothing, so nothing fails: its deployment completes.
    if (this.world.versions.failsToStart(image) && deployment.desiredCount > 0) {
      // Every wave launches the desired count; each of its tasks fails, so the breaker trips in the wave
      // where the failures reach the threshold.
      const perWave = deployment.desiredCount;
      const waves = Math.ceil(circuitBreakerThreshold(deployment.desiredCount) / perWave);
      clock.schedule(clock.nowMillis + waves * taskUnhealthySeconds(timing) * 1000, () => {
        if (!current()) return;
        this.world.traffic.accumulate(service.targetGroupArn);
        finish(
          'FAILED',
          'ECS deployment circuit breaker: tasks failed to start.',
          `FAILED (tasks failed to start: ${Math.min(waves * perWave, circuitBreakerThreshold(deployment.desiredCount))} failed tasks reached the circuit breaker threshold of ${circuitBreakerThreshold(deployment.desiredCount)})`,
        );
      });
      return;
    }
    clock.schedule(clock.nowMillis + taskHealthySeconds(timing) * 1000, () => {
      if (!current()) return;
      this.world.traffic.accumulate(service.targetGroupArn);
      deployment.runningCount = deployment.desiredCount;
      deployment.updatedAt = clock.now();
      service.runningCount = deployment.desiredCount;
      const draining = service.deployments.filter((d) => d !== deployment && d.runningCount > 0);
      const steady = () => {
        service.deployments = [deployment];
        service.runningCount = deployment.desiredCount;
        finish('COMPLETED', 'ECS deployment completed.', `completed, ${service.runningCount} tasks steady`);
      };
      if (draining.length === 0) {
        steady();
        return;
      }
      const old = draining.reduce((sum, d) => sum + d.runningCount, 0);
      service.runningCount = deployment.desiredCount + old;
      this.note(
        service,
        `${service.serviceName}: ${deployment.desiredCount} new tasks healthy; ${old} old tasks draining for ${timing.deregistrationDelaySeconds}s`,
      );
      clock.schedule(clock.nowMillis + timing.deregistrationDelaySeconds * 1000, () => {
        if (!current()) return;
        for (const d of draining) d.runningCount = 0;
        steady();
      });
    });
  }

  /**
   * One step of a rolling update (target `ecs-rolling`), run when the update starts and whenever a batch of
   * tasks becomes healthy, fails, or finishes draining. As the ECS Developer Guide ("Rolling update")
   * describes it: the scheduler keeps at least `minimumHealthyPercent` of the desired count healthy (rounded
   * up) and at most `maximumPercent` RUNNING or PENDING (rounded down): it stops old tasks when new ones are
   * healthy or to make room for a batch, never below the minimum, and launches as many new tasks as the maximum
   * allows. A stopped task is first deregistered and drains for the deregistration delay (still RUNNING, so it
   * counts against the maximum). New tasks serve once healthy (`taskHealthySeconds`); tasks of a version that
   * never passes its health check fail after `taskUnhealthySeconds` and are replaced, and the circuit breaker
   * (when enabled) fails the deployment once the failures reach its threshold.
   */
  private rollingStep(service: SimulatedService): void {
    const primary = service.deployments[0];
    if (primary?.rolloutState !== 'IN_PROGRESS') return;
    const { clock, timing } = this.world;
    const desired = service.desiredCount;
    const config = service.deploymentConfiguration;
    const minHealthy = Math.ceil((desired * config.minimumHealthyPercent) / 100);
    const maxTasks = Math.floor((desired * config.maximumPercent) / 100);
    const others = service.deployments.slice(1);
    const old = () => others.reduce((sum, d) => sum + d.runningCount, 0);
    const pending = () => primary.pendingCount ?? 0;
    const inFlight = () => old() + service.drainingCount + primary.runningCount + pending();
    const remaining = Math.max(0, desired - primary.runningCount - pending());
    // Old tasks beyond the desired count are replaced; more are stopped to make room for the next batch.
    const excess = Math.max(0, old() + primary.runningCount - desired);
    const wantRoom = Math.max(0, remaining - Math.max(0, maxTasks - inFlight()));
    const stoppable = Math.max(0, old() + primary.runningCount - minHealthy);
    const stop = Math.min(old(), stoppable, Math.max(excess, wantRoom));
    if (stop > 0) {
      this.world.traffic.accumulate(service.targetGroupArn);
      let left = stop;
      // The oldest deployments are replaced first.
      for (const d of [...others].reverse()) {
        const taken = Math.min(left, d.runningCount);
        d.runningCount -= taken;
        left -= taken;
      }
      service.drainingCount += stop;
      service.runningCount = primary.runningCount + old();
      this.note(
        service,
        `${service.serviceName}: ${stop} old tasks deregistered, draining for ${timing.deregistrationDelaySeconds}s`,
      );
      clock.schedule(clock.nowMillis + timing.deregistrationDelaySeconds * 1000, () => {
        service.drainingCount -= stop;
        this.rollingStep(service);
      });
    }
    const launch = Math.min(remaining, Math.max(0, maxTasks - inFlight()));
    if (launch > 0) this.launchBatch(service, primary, launch);
    if (primary.runningCount >= desired && old() === 0 && service.drainingCount === 0) {
      for (const d of others) d.runningCount = 0;
      service.deployments = [primary];
      service.runningCount = primary.runningCount;
      service.lastCompletedTaskDefinition = primary.taskDefinition;
      service.lastCompletedDeploymentId = primary.id;
      this.finishRolling(service, primary, 'COMPLETED', 'ECS deployment completed.');
      return;
    }
    if (launch === 0 && stop === 0 && pending() === 0 && service.drainingCount === 0 && remaining > 0)
      this.note(
        service,
        `${service.serviceName}: deployment ${primary.id} cannot progress: minimumHealthyPercent ${config.minimumHealthyPercent} and maximumPercent ${config.maximumPercent} of ${desired} tasks leave no room to start or stop a task`,
      );
  }

  /** Launches `count` tasks of the deployment: healthy after `taskHealthySeconds`, or failed (and counted). */
  private launchBatch(service: SimulatedService, deployment: Deployment, count: number): void {
    const { clock, timing } = this.world;
    deployment.pendingCount = (deployment.pendingCount ?? 0) + count;
    service.runningCount = service.deployments.reduce((sum, d) => sum + d.runningCount, 0);
    const image = this.imageOf(deployment.taskDefinition, service.container) ?? '';
    const fails = this.world.versions.failsToStart(image);
    const current = () => service.deployments[0] === deployment && deployment.rolloutState === 'IN_PROGRESS';
    this.note(service, `${service.serviceName}: ${count} tasks of deployment ${deployment.id} launched`);
    const after = (fails ? taskUnhealthySeconds(timing) : taskHealthySeconds(timing)) * 1000;
    clock.schedule(clock.nowMillis + after, () => {
      if (!current()) return;
      deployment.pendingCount = Math.max(0, (deployment.pendingCount ?? 0) - count);
      deployment.updatedAt = clock.now();
      if (!fails) {
        this.world.traffic.accumulate(service.targetGroupArn);
        deployment.runningCount += count;
        service.runningCount = service.deployments.reduce((sum, d) => sum + d.runningCount, 0);
        this.note(
          service,
          `${service.serviceName}: ${count} new tasks healthy (${deployment.runningCount} of ${service.desiredCount})`,
        );
        this.rollingStep(service);
        return;
      }
      deployment.failedTasks = (deployment.failedTasks ?? 0) + count;
      const threshold = circuitBreakerThreshold(service.desiredCount);
      this.note(
        service,
        `${service.serviceName}: ${count} tasks of deployment ${deployment.id} failed their health checks and were stopped (${deployment.failedTasks} failed)`,
      );
      const breaker = service.deploymentConfiguration.deploymentCircuitBreaker;
      if (breaker.enable && deployment.failedTasks >= threshold) {
        this.tripCircuitBreaker(service, deployment, threshold);
        return;
      }
      this.rollingStep(service);
    });
  }

  /**
   * The circuit breaker fails the deployment and stops launching its tasks ("a service deployment will
   * transition to a failed state and stop launching new tasks", API reference DeploymentCircuitBreaker). With
   * `rollback`, ECS starts a deployment of the last deployment that completed, which rolls out like any other;
   * without it the service keeps the tasks that run.
   */
  private tripCircuitBreaker(service: SimulatedService, deployment: Deployment, threshold: number): void {
    const reason = 'ECS deployment circuit breaker: tasks failed to start.';
    this.finishRolling(
      service,
      deployment,
      'FAILED',
      reason,
      `${deployment.failedTasks} failed tasks reached the circuit breaker threshold of ${threshold}`,
    );
    if (!service.deploymentConfiguration.deploymentCircuitBreaker.rollback) return;
    const now = this.world.clock.now();
    for (const d of service.deployments) d.status = 'ACTIVE';
    const rollback: Deployment = {
      id: `ecs-svc/${this.deploymentSeq++}`,
      status: 'PRIMARY',
      taskDefinition: service.lastCompletedTaskDefinition,
      desiredCount: service.desiredCount,
      runningCount: 0,
      pendingCount: 0,
      failedTasks: 0,
      rolloutState: 'IN_PROGRESS',
      // "The reason field provides the ID of the deployment the service is rolling back to" (ECS Developer
      // Guide, "Amazon ECS deployment state change events").
      rolloutStateReason: `ECS deployment circuit breaker: rolling back to deploymentId ${service.lastCompletedDeploymentId}.`,
      createdAt: now,
      updatedAt: now,
    };
    service.deployments.unshift(rollback);
    service.taskDefinition = rollback.taskDefinition;
    this.note(
      service,
      `${service.serviceName}: circuit breaker rolls back: deployment ${rollback.id} of ${rollback.taskDefinition.split('/').at(-1)} started`,
    );
    this.world.emitEvent('aws.ecs', 'ECS Deployment State Change', [service.serviceArn], {
      eventType: 'INFO',
      eventName: 'SERVICE_DEPLOYMENT_IN_PROGRESS',
      deploymentId: rollback.id,
      updatedAt: now.toISOString(),
      reason: rollback.rolloutStateReason,
    });
    this.rollingStep(service);
  }

  private finishRolling(
    service: SimulatedService,
    deployment: Deployment,
    state: 'COMPLETED' | 'FAILED',
    reason: string,
    detail?: string,
  ): void {
    const at = this.world.clock.now();
    deployment.rolloutState = state;
    deployment.rolloutStateReason = reason;
    deployment.updatedAt = at;
    deployment.pendingCount = 0;
    this.note(
      service,
      `${service.serviceName}: deployment ${deployment.id} ${state === 'FAILED' ? `FAILED (${detail ?? reason})` : `completed, ${service.runningCount} tasks steady`}`,
    );
    this.world.emitEvent('aws.ecs', 'ECS Deployment State Change', [service.serviceArn], {
      eventType: state === 'FAILED' ? 'ERROR' : 'INFO',
      eventName: state === 'FAILED' ? 'SERVICE_DEPLOYMENT_FAILED' : 'SERVICE_DEPLOYMENT_COMPLETED',
      deploymentId: deployment.id,
      updatedAt: at.toISOString(),
      reason: state === 'FAILED' ? reason : `ECS deployment ${deployment.id} completed.`,
    });
  }
}
