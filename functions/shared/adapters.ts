import { AlbTrafficRouter } from '../../lib/adapters/alb-traffic-router.ts';
import {
  createCloudWatchClient,
  createEcsClient,
  createElbv2Client,
  createSfnClient,
  createSnsClient,
} from '../../lib/adapters/aws-clients.ts';
import { CloudWatchAlarmWatcher } from '../../lib/adapters/cloudwatch-alarm-watcher.ts';
import { CloudWatchMetrics } from '../../lib/adapters/cloudwatch-metrics.ts';
import {
  createDynamoDbDocumentClient,
  DynamoDbReleaseStore,
} from '../../lib/adapters/dynamodb-release-store.ts';
import { EcsSlotDeployer } from '../../lib/adapters/ecs-slot-deployer.ts';
import { SfnExecutionStarter, SfnTaskTokens } from '../../lib/adapters/sfn-workflow.ts';
import { SnsNotifier } from '../../lib/adapters/sns-notifier.ts';
import { loadBundledConfig } from '../../lib/config/lookup.ts';
import type { ShiplineConfig } from '../../lib/config/schema.ts';
import { environment } from '../../lib/env.ts';
import type { PipelineSettings } from '../../lib/use-cases/ports.ts';
import { logger } from './stack.ts';

/**
 * Adapter factories. Each function builds only the adapters it uses, at module scope, so warm
 * invocations reuse clients and bundles carry only the SDK clients they need.
 */
export const createStore = () =>
  new DynamoDbReleaseStore(createDynamoDbDocumentClient(), environment.tableName);
export const createRouter = () => new AlbTrafficRouter(createElbv2Client());
export const createDeployer = () =>
  new EcsSlotDeployer(createEcsClient(), { warn: (message) => logger.warn(message) });
export const createAlarmWatcher = () => new CloudWatchAlarmWatcher(createCloudWatchClient());
export const createMetrics = () => new CloudWatchMetrics(createCloudWatchClient());
export const createNotifier = () => new SnsNotifier(createSnsClient());
export const createTaskTokens = () => new SfnTaskTokens(createSfnClient());
export const createStarter = () => new SfnExecutionStarter(createSfnClient(), environment.stateMachineArn);

/** The config packaged with the function (`shipline.json`, parsed once per container). */
export const config = (): ShiplineConfig => loadBundledConfig(environment.configPath());

export const settings = (): PipelineSettings => ({
  region: environment.region(),
  defaultTopicArn: environment.topicArn(),
});
