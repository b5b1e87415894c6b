import type { AlarmWatcher } from '../ports/alarm-watcher.ts';
import type { Notifier } from '../ports/notifier.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { TargetDriver } from '../ports/target-driver.ts';
import type { ExecutionStarter, TaskTokens } from '../ports/workflow.ts';

/** Every port a use case may need; each use case takes only the ones it uses. */
export interface ReleasePorts {
  store: ReleaseStore;
  /** The service's target kind's driver: the only way a use case acts on what serves. */
  driver: TargetDriver;
  alarms: AlarmWatcher;
  notifier: Notifier;
  tokens: TaskTokens;
  starter: ExecutionStarter;
}

/** Deployment-wide settings a use case needs besides ports. */
export interface PipelineSettings {
  region: string;
  /** The pipeline's SNS topic (used when a service declares none). */
  defaultTopicArn: string;
}
