/** What a slot (an ECS service) runs now. */
export interface SlotStatus {
  service: string;
  taskDefinitionArn: string;
  desiredCount: number;
  runningCount: number;
  /** Image of the released container, and the version label recorded with its task definition. */
  image: string;
  version?: string;
  /** How many deployments the service has (PRIMARY and ACTIVE): more than one while a rollout runs. */
  deploymentCount?: number;
  /** The PRIMARY deployment. */
  deployment?: { id: string; rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED'; reason?: string };
}

export interface DeployImageInput {
  cluster: string;
  service: string;
  container: string;
  /** Task definition to copy (the stable slot's); only the container image changes. */
  baseTaskDefinitionArn: string;
  imageUri: string;
  version: string;
  desiredCount: number;
  /** Recorded on the new revision so a retried step finds it instead of registering another. */
  releaseId: string;
  /**
   * Turns the deployment circuit breaker on for this update, without ECS's own rollback (a rolling service:
   * the pipeline decides the rollback). Left out, the service's deployment configuration is not touched.
   */
  circuitBreaker?: boolean;
}

export interface DeployImageResult {
  taskDefinitionArn: string;
  deploymentId: string;
}

/** Scales a slot: all a function that only rolls back or scales down needs of the deployer. */
export type SlotScaler = Pick<SlotDeployer, 'scale'>;

/** Points a rolling service back at a revision: all a rollback of a rolling service needs of the deployer. */
export type ServiceReverter = Pick<SlotDeployer, 'runningTaskDefinition' | 'revertTo'>;

/** Reads a slot: all a function that plans but does not deploy needs of the deployer. */
export type SlotReader = Pick<SlotDeployer, 'describeSlot'>;

/** Runs versions in slots. One adapter per compute platform (ECS first). */
export interface SlotDeployer {
  describeSlot(cluster: string, service: string, container: string): Promise<SlotStatus>;
  deployImage(input: DeployImageInput): Promise<DeployImageResult>;
  scale(cluster: string, service: string, desiredCount: number): Promise<void>;
  /** The task definition the service runs now (its PRIMARY deployment's), read without describing it. */
  runningTaskDefinition(cluster: string, service: string): Promise<string>;
  /**
   * Starts a deployment of `taskDefinitionArn` on the service (a rolling rollback), keeping the desired
   * count the service has now: autoscaling may have scaled it out since the release read it.
   */
  revertTo(cluster: string, service: string, taskDefinitionArn: string): Promise<void>;
}
