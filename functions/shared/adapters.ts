import { createAlbTrafficRouter } from '../../lib/adapters/alb-traffic-router.ts';
import { createCloudWatchAlarmWatcher } from '../../lib/adapters/cloudwatch-alarm-watcher.ts';
import { createCloudWatchMetrics } from '../../lib/adapters/cloudwatch-metrics.ts';
import { DynamoDbNotificationMarks } from '../../lib/adapters/dynamodb-notification-marks.ts';
import { DynamoDbReleaseHistory } from '../../lib/adapters/dynamodb-release-history.ts';
import {
  createDynamoDbDocumentClient,
  DynamoDbReleaseStore,
} from '../../lib/adapters/dynamodb-release-store.ts';
import { DynamoDbServiceStateStore } from '../../lib/adapters/dynamodb-service-state-store.ts';
import { DynamoDbWaitRegistry } from '../../lib/adapters/dynamodb-wait-registry.ts';
import {
  createEcsServiceReverter,
  createEcsSlotDeployer,
  createEcsSlotReader,
  createEcsSlotScaler,
} from '../../lib/adapters/ecs-slot-deployer.ts';
import { createSfnExecutionStarter, createSfnTaskTokens } from '../../lib/adapters/sfn-workflow.ts';
import { createLambdaHttpSmokeTester } from '../../lib/adapters/smoke-tester.ts';
import { createSnsNotifier } from '../../lib/adapters/sns-notifier.ts';
import { createSnsReleaseEvents } from '../../lib/adapters/sns-release-events.ts';
import { loadBundledConfig } from '../../lib/config/lookup.ts';
import type { ShiplineConfig } from '../../lib/config/schema.ts';
import { TargetDriverByType } from '../../lib/drivers/by-type.ts';
import { EcsAlbDriver, type EcsAlbDriverPorts } from '../../lib/drivers/ecs-alb.ts';
import { EcsRollingDriver, type EcsRollingDriverPorts } from '../../lib/drivers/ecs-rolling.ts';
import { environment } from '../../lib/env.ts';
import type {
  AlarmWatcher,
  ExecutionStarter,
  Metrics,
  NotificationMarks,
  Notifier,
  ReleaseEvents,
  ReleaseHistory,
  ReleaseStore,
  ServiceReverter,
  SlotDeployer,
  SlotReader,
  SlotScaler,
  SmokeTester,
  TargetDriver,
  TaskTokens,
  TrafficRouter,
  WaitRegistry,
} from '../../lib/ports/index.ts';
import { serviceRef } from '../../lib/ports/service-ref.ts';
import {
  type ServiceAndHistoryMethods,
  serviceAndHistoryStore,
} from '../../lib/store/composed-release-store.ts';
import type { NotificationMarkStore } from '../../lib/use-cases/notify.ts';
import type { PipelineSettings } from '../../lib/use-cases/ports.ts';
import { logger } from './stack.ts';

/**
 * A port whose adapter (and its SDK client) is built on the port's first call, once per container. Why:
 * building a client resolves its whole configuration and middleware stack, a large part of a cold start;
 * a path then builds only the clients it calls (a push of the serving version never reaches CloudWatch
 * or SNS). `methods` lists every method of the port (the type makes it complete); each returns a promise,
 * as every port method does. An adapter keeps no state but its client, and a client's only state of its
 * execution environment is the SDK's retry quota, which the sandbox keeps per simulated environment
 * (sandbox/sdk-retry.ts): the sandbox's environments share one client per port without sharing a quota.
 */
export const lazyPort = <P extends object>(build: () => P, methods: Record<keyof P, true>): P => {
  let adapter: P | undefined;
  const port: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of Object.keys(methods)) {
    port[method] = async (...args) => {
      adapter ??= build();
      const target = adapter as unknown as Record<string, (...args: unknown[]) => unknown>;
      return target[method]?.(...args);
    };
  }
  return port as unknown as P;
};

/** The methods of the service-state and release-history parts of the store (both store factories list them). */
const SERVICE_AND_HISTORY_METHODS: Record<ServiceAndHistoryMethods, true> = {
  readServiceState: true,
  claimIdleSlot: true,
  fenceForRollback: true,
  recordPromotion: true,
  isLatestRelease: true,
  isRollingBack: true,
  putRecord: true,
  updateRecord: true,
  listRecords: true,
  readRecord: true,
};

/**
 * Adapter factories. Each function creates the ports it uses at module scope (warm invocations reuse
 * them; clients are built on first use) and bundles only the SDK clients of those ports.
 */
export const createStore = (): ReleaseStore =>
  lazyPort<ReleaseStore>(
    () => new DynamoDbReleaseStore(createDynamoDbDocumentClient(), environment.tableName),
    {
      acquireLock: true,
      releaseLock: true,
      enqueueWaiter: true,
      readWaiter: true,
      dequeueWaiter: true,
      replaceWaiter: true,
      readLock: true,
      readQueueSnapshot: true,
      ...SERVICE_AND_HISTORY_METHODS,
      putAlarmWatches: true,
      alarmWatches: true,
      claimAlarmWatch: true,
      clearAlarmWatches: true,
      clearPauseWait: true,
      putSlotWait: true,
      readSlotWait: true,
      claimSlotWait: true,
      markNotified: true,
      unmarkNotified: true,
      wasNotified: true,
    },
  );
/**
 * Only service state and release history (prepare-release): the same table, without the lock, the waits
 * and the marks, whose adapters a function that never touches them need not bundle.
 */
export const createServiceAndHistoryStore = (): Pick<ReleaseStore, ServiceAndHistoryMethods> =>
  lazyPort<Pick<ReleaseStore, ServiceAndHistoryMethods>>(() => {
    const client = createDynamoDbDocumentClient();
    return serviceAndHistoryStore(
      new DynamoDbServiceStateStore(client, environment.tableName),
      new DynamoDbReleaseHistory(client, environment.tableName),
    );
  }, SERVICE_AND_HISTORY_METHODS);
/** Only the wait registry (a pause step): the same table, without the rest of the store. */
export const createWaitRegistry = (): WaitRegistry =>
  lazyPort<WaitRegistry>(
    () => new DynamoDbWaitRegistry(createDynamoDbDocumentClient(), environment.tableName),
    {
      register: true,
      replaceSole: true,
      read: true,
      findByKey: true,
      findByRelease: true,
      claim: true,
      remove: true,
      clearRelease: true,
    },
  );
/**
 * Only the release record's update (a step that records its progress and nothing else in the table): the
 * history part, without the rest of the store and its commands.
 */
export const createProgressRecords = (): Pick<ReleaseStore, 'updateRecord'> => {
  const history = lazyPort<Pick<ReleaseHistory, 'update'>>(
    () => new DynamoDbReleaseHistory(createDynamoDbDocumentClient(), environment.tableName),
    { update: true },
  );
  return {
    updateRecord: (service, requestedAt, releaseId, changes) => {
      const { service: _service, environment: _environment, ...rest } = changes;
      return history.update({ ...serviceRef(service), requestedAt, releaseId }, rest);
    },
  };
};
/** Only the notification marks (a pause notifies once): the same table, without the rest of the store. */
export const createNotificationMarks = (): NotificationMarkStore => {
  const marks = lazyPort<NotificationMarks>(
    () => new DynamoDbNotificationMarks(createDynamoDbDocumentClient(), environment.tableName),
    { mark: true, unmark: true, isMarked: true },
  );
  return {
    markNotified: (releaseId, kind) => marks.mark(releaseId, kind),
    unmarkNotified: (releaseId, kind) => marks.unmark(releaseId, kind),
  };
};
export const createRouter = (): TrafficRouter =>
  lazyPort<TrafficRouter>(createAlbTrafficRouter, { readWeights: true, setWeights: true });
export const createDeployer = (): SlotDeployer =>
  lazyPort<SlotDeployer>(() => createEcsSlotDeployer({ warn: (message) => logger.warn(message) }), {
    describeSlot: true,
    deployImage: true,
    scale: true,
    runningTaskDefinition: true,
    revertTo: true,
  });
/** Only reading a slot (prepare-release): bundles no RegisterTaskDefinition. */
export const createSlotReader = (): SlotReader =>
  lazyPort<SlotReader>(createEcsSlotReader, { describeSlot: true });
/** Only scaling (roll-back, scale-down): bundles no task-definition command. */
export const createScaler = (): SlotScaler => lazyPort<SlotScaler>(createEcsSlotScaler, { scale: true });
/** Only pointing a rolling service back at its previous revision (roll-back). */
export const createReverter = (): ServiceReverter =>
  lazyPort<ServiceReverter>(createEcsServiceReverter, { runningTaskDefinition: true, revertTo: true });
export const createAlarmWatcher = (): AlarmWatcher =>
  lazyPort<AlarmWatcher>(createCloudWatchAlarmWatcher, { describe: true, transitionsToAlarm: true });
export const createMetrics = (): Metrics => lazyPort<Metrics>(createCloudWatchMetrics, { count: true });
export const createNotifier = (): Notifier => lazyPort<Notifier>(createSnsNotifier, { publish: true });
/**
 * The release-events topic (SHIPLINE_RELEASE_EVENTS_TOPIC_ARN). A message that could not be published is
 * logged as an error and the release goes on (the use cases never let it change the release).
 */
export const createReleaseEvents = (): ReleaseEvents => {
  const sns = lazyPort(() => createSnsReleaseEvents(environment.releaseEventsTopicArn), {
    publish: true,
    publishAll: true,
  });
  return {
    region: () => environment.region(),
    publish: (message) => sns.publish(message),
    publishAll: (messages) => sns.publishAll(messages),
    lost: (message, error) =>
      logger.error('a release event could not be published', {
        releaseId: message.releaseId,
        kind: message.kind,
        sequence: message.progress.sequence,
        errorName: error.name,
        error,
      }),
  };
};
export const createSmokeTester = (): SmokeTester =>
  lazyPort<SmokeTester>(createLambdaHttpSmokeTester, { run: true });
export const createTaskTokens = (): TaskTokens =>
  lazyPort<TaskTokens>(createSfnTaskTokens, { succeed: true, fail: true });
export const createStarter = (): ExecutionStarter =>
  lazyPort<ExecutionStarter>(() => createSfnExecutionStarter(environment.stateMachineArn), {
    start: true,
    executionArn: true,
    executionState: true,
  });

/**
 * The target driver of the released services (each kind's, chosen by the release's target type), built from the ports the function passes: only
 * those it calls, so its bundle and its role hold nothing more.
 */
export const createDriver = (ports: EcsAlbDriverPorts & EcsRollingDriverPorts): TargetDriver =>
  new TargetDriverByType({ 'ecs-alb': new EcsAlbDriver(ports), 'ecs-rolling': new EcsRollingDriver(ports) });

/** The config packaged with the function (`shipline.json`, parsed once per container). */
export const config = (): ShiplineConfig => loadBundledConfig(environment.configPath());

export const settings = (): PipelineSettings => ({
  region: environment.region(),
  defaultTopicArn: environment.topicArn(),
});
