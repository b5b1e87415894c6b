/** What a slot (an ECS service) runs now. */
export interface SlotStatus {
  service: string;
  taskDefinitionArn: string;
  desiredCount: number;
  runningCount: number;
  /** Image of the released container, and the version label recorded with its task definition. */
  image: string;
  version?: string;
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
}

export interface DeployImageResult {
  taskDefinitionArn: string;
  deploymentId: string;
}

/** Scales a slot: all a function that only rolls back or scales down needs of the deployer. */
export type SlotScaler = Pick<SlotDeployer, 'scale'>;

/** Reads a slot: all a function that plans but does not deploy needs of the deployer. */
export type SlotReader = Pick<SlotDeployer, 'describeSlot'>;

/** Runs versions in slots. One adapter per compute platform (ECS first). */
export interface SlotDeployer {
  describeSlot(cluster: string, service: string, container: string): Promise<SlotStatus>;
  deployImage(input: DeployImageInput): Promise<DeployImageResult>;
  scale(cluster: string, service: string, desiredCount: number): Promise<void>;
}
